/**
 * The dry-run of `cluster upgrade`: reads only, and prints what the real run would do, in its
 * order: freeze LDIF per server, the engine's dry-run (with the real run's admission, so a step it
 * would hold back is not shown as applied), thaw LDIF, the wait for convergence.
 */
import type { ClusterContext, ClusterRunResult } from './cluster-context';
import { ClusterAdmission } from './cluster-admission';
import type { ClusterPolicy } from './cluster-policy';
import { freezeLdif, planFreeze, type FreezeTarget } from './freeze';
import { FreezeSession, freezeMarker } from './freeze-session';
import { agreementProblems } from './replication-health';
import { agreementsTo, discoverTopology } from './topology';

export async function rehearseClusterUpgrade(ctx: ClusterContext, policy: ClusterPolicy, runId: string, emit: (text: string) => void): Promise<ClusterRunResult> {
  const topology = await discoverTopology({ local: ctx.local, localId: ctx.serverId, suffix: ctx.suffix, connect: ctx.connect, observe: ctx.observe, logger: ctx.logger });
  try {
    const targets: FreezeTarget[] = [];
    if (topology) {
      const marker = freezeMarker(ctx, runId);
      for (const member of FreezeSession.freezable(topology)) targets.push(await planFreeze(member, marker, ctx.suffix, agreementsTo(topology, member)));
      for (const p of agreementProblems(topology)) ctx.logger.warn(`the real run would refuse: ${p}`);
      emit(`# cluster upgrade of ${ctx.suffix} from ${ctx.serverId} (dry-run: nothing is changed)\n`);
      emit(`# servers: ${topology.members.map((m) => `${m.id} (${m.replica?.role ?? m.error ?? 'unknown'})`).join(', ')}\n#\n`);
      emit(`# (a) freeze: the suffix's backend read-only on every other supplier (client writes refused)\n`);
      for (const t of targets) emit(`${freezeLdif(t).freeze}\n`);
      if (targets.length === 0) emit('# no other supplier to freeze\n\n');
      emit(`# (b) upgrade on ${ctx.serverId}:\n`);
    }
    const admission = topology ? new ClusterAdmission(ctx, policy, () => topology.members.filter((m) => !m.local).map((m) => m.id)) : undefined;
    const result = await ctx.makeEngine({ admit: admission ? async (plan, state) => admission.compatible(plan, state) : undefined }).run();
    if (topology) {
      emit(`# (c) thaw: writable again (read-only also refuses replicated changes), agreements poked\n`);
      for (const t of targets) emit(`${freezeLdif(t).thaw}\n`);
      emit(`# (d) wait until every server has applied the changes of replica ${topology.local.replica!.replicaId}\n`);
    }
    return { ...result, claim: 'not needed', frozen: [] };
  } finally {
    await topology?.close();
  }
}
