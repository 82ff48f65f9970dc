/**
 * Which steps a cluster run applies now and why the others wait: the rules of plan/admission.ts
 * applied under a policy, with the messages an administrator reads.
 */
import type { Admission } from '../core/run-result';
import { ClusterNotReadyError } from '../core/errors';
import type { HistoryState } from '../core/history-store';
import type { Plan } from '../core/planner';
import { describeBehind, holdIncompatible, interruptedElsewhere, knownServers, pendingClusterSteps, serverStepsOnly, type CompatibilityHold, type Narrowed } from '../plan/admission';
import type { ClusterContext } from './cluster-context';
import type { ClusterPolicy } from './cluster-policy';

export class ClusterAdmission {
  constructor(
    private readonly ctx: ClusterContext,
    private readonly policy: ClusterPolicy,
    /** The other servers' names, as known now (the local view learns them late). */
    private readonly peers: () => string[],
  ) {}

  /** Without the claim: only the server-scope steps before the first pending cluster step. */
  withoutClaim(plan: Plan, why: string): Admission {
    const narrowed = serverStepsOnly(plan);
    if (narrowed.heldBack.length > 0) {
      this.ctx.logger.info(
        `${why}: ${narrowed.heldBack.length} step(s) from ${narrowed.heldBack[0].step.id} on are left for it (or for the next run here); ` +
          `${narrowed.plan.pending.length} server-scope step(s) run now`,
      );
    }
    return admission(narrowed, why);
  }

  /** The claim holder: a step another server left unfinished (per policy), then compatibility. */
  holdingClaim(plan: Plan, state: HistoryState): Admission {
    for (const record of interruptedElsewhere(plan)) {
      if (this.policy.foreignInterrupted === 'refuse') {
        throw new ClusterNotReadyError(
          `step ${record.stepId} was started by ${record.server} at ${record.startTime.toISOString()} and never finished (that run is gone: it holds no claim)`,
          `read the log on ${record.server}, then resume it there with pki-db-upgrade, or from any server with pki-db-upgrade cluster upgrade; an unattended run does not finish another server's step`,
        );
      }
      this.ctx.logger.warn(`resuming step ${record.stepId}, interrupted on ${record.server} (started ${record.startTime.toISOString()})`);
    }
    return this.compatible(plan, state);
  }

  /** Steps that are not backward compatible wait until every known server ships them (unless the policy applies them). */
  compatible(plan: Plan, state: HistoryState): Admission {
    const hold = this.hold(plan, state);
    if (!hold.blocked) return { plan, heldBack: [] };
    const { step } = hold.blocked.step;
    const behind = describeBehind(hold.blocked.behind);
    if (this.policy.incompatible === 'apply') {
      this.ctx.logger.warn(`--force: applying ${step.id}, which is not backward compatible, although ${behind} may not ship it`);
      return { plan, heldBack: [] };
    }
    const after = hold.heldBack.length > 1 ? `, with the ${hold.heldBack.length - 1} step(s) after it,` : '';
    this.ctx.logger.warn(
      `step ${step.id} is not backward compatible: held back${after} until every server runs a package >= ${step.version}; ` +
        `behind: ${behind}. Update the packages there; ${this.policy.heldBackAdvice}`,
    );
    return admission(hold, `not backward compatible: waits until every server runs a package >= ${step.version}; behind: ${behind}`);
  }

  /** Whether the plan, as of now, has a cluster step this run would apply (held-back ones do not count). */
  async clusterStepsToApply(): Promise<boolean> {
    const { plan, state } = await this.ctx.makeEngine().plan();
    return pendingClusterSteps(this.policy.incompatible === 'apply' ? plan : this.hold(plan, state).plan).length > 0;
  }

  private hold(plan: Plan, state: HistoryState): CompatibilityHold {
    return holdIncompatible(plan, knownServers(state, this.peers(), this.ctx.serverId, this.ctx.packageVersion));
  }
}

function admission({ plan, heldBack }: Narrowed, reason: string): Admission {
  return { plan, heldBack: heldBack.map((p) => ({ step: p.step, reason })) };
}
