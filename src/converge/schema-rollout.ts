/**
 * How the schema steps of a cluster run reach every server (apply/schema-helper.ts does the
 * writes): the servers written directly, those only read (local view), and the wait for
 * replication to fall quiet before cn=schema is written. A replication session starts with a
 * schema check, and one that starts from a server still lacking the new definitions after another
 * has them makes that one learn the old ones back ("must not be overwritten",
 * docs/schema-replication.md).
 */
import type { SchemaRollout } from '../apply/schema-helper';
import { describeClaim, type ClusterClaim } from '../lock/cluster-claim';
import { readAgreements } from './agreements';
import { deliveredEverywhere } from './claim-exchange';
import type { ClusterContext, ClusterTiming } from './cluster-context';
import { localRuv, waitForLocalChanges } from './convergence';
import type { LocalView } from './local-view';
import { waitOptions } from './replication-health';
import { maxCsn } from './ruv';
import type { Topology } from './topology';

/** How long to wait for the agreements to fall quiet before writing cn=schema everywhere. */
const QUIET_WAIT_MS = 10_000;
/** Local view: how long the sessions the others open on receiving this run's last change get to end. */
const RELAY_SETTLE_MS = 4_000;

export interface QuietScope {
  topology: Topology;
  claim?: ClusterClaim;
  /** Set when the others are seen from this server only. */
  view?: LocalView;
  /** The others are frozen (manual mode): they refuse replicated changes until the thaw. */
  frozen: boolean;
}

/**
 * cn=schema written on every server the run can write to, not left to replication; in the local
 * view written here and read back on the others once replication has carried it.
 */
export function schemaRolloutOf(scope: Omit<QuietScope, 'frozen'> & { frozen: () => boolean }, ctx: ClusterContext, timing: ClusterTiming): SchemaRollout {
  const { topology, claim, view } = scope;
  return {
    peers: topology.members.filter((m) => !m.local && m.session).map((m) => ({ id: m.id, session: m.session! })),
    observed: view?.observers.map((o) => ({ id: o.member.id, session: o.session })),
    // A schema change alone starts no session (docs/schema-replication.md): a write does.
    push: view && claim ? async () => void (await claim.touch()) : undefined,
    quiesce: () => quiesce({ topology, claim, view, frozen: scope.frozen() }, ctx, timing),
    localFirst: scope.frozen,
  };
}

/**
 * Until no replication session is about to start: no other run's claim is still to be withdrawn,
 * every server has this run's writes, and no agreement of any server is sending or waiting to
 * retry a busy replica (twice in a row, a poll apart). Bounded: past it the write goes ahead,
 * and the schema check after it still decides. Frozen servers refuse replicated changes until
 * the thaw, so delivery to them is not waited for.
 */
export async function quiesce({ topology, claim, view, frozen }: QuietScope, ctx: ClusterContext, timing: ClusterTiming): Promise<void> {
  // A run of another server that claimed at the same moment withdraws its claim once it sees
  // ours: that delete is a replicated write, and its sessions would start with a schema check.
  const rival = await claim?.waitForRivals(ctx.clock.monotonicMs() + QUIET_WAIT_MS);
  if (rival) ctx.logger.warn(`${describeClaim(rival)} still shows a claim: writing cn=schema anyway`);
  const csn = maxCsn(await localRuv(topology), topology.local.replica!.replicaId);
  if (view && claim) {
    await deliveredEverywhere(topology, view, claim, "this run's changes, before cn=schema is written,", ctx, timing);
    // Each server that receives a change opens sessions to its peers, and those this run cannot
    // see may be refused as busy and retried after nsds5ReplicaBusyWaitTime (3 s by default).
    // One that starts after cn=schema is written here, from a server that lacks the new
    // definitions, learns them instead of pushing ("must not be overwritten"): let them end first.
    await ctx.clock.sleep(RELAY_SETTLE_MS);
  } else if (csn && !frozen) {
    await waitForLocalChanges(csn, waitOptions(topology, ctx, timing, "this run's changes to reach every server before cn=schema is written"));
  }
  const deadline = ctx.clock.monotonicMs() + QUIET_WAIT_MS;
  const members = topology.members.filter((m) => m.session);
  for (let quietReads = 0; ; ) {
    // Sending now, or backing off from a busy replica: that one retries on a timer, with a
    // session (and its schema check) whether or not it has anything left to send.
    const busy = (await Promise.all(members.map((m) => readAgreements(m.session!, ctx.suffix)))).some((list) =>
      list.some((a) => a.updateInProgress || (a.state === 'warning' && /busy/i.test(a.status))),
    );
    quietReads = busy ? 0 : quietReads + 1;
    if (quietReads === 2) return;
    if (ctx.clock.monotonicMs() >= deadline) {
      ctx.logger.warn(`replication of ${ctx.suffix} did not fall quiet within ${QUIET_WAIT_MS / 1000} s: writing cn=schema anyway`);
      return;
    }
    await ctx.clock.sleep(timing.pollMs);
  }
}
