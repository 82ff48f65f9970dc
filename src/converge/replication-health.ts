/**
 * Whether replication can carry cluster-scope steps to every server before any is applied, and
 * the pokes that make a backing-off agreement retry at once.
 */
import { ClusterNotReadyError } from '../core/errors';
import { blockingProblem, readAgreements, type Agreement } from './agreements';
import type { ClusterContext, ClusterTiming } from './cluster-context';
import type { WaitOptions } from './convergence';
import { poke } from './freeze';
import { agreementsTo, type ClusterMember, type Topology } from './topology';

/** What would keep changes from reaching every server: unreachable members, paused or failing agreements. */
export function agreementProblems(topology: Topology): string[] {
  const problems: string[] = [];
  for (const member of topology.members) {
    // Read anonymously only: its agreements are not visible, and the local view decides.
    if (member.observer) continue;
    if (member.error && !member.session) problems.push(`${member.id} ${member.unreadable ? 'cannot be read with the credentials of this run' : 'cannot be reached'}: ${member.error}`);
    for (const agreement of member.agreements) {
      const problem = blockingProblem(agreement);
      if (problem) problems.push(`agreement on ${member.id}: ${problem}`);
    }
  }
  return problems;
}

/** How many reads, pollMs apart, find an agreement paused before the pause counts as one. */
const PAUSED_READS = 3;

/**
 * Paused, initializing or unreachable: refuse. In error: the status may be stale (a peer that
 * restarted, a freeze just lifted), so poke the agreement and give it a few seconds first. Paused:
 * it may be another run's poke (freeze.ts: nsds5ReplicaEnabled off, then on, a moment apart), so
 * it is read again, and counts only when it stays paused.
 */
export async function refuseBrokenAgreements(topology: Topology, ctx: ClusterContext, timing: ClusterTiming): Promise<void> {
  const inError = topology.members.flatMap((from) => from.agreements.filter((a) => a.state === 'error').map((agreement) => ({ from, agreement })));
  if (inError.length > 0) {
    await poke(inError);
    const deadline = ctx.clock.monotonicMs() + timing.agreementRecheckMs;
    const senders = [...new Set(inError.map((e) => e.from))];
    const poked = new Set(inError.map((e) => e.agreement.dn));
    for (;;) {
      await readAgain(senders, ctx);
      // Right after the poke the status says "agreement disabled" or similar: wait for a session.
      const succeeded = senders.every((m) => m.agreements.every((a) => !poked.has(a.dn) || /succeeded/i.test(a.status)));
      if (succeeded || ctx.clock.monotonicMs() >= deadline) break;
      await ctx.clock.sleep(timing.pollMs * 2);
    }
  }
  const pausing = (m: ClusterMember) => m.agreements.some((a) => a.state === 'paused');
  for (let read = 1; read < PAUSED_READS && topology.members.some(pausing); read++) {
    await ctx.clock.sleep(timing.pollMs);
    await readAgain(topology.members.filter(pausing), ctx);
  }
  const problems = agreementProblems(topology);
  if (problems.length === 0) return;
  if (topology.members.some((m) => m.unreadable && !m.observer)) {
    throw new ClusterNotReadyError(
      `the other servers of ${ctx.suffix} cannot be read with the credentials of this run, so it cannot tell whether cluster-scope steps would reach them: ${problems.join('; ')}`,
      `apply the cluster-scope steps with pki-db-upgrade cluster upgrade --url ldap://${ctx.serverId} --base-dn ${ctx.suffix} --password-file FILE (the Directory Manager password, the same on every server); nothing was changed`,
    );
  }
  throw new ClusterNotReadyError(
    `replication of ${ctx.suffix} is not healthy, so cluster-scope steps would not reach every server: ${problems.join('; ')}`,
    'resume or repair the agreement (dsconf INSTANCE repl-agmt enable / repl-agmt status --suffix SUFFIX NAME), or remove the agreements of a decommissioned server, then run again; nothing was changed',
  );
}

/** The agreements of `members` as they are now (a member without a session keeps what was read). */
async function readAgain(members: ClusterMember[], ctx: ClusterContext): Promise<void> {
  await Promise.all(members.map(async (m) => (m.agreements = m.session ? await readAgreements(m.session, ctx.suffix) : m.agreements)));
}

/**
 * In a mesh two suppliers often send to a third at once; the one refused ("Can't acquire busy
 * replica") backs off for seconds (nsds5ReplicaBackoffMin, 3 s by default) although the replica
 * is free again a few milliseconds later. Poking such an agreement makes it retry now.
 */
export async function pokeBusyFeeders(topology: Topology, lagging: ClusterMember[], ctx: ClusterContext): Promise<void> {
  const busy: { from: ClusterMember; agreement: Agreement }[] = [];
  for (const member of lagging) {
    // Only this server's own agreements: they carry this run's writes, and a poke restarts the
    // agreement's protocol (its cached consumer schema state too), which is not ours to do
    // to the others' agreements.
    for (const { from, agreement } of agreementsTo(topology, member)) {
      if (!from.local || !from.session) continue;
      const now = (await readAgreements(from.session, ctx.suffix)).find((a) => a.dn === agreement.dn);
      if (now?.state === 'warning' && /busy/i.test(now.status)) busy.push({ from, agreement: now });
    }
  }
  if (busy.length === 0) return;
  ctx.logger.debug(`poking ${busy.map((b) => `${b.from.id} -> ${b.agreement.name}`).join(', ')} (backing off from a busy replica)`);
  await poke(busy);
}

/** The options of every replication wait of a run: its bound, its pace, and the pokes while it lasts. */
export function waitOptions(topology: Topology, ctx: ClusterContext, timing: ClusterTiming, what: string): WaitOptions {
  return {
    topology,
    what,
    nudge: (lagging) => pokeBusyFeeders(topology, lagging, ctx),
    timeoutMs: timing.replicationTimeoutMs,
    pollMs: timing.pollMs,
    progressMs: timing.progressMs,
    logger: ctx.logger,
    clock: ctx.clock,
  };
}
