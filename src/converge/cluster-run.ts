/**
 * Upgrading one server of a replicated suffix, as a named list of phases. Each phase may end the
 * run with a result (e.g. nothing replicated to change, another server is upgrading); the phases
 * marked `always` run on every way out, after a failure too (thaw, claim release, sessions).
 * What differs between `run` and `cluster upgrade` is data (cluster-policy.ts).
 *
 * Cluster-scope steps are applied only by the holder of the cluster claim (src/lock/cluster-claim.ts),
 * with every agreement healthy and, before, the servers in sync; after them the run waits until
 * every server has them. With local credentials only (LDAPI autobind) it decides from this
 * server's view when that shows every server (local-view.ts, claim-exchange.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Planned } from '../core/engine';
import type { RunResult } from '../core/run-result';
import { runPhases, type Phase } from '../core/phases';
import { ClusterNotReadyError, errorMessage } from '../core/errors';
import { ClusterClaim, describeClaim, hostLiveness, type Liveness } from '../lock/cluster-claim';
import { pendingClusterSteps } from '../plan/admission';
import { chooseLocalView, newClaim, waitUntilDelivered } from './claim-exchange';
import { ClusterAdmission } from './cluster-admission';
import { DEFAULT_TIMING, type Admit, type ClaimState, type ClusterContext, type ClusterRunResult, type ClusterTiming } from './cluster-context';
import type { ClusterPolicy } from './cluster-policy';
import { rehearseClusterUpgrade } from './cluster-rehearsal';
import { localRuv, waitUntilInSync } from './convergence';
import { FreezeSession } from './freeze-session';
import type { LocalView } from './local-view';
import { refuseBrokenAgreements, waitOptions } from './replication-health';
import { maxCsn } from './ruv';
import { schemaRolloutOf } from './schema-rollout';
import { discoverTopology, type Topology } from './topology';

export class ClusterRun {
  private static readonly PHASES: Phase<ClusterRun, ClusterRunResult>[] = [
    { name: 'plan', run: (r) => r.plan() },
    { name: 'discover the replication topology', run: (r) => r.discover() },
    { name: 'lift freezes left by crashed runs', run: (r) => r.freeze.liftLeftovers(r.topology!, r.liveness()) },
    { name: 'upgrade alone when no cluster step is pending', run: (r) => r.withoutClusterSteps() },
    { name: 'leave the cluster steps to the suppliers', run: (r) => r.onReadOnlyReplica() },
    { name: 'refuse unhealthy replication', run: (r) => refuseBrokenAgreements(r.topology!, r.ctx, r.timing) },
    { name: 'choose the view of the other servers', run: (r) => r.chooseView() },
    { name: 'wait until the servers are in sync', run: (r) => r.waitInSync() },
    { name: 'take the cluster claim', run: (r) => r.takeClaim() },
    { name: 'freeze the other suppliers', run: (r) => r.freezeOthers() },
    { name: 'upgrade this server', run: (r) => r.upgrade() },
    { name: 'thaw the other suppliers', always: true, run: (r, failure) => r.freeze.thawAfterUpgrade(!failure && r.upgraded !== undefined && !r.upgraded.result.failure) },
    { name: 'wait until every server has the changes', run: (r) => r.waitForDelivery() },
    { name: 'release the cluster claim', always: true, run: (r) => r.cleanUp() },
    { name: 'close the sessions to the other servers', always: true, run: async (r) => void (await r.topology?.close()) },
  ];

  private readonly timing: ClusterTiming;
  private madeRunId?: string;
  private readonly freeze: FreezeSession;
  private readonly admission: ClusterAdmission;
  private readonly started: number;
  private topology?: Topology;
  /** Set when the other servers can only be read anonymously. */
  private view?: LocalView;
  private inSync = new Map<number, string>();
  private claim?: ClusterClaim;
  private clusterSteps = false;
  private upgraded?: { result: RunResult; before?: string; after?: string };
  private cleaning?: Promise<void>;

  constructor(
    private readonly ctx: ClusterContext,
    private readonly policy: ClusterPolicy,
  ) {
    this.timing = { ...DEFAULT_TIMING, ...ctx.timing };
    this.freeze = new FreezeSession(ctx, () => this.runId);
    this.admission = new ClusterAdmission(ctx, policy, () => this.topology?.members.filter((m) => !m.local).map((m) => m.id) ?? []);
    this.started = ctx.clock.monotonicMs();
  }

  /**
   * What names this run in its claim and freeze markers, made at first use: a run that has
   * nothing to coordinate never needs one, and node:crypto costs ~4 ms to load.
   */
  private get runId(): string {
    return (this.madeRunId ??= this.ctx.runId ?? randomBytes(6).toString('hex'));
  }

  /** The phases in order; the first result or error ends the run, after the `always` phases. */
  run(): Promise<ClusterRunResult> {
    return runPhases(ClusterRun.PHASES, this, {
      onPhase: (name) => this.ctx.logger.debug(`cluster run: ${name} (${this.elapsed()})`),
      onLaterError: (phase, error) => this.ctx.logger.warn(`${phase}: ${errorMessage(error)}`),
    });
  }

  rehearse(emit: (text: string) => void): Promise<ClusterRunResult> {
    return rehearseClusterUpgrade(this.ctx, this.policy, this.runId, emit);
  }

  /** Thaws everything this run froze and releases its claim; idempotent, never throws. */
  cleanUp(): Promise<void> {
    this.cleaning ??= (async () => {
      await this.freeze.thawAll();
      try {
        await this.claim?.release();
      } catch (err) {
        this.ctx.logger.warn(`could not remove the cluster claim (it expires by itself): ${errorMessage(err)}`);
      }
    })();
    return this.cleaning;
  }

  private async plan(): Promise<ClusterRunResult | void> {
    const planned = await this.ctx.makeEngine().plan();
    // Nothing replicated to change: server-scope steps are local and need no coordination (and
    // the engine goes on from this plan: nothing happened since it was read).
    this.clusterSteps = pendingClusterSteps(planned.plan).length > 0;
    if (!this.clusterSteps && !this.policy.coordinateWithoutClusterSteps) return this.upgradeAlone('not needed', undefined, planned);
  }

  private async discover(): Promise<ClusterRunResult | void> {
    const { ctx } = this;
    this.topology = await discoverTopology({ local: ctx.local, localId: ctx.serverId, suffix: ctx.suffix, connect: ctx.connect, observe: ctx.observe, logger: ctx.logger });
    if (this.topology) {
      ctx.logger.debug(`replication topology of ${ctx.suffix}: ${this.topology.members.map((m) => m.id).join(', ')} (${this.elapsed()})`);
      return;
    }
    if (this.policy.warnStandalone) ctx.logger.warn(`${ctx.suffix} is not replicated on ${ctx.serverId}: upgrading it as a standalone database`);
    return this.upgradeAlone('not needed');
  }

  private async withoutClusterSteps(): Promise<ClusterRunResult | void> {
    if (this.clusterSteps) return;
    this.ctx.logger.info('no cluster-scope step is pending: the other servers are not frozen');
    return this.upgradeAlone('not needed');
  }

  private async onReadOnlyReplica(): Promise<ClusterRunResult | void> {
    const { role } = this.topology!.local.replica!;
    if (role === 'supplier') return;
    this.ctx.logger.warn(`${this.ctx.serverId} is a read-only ${role} of ${this.ctx.suffix}: the suppliers apply the cluster-scope steps`);
    return this.upgradeAlone('backed off', async (plan) => this.admission.withoutClaim(plan, 'this server is a read-only replica'));
  }

  private async chooseView(): Promise<void> {
    this.view = await chooseLocalView(this.topology!, this.ctx, this.timing, this.liveness());
  }

  private async waitInSync(): Promise<void> {
    // From this server alone the others' changes cannot be seen; the claim exchange needs only
    // that ours reaches them (claim-exchange.ts), which the local view reads there.
    if (this.view) return;
    this.inSync = await waitUntilInSync(waitOptions(this.topology!, this.ctx, this.timing, 'the servers to be in sync before the upgrade'));
    this.ctx.logger.debug(`the servers are in sync (${this.elapsed()})`);
  }

  private async takeClaim(): Promise<ClusterRunResult | void> {
    const { ctx } = this;
    const claim = newClaim(this.topology!, this.view, this.inSync, this.runId, ctx, this.timing);
    // Known before it is taken: an interrupt while acquiring must withdraw it too.
    this.claim = claim;
    if (this.policy.rivalClaim === 'back off') {
      // Another server's upgrade first; it may leave nothing that needs the claim (e.g. only this
      // server's own steps, and a step held back until the others run this package).
      const rival = await claim.waitForRivals();
      if (rival) return this.backOff(describeClaim(rival), rival.server);
      // In the local view the others' names (for the compatibility check) are known once the
      // claim is exchanged: the claim is taken first.
      if (!this.view && !(await this.admission.clusterStepsToApply())) return this.upgradeAlone('not needed', async (p, s) => this.admission.compatible(p, s));
    }
    const outcome = await claim.acquire();
    ctx.logger.debug(`cluster claim ${outcome.held ? 'taken' : 'not taken'} (${this.elapsed()})`);
    if (outcome.held) return;
    if (this.policy.rivalClaim === 'refuse') {
      throw new ClusterNotReadyError(`another upgrade is running: ${describeClaim(outcome.holder)}`, 'wait until it has finished (pki-db-upgrade cluster status shows it), then run again');
    }
    return this.backOff(describeClaim(outcome.holder), outcome.holder.server);
  }

  private async freezeOthers(): Promise<void> {
    if (!this.policy.freezeOthers) return;
    // Freeze only for cluster steps this run will really apply (not those held back).
    if (await this.admission.clusterStepsToApply()) await this.freeze.freezeOthers(this.topology!, () => this.cleaning !== undefined);
    else this.ctx.logger.info('no cluster-scope step can be applied now: the other servers are not frozen');
  }

  private async upgrade(): Promise<void> {
    const topology = this.topology!;
    const rid = topology.local.replica!.replicaId;
    const claim = this.claim!;
    const before = maxCsn(await localRuv(topology), rid);
    const schemaRollout = schemaRolloutOf({ topology, claim, view: this.view, frozen: () => this.freeze.active }, this.ctx, this.timing);
    const result = await this.ctx.makeEngine({ admit: async (plan, state) => this.admission.holdingClaim(plan, state), schemaRollout, fence: claim }).run();
    this.upgraded = { result, before, after: maxCsn(await localRuv(topology), rid) };
  }

  private async waitForDelivery(): Promise<ClusterRunResult> {
    const { result, before, after } = this.upgraded!;
    // A failed run is reported as such; its partial changes replicate like any others.
    if (!result.failure && after && after !== before) await waitUntilDelivered(this.topology!, this.view, this.claim!, after, result.databaseVersion, this.ctx, this.timing);
    return this.result(result, 'held');
  }

  /** Another server's run still upgrading: only the steps that do not wait for it. */
  private backOff(holder: string, server: string): Promise<ClusterRunResult> {
    this.ctx.logger.warn(`${holder} is upgrading the cluster database: this run applies only the server-scope steps that do not wait for it`);
    return this.upgradeAlone('backed off', async (plan) => this.admission.withoutClaim(plan, `${server} holds the cluster claim`));
  }

  /** The engine on this server alone, without the claim (and so without cluster coordination). */
  private async upgradeAlone(claim: ClaimState, admit?: Admit, planned?: Planned): Promise<ClusterRunResult> {
    return this.result(await this.ctx.makeEngine({ admit }).run(planned), claim);
  }

  /** How claims are judged alive, as the claim protocol judges them (cluster-claim.ts). */
  private liveness(): Liveness {
    return hostLiveness(this.ctx.clock.now(), this.timing.staleClaimMs);
  }

  private elapsed(): string {
    return `${Math.round(this.ctx.clock.monotonicMs() - this.started)} ms`;
  }

  private result(result: RunResult, claim: ClaimState): ClusterRunResult {
    return { ...result, claim, frozen: [...this.freeze.thawed] };
  }
}
