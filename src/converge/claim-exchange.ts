/**
 * How a run knows its writes have reached the other servers: with the full view (credentials
 * that read every server) by their RUVs; with the local view (LDAPI autobind: local-view.ts) by
 * reading, anonymously there, a refresh of its claim (per-supplier CSN order: once that is there,
 * everything written before it is too).
 */
import { ClusterClaim, claimIsLive, describeClaim, readClaims, type Claim, type Liveness } from '../lock/cluster-claim';
import { ClusterNotReadyError, ReplicationPendingError } from '../core/errors';
import type { ClusterContext, ClusterTiming } from './cluster-context';
import { localRuv, waitForLocalChanges, waitUntilExchanged } from './convergence';
import { localView, nameObserved, readConsumerReplicaIds, unfedSuppliers, waitUntilSeen, type LocalView } from './local-view';
import { pokeBusyFeeders, waitOptions } from './replication-health';
import { compareCsn, maxCsn } from './ruv';
import type { Topology } from './topology';

/** Local view: how often agreements that back off from a busy replica are retried while waiting. */
const NUDGE_EVERY_MS = 1_000;

/**
 * The other servers cannot be read with this run's credentials: decide from this server's view
 * if it shows them all (local-view.ts), else refuse before anything is written. Undefined when
 * the run reads every server itself.
 */
export async function chooseLocalView(topology: Topology, ctx: ClusterContext, timing: ClusterTiming, liveness: Liveness): Promise<LocalView | undefined> {
  if (!ctx.observe || !topology.members.some((m) => m.unreadable)) return undefined;
  const seen = localView(topology);
  if ('problems' in seen) throw notVisible(ctx, seen.problems);
  // A claim left by a run that died: its last writes may still be on their way here through
  // agreements this run cannot see (the in-sync check of the full view would wait for them).
  // Not one being withdrawn right now (its run just ended, its delete on the way): one not
  // refreshed for a heartbeat interval.
  const abandoned = (c: Claim) => liveness.now.getTime() - Date.parse(c.heartbeat) > timing.heartbeatMs;
  const leftover = (await readClaims(ctx.local, ctx.suffix)).filter((c) => c.server !== ctx.serverId && !claimIsLive(c, liveness) && abandoned(c));
  if (leftover.length > 0) {
    throw new ClusterNotReadyError(
      `${leftover.map(describeClaim).join(', ')} left a cluster claim behind, and from ${ctx.serverId} alone this run cannot tell whether that run's last changes have all arrived here`,
      `run pki-db-upgrade on ${leftover.map((c) => c.server).join(', ')} (it replaces its own leftover claim), or pki-db-upgrade cluster upgrade --url ldap://${ctx.serverId} --base-dn ${ctx.suffix} --password-file FILE; nothing was changed`,
    );
  }
  ctx.logger.info(`the other servers of ${ctx.suffix} are seen from ${ctx.serverId} only (its agreements, and anonymous reads of cn=schema and of the cluster claim there)`);
  return seen.view;
}

function notVisible(ctx: ClusterContext, problems: string[]): ClusterNotReadyError {
  return new ClusterNotReadyError(
    `the other servers of ${ctx.suffix} cannot be read with the credentials of this run, and this server's own view does not show them all: ${problems.join('; ')}`,
    `apply the cluster-scope steps with pki-db-upgrade cluster upgrade --url ldap://${ctx.serverId} --base-dn ${ctx.suffix} --password-file FILE (the Directory Manager password, the same on every server); nothing was changed`,
  );
}

/** This run's claim, exchanged with every supplier as the view allows (`inSync`: the RUVs before, full view only). */
export function newClaim(topology: Topology, view: LocalView | undefined, inSync: Map<number, string>, runId: string, ctx: ClusterContext, timing: ClusterTiming): ClusterClaim {
  const claim: ClusterClaim = new ClusterClaim({
    ldap: ctx.local,
    suffix: ctx.suffix,
    server: ctx.serverId,
    run: runId,
    tool: `pki-db-upgrade ${ctx.packageVersion}`,
    readableByAnyone: view !== undefined,
    exchange: () => (view ? exchangeSeenFromHere(topology, view, claim, ctx, timing) : exchangeByRuv(topology, inSync, ctx, timing)),
    logger: ctx.logger,
    clock: ctx.clock,
    waitMs: timing.claimWaitMs,
    staleAfterMs: timing.staleClaimMs,
    heartbeatMs: timing.heartbeatMs,
  });
  return claim;
}

/**
 * After the upgrade: until every server has this run's changes (up to CSN `last` of this server).
 * Not there in time: the upgrade is applied here and still on its way (ReplicationPendingError).
 */
export async function waitUntilDelivered(topology: Topology, view: LocalView | undefined, claim: ClusterClaim, last: string, databaseVersion: string | undefined, ctx: ClusterContext, timing: ClusterTiming): Promise<void> {
  const started = ctx.clock.monotonicMs();
  try {
    if (view) await deliveredEverywhere(topology, view, claim, "this run's changes", ctx, timing);
    else await waitForLocalChanges(last, waitOptions(topology, ctx, timing, "this run's changes to reach every server"));
  } catch (err) {
    if (!(err instanceof ClusterNotReadyError)) throw err;
    throw new ReplicationPendingError(
      `the upgrade is applied on ${ctx.serverId} (database at ${databaseVersion ?? '(none)'}), but ${err.message}`,
      `${err.hint ?? ''}; the changes stay queued and replicate once the server is back: pki-db-upgrade cluster status shows the progress`,
    );
  }
  ctx.logger.info(`every server has this run's changes (${((ctx.clock.monotonicMs() - started) / 1000).toFixed(2)} s after the last write)`);
}

/** Full view: the claim just written here shows in the local RUV, and every supplier has it. */
export async function exchangeByRuv(topology: Topology, inSync: Map<number, string>, ctx: ClusterContext, timing: ClusterTiming): Promise<void> {
  const rid = topology.local.replica!.replicaId;
  const csn = maxCsn(await localRuv(topology), rid);
  // The claim was just written here, so the local RUV must show a change newer than the in-sync
  // snapshot; without one there is nothing to prove the exchange by.
  const before = inSync.get(rid);
  if (!csn || (before && compareCsn(csn, before) <= 0)) {
    throw new ClusterNotReadyError(`the cluster claim written on ${ctx.serverId} does not show in its replication state (RUV of ${ctx.suffix})`, 'check that the suffix is replicated there, then run again');
  }
  await waitUntilExchanged(csn, inSync, waitOptions(topology, ctx, timing, 'the cluster claim to be exchanged with every supplier'));
}

/**
 * Local view, our claim just written: every supplier is fed by this server (local-view.ts), and
 * the claim is readable on every other server. Then the claim protocol reads the claims here.
 */
export async function exchangeSeenFromHere(topology: Topology, view: LocalView, claim: ClusterClaim, ctx: ClusterContext, timing: ClusterTiming): Promise<void> {
  const started = ctx.clock.monotonicMs();
  let nextNudge = started + NUDGE_EVERY_MS;
  for (;;) {
    const [ruv, consumers] = await Promise.all([localRuv(topology), readConsumerReplicaIds(ctx.local, ctx.suffix)]);
    const problems = unfedSuppliers(topology, ruv, consumers);
    if (problems.length === 0) {
      nameObserved(topology, ruv, consumers);
      break;
    }
    const now = ctx.clock.monotonicMs();
    if (now - started >= timing.replicationTimeoutMs) throw notVisible(ctx, problems);
    // 389 DS learns an agreement's consumer id in a session that sends changes, and records it
    // at the next local change: refresh the claim until it shows, retrying busy agreements now.
    if (now >= nextNudge) {
      const known = [...consumers].map(([name, rid]) => `${name} -> ${rid}`).join(', ') || 'none';
      ctx.logger.debug(`waiting for the agreements of ${ctx.serverId} to show which replica each feeds (known: ${known}): ${problems.join('; ')}`);
      await pokeBusyFeeders(topology, topology.members.filter((m) => !m.local), ctx);
      nextNudge = now + NUDGE_EVERY_MS;
    }
    await ctx.clock.sleep(timing.pollMs * 2);
    await claim.touch();
  }
  await seenEverywhere(topology, view, claim, claim.written!, 'the cluster claim', ctx, timing);
}

/** Local view: a fresh change of this run (the claim refreshed) is readable on every other server, and with it all before it. */
export async function deliveredEverywhere(topology: Topology, view: LocalView, claim: ClusterClaim, what: string, ctx: ClusterContext, timing: ClusterTiming): Promise<void> {
  const mark = await claim.touch();
  await seenEverywhere(topology, view, claim, mark, what, ctx, timing);
}

function seenEverywhere(topology: Topology, view: LocalView, claim: ClusterClaim, written: { dn: string; value: string }, what: string, ctx: ClusterContext, timing: ClusterTiming): Promise<void> {
  return waitUntilSeen(view, written.dn, 'description', (values) => claim.shows(values, written), {
    what,
    timeoutMs: timing.replicationTimeoutMs,
    pollMs: timing.pollMs,
    clock: ctx.clock,
    logger: ctx.logger,
    nudge: () => pokeBusyFeeders(topology, view.observers.map((o) => o.member), ctx),
  });
}
