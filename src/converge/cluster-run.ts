/**
 * Upgrading one server of a replicated suffix, in the two modes of docs/cluster.md ("The fully
 * automated mode" and "The recommended procedure"):
 *
 * automated (`run`, e.g. from %posttrans on every server at once): server-scope steps always run;
 *   cluster-scope steps only when every agreement is healthy, the cluster is in sync, and this run
 *   holds the cluster claim (src/lock/cluster-claim.ts). Without the claim the run applies the server-scope steps
 *   that do not wait for a pending cluster step, and says who is upgrading. After cluster steps it
 *   waits until every server has received them. Steps that are not backward compatible wait until
 *   every known server runs a package that ships them. With local credentials only (LDAPI
 *   autobind) it decides from this server's view when that shows every server (local-view.ts).
 *
 * manual (`cluster upgrade`, the semi-automated process): the same checks and claim, then
 *   (a) freeze the other suppliers (freeze.ts: writes refused, replication applied), (b) upgrade
 *   here, (c) thaw them: on every exit path, and a freeze left by a crashed run is lifted by the
 *   next one, (d) wait until every server has the changes. --force runs incompatible steps.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Clock } from '../core/clock';
import type { Fence } from '../core/fence';
import type { LdapSession } from '../core/directory';
import type { RunResult, UpgradeEngine } from '../core/engine';
import { ClusterNotReadyError, DirectoryError, errorMessage, ReplicationPendingError } from '../core/errors';
import type { HistoryState } from '../core/history-store';
import type { Logger } from '../core/logger';
import type { Plan } from '../core/planner';
import { describeBehind, holdIncompatible, interruptedElsewhere, knownServers, pendingClusterSteps, serverStepsOnly, type CompatibilityHold, type Narrowed } from '../plan/admission';
import { blockingProblem, readAgreements, type Agreement } from './agreements';
import { ClusterClaim, claimIsLive, describeClaim, readClaims, type Claim, type Liveness } from '../lock/cluster-claim';
import { isAlive as processIsAlive } from '../process/alive';
import { localRuv, waitForLocalChanges, waitUntilExchanged, waitUntilInSync, type WaitOptions } from './convergence';
import type { SchemaRollout } from '../apply/schema-helper';
import { applyFreeze, freezeLdif, planFreeze, poke, readFreezeState, thaw, type FreezeTarget } from './freeze';
import { compareCsn, maxCsn } from './ruv';
import { agreementsTo, discoverTopology, suppliers, type ClusterMember, type Connect, type Topology } from './topology';
import { localView, nameObserved, readConsumerReplicaIds, unfedSuppliers, waitUntilSeen, type LocalView } from './local-view';

export interface ClusterTiming {
  /** Bound on every replication wait: in sync before, the claim exchange, delivery after. */
  replicationTimeoutMs: number;
  /** How long to wait for another server's upgrade (its live claim) to finish. */
  claimWaitMs: number;
  /** A claim not refreshed for this long belongs to a dead run. */
  staleClaimMs: number;
  heartbeatMs: number;
  pollMs: number;
  progressMs: number;
  /** An agreement in error is poked and given this long to succeed before the run refuses. */
  agreementRecheckMs: number;
}

export const DEFAULT_TIMING: ClusterTiming = {
  replicationTimeoutMs: 120_000,
  claimWaitMs: 60_000,
  staleClaimMs: 300_000,
  heartbeatMs: 30_000,
  pollMs: 100,
  progressMs: 5_000,
  agreementRecheckMs: 5_000,
};

export type Admit = (plan: Plan, state: HistoryState) => Promise<Plan>;

export interface EngineChoices {
  /** Narrows the plan (or refuses) before anything is written. */
  admit?: Admit;
  /** Schema steps write cn=schema on these peers too. */
  schemaRollout?: SchemaRollout;
  /** The cluster claim, verified before each step and each batch. */
  fence?: Fence;
}

/** How long to wait for the agreements to fall quiet before writing cn=schema everywhere. */
const QUIET_WAIT_MS = 10_000;
/** Local view: how often agreements that back off from a busy replica are retried while waiting. */
const NUDGE_EVERY_MS = 1_000;
/** Local view: how long the sessions the others open on receiving this run's last change get to end. */
const RELAY_SETTLE_MS = 4_000;

export interface ClusterContext {
  suffix: string;
  /** The local server's name in the history. */
  serverId: string;
  packageVersion: string;
  local: LdapSession;
  /** Opens a session to a peer (same credentials as the local one). */
  connect: Connect;
  /**
   * Opens an anonymous session to a peer that `connect` has no credentials for (LDAPI autobind):
   * the run then decides from this server's view (local-view.ts).
   */
  observe?: Connect;
  /** A new engine on the local database (see EngineChoices). */
  makeEngine(options?: EngineChoices): UpgradeEngine;
  logger: Logger;
  clock: Clock;
  timing?: Partial<ClusterTiming>;
  /** Identifies this run in claims and freeze markers; random by default. */
  runId?: string;
}

export type ClaimState = 'not needed' | 'held' | 'backed off';

export interface ClusterRunResult extends RunResult {
  claim: ClaimState;
  /** Steps this run left for later (no claim, or not backward compatible yet). */
  heldBack: string[];
  /** Why they wait, for the one-line report (e.g. which servers are behind). */
  heldBackReason?: string;
  /** Servers frozen during the run (manual mode), all thawed when it returned. */
  frozen: string[];
}

export function newRunId(): string {
  return randomBytes(6).toString('hex');
}

/** The automated mode: safe to run on every server at once. */
export async function runAutomated(ctx: ClusterContext): Promise<ClusterRunResult> {
  return new ClusterRun(ctx, 'automated', false).run();
}

/** `cluster upgrade`: freeze, upgrade, thaw, wait for convergence. Call abort() from a signal handler. */
export class ClusterUpgrade {
  private readonly inner: ClusterRun;

  constructor(ctx: ClusterContext, options: { force: boolean }) {
    this.inner = new ClusterRun(ctx, 'manual', options.force);
  }

  run(): Promise<ClusterRunResult> {
    return this.inner.run();
  }

  /** Thaws what this run froze and releases its claim (for SIGINT/SIGTERM). */
  abort(): Promise<void> {
    return this.inner.cleanUp();
  }

  /** Prints what the run would do (freeze and thaw LDIF per server, then the engine's dry-run). */
  rehearse(emit: (text: string) => void): Promise<ClusterRunResult> {
    return this.inner.rehearse(emit);
  }
}

class ClusterRun {
  private readonly timing: ClusterTiming;
  private readonly runId: string;
  private topology?: Topology;
  /** Set when the other servers can only be read anonymously. */
  private view?: LocalView;
  private claim?: ClusterClaim;
  private frozen: FreezeTarget[] = [];
  private thawed: string[] = [];
  private heldBack: string[] = [];
  private heldBackReason?: string;
  private cleaning?: Promise<void>;

  constructor(
    private readonly ctx: ClusterContext,
    private readonly mode: 'automated' | 'manual',
    private readonly force: boolean,
  ) {
    this.timing = { ...DEFAULT_TIMING, ...ctx.timing };
    this.runId = ctx.runId ?? newRunId();
  }

  async run(): Promise<ClusterRunResult> {
    const { ctx } = this;
    const { plan } = await ctx.makeEngine().plan();
    // Nothing replicated to change: server-scope steps are local and need no coordination.
    const clusterSteps = pendingClusterSteps(plan).length > 0;
    if (this.mode === 'automated' && !clusterSteps) return this.result(await ctx.makeEngine().run(), 'not needed');
    const started = ctx.clock.monotonicMs();
    const elapsed = () => `${ctx.clock.monotonicMs() - started} ms`;
    const topology = await this.discover();
    if (topology) ctx.logger.debug(`replication topology of ${ctx.suffix}: ${topology.members.map((m) => m.id).join(', ')} (${elapsed()})`);
    if (!topology) {
      if (this.mode === 'manual') ctx.logger.warn(`${ctx.suffix} is not replicated on ${ctx.serverId}: upgrading it as a standalone database`);
      return this.result(await ctx.makeEngine().run(), 'not needed');
    }
    try {
      await this.liftLeftoverFreezes(topology);
      if (!clusterSteps) {
        ctx.logger.info('no cluster-scope step is pending: the other servers are not frozen');
        return this.result(await ctx.makeEngine().run(), 'not needed');
      }
      if (topology.local.replica!.role !== 'supplier') {
        ctx.logger.warn(`${ctx.serverId} is a read-only ${topology.local.replica!.role} of ${ctx.suffix}: the suppliers apply the cluster-scope steps`);
        return this.result(await ctx.makeEngine({ admit: (p) => this.withoutClaim(p, 'this server is a read-only replica') }).run(), 'backed off');
      }
      await this.refuseBrokenAgreements(topology);
      this.view = await this.localViewOf(topology);
      // From this server alone the others' changes cannot be seen; the claim exchange below needs
      // only that ours reaches them (src/lock/cluster-claim.ts), which the local view reads there.
      const inSync = this.view ? new Map<number, string>() : await waitUntilInSync(this.waitOptions('the servers to be in sync before the upgrade'));
      if (!this.view) ctx.logger.debug(`the servers are in sync (${elapsed()})`);

      const claim: ClusterClaim = new ClusterClaim({
        ldap: ctx.local,
        suffix: ctx.suffix,
        server: ctx.serverId,
        run: this.runId,
        tool: `pki-db-upgrade ${ctx.packageVersion}`,
        readableByAnyone: this.view !== undefined,
        exchange: async (): Promise<void> => {
          if (this.view) return this.exchangeSeenFromHere(topology, claim);
          const rid = topology.local.replica!.replicaId;
          const csn = maxCsn(await localRuv(topology), rid);
          // The claim was just written here, so the local RUV must show a change newer than the
          // in-sync snapshot; without one there is nothing to prove the exchange by.
          const before = inSync.get(rid);
          if (!csn || (before && compareCsn(csn, before) <= 0)) {
            throw new ClusterNotReadyError(`the cluster claim written on ${ctx.serverId} does not show in its replication state (RUV of ${ctx.suffix})`, 'check that the suffix is replicated there, then run again');
          }
          await waitUntilExchanged(csn, inSync, this.waitOptions('the cluster claim to be exchanged with every supplier'));
        },
        logger: ctx.logger,
        clock: ctx.clock,
        waitMs: this.timing.claimWaitMs,
        staleAfterMs: this.timing.staleClaimMs,
        heartbeatMs: this.timing.heartbeatMs,
      });
      // Known before it is taken: an interrupt while acquiring must withdraw it too.
      this.claim = claim;
      if (this.mode === 'automated') {
        // Another server's upgrade first; it may leave nothing that needs the claim (e.g. only this
        // server's own steps, and a step held back until the others run this package).
        const rival = await claim.waitForRivals();
        if (rival) return await this.backOff(rival);
        // In the local view the others' names (for the compatibility check) are known once the
        // claim is exchanged (exchangeSeenFromHere): the claim is taken first.
        if (!this.view && !(await this.clusterStepsToApply(topology))) {
          return this.result(await ctx.makeEngine({ admit: async (p, s) => this.compatible(p, s, topology) }).run(), 'not needed');
        }
      }
      const outcome = await claim.acquire();
      ctx.logger.debug(`cluster claim ${outcome.held ? 'taken' : 'not taken'} (${elapsed()})`);
      if (!outcome.held) {
        if (this.mode === 'manual') {
          throw new ClusterNotReadyError(`another upgrade is running: ${describeClaim(outcome.holder)}`, 'wait until it has finished (pki-db-upgrade cluster status shows it), then run again');
        }
        return await this.backOff(outcome.holder);
      }
      return await this.upgradeHoldingClaim(topology);
    } finally {
      await this.cleanUp();
      await topology.close();
    }
  }

  /** Dry-run of `cluster upgrade`: reads only. */
  async rehearse(emit: (text: string) => void): Promise<ClusterRunResult> {
    const { ctx } = this;
    const topology = await this.discover();
    try {
      const targets: FreezeTarget[] = [];
      if (topology) {
        for (const member of this.freezable(topology)) targets.push(await planFreeze(member, this.freezer(), ctx.suffix, agreementsTo(topology, member)));
        const problems = this.agreementProblems(topology);
        for (const p of problems) ctx.logger.warn(`the real run would refuse: ${p}`);
        emit(`# cluster upgrade of ${ctx.suffix} from ${ctx.serverId} (dry-run: nothing is changed)\n`);
        emit(`# servers: ${topology.members.map((m) => `${m.id} (${m.replica?.role ?? m.error ?? 'unknown'})`).join(', ')}\n#\n`);
        emit(`# (a) freeze: the suffix's backend read-only on every other supplier (client writes refused)\n`);
        for (const t of targets) emit(`${freezeLdif(t).freeze}\n`);
        if (targets.length === 0) emit('# no other supplier to freeze\n\n');
        emit(`# (b) upgrade on ${ctx.serverId}:\n`);
      }
      // The same admission as the real run: a step it would hold back is not shown as applied.
      const result = await ctx.makeEngine({ admit: topology ? async (plan, state) => this.compatible(plan, state, topology) : undefined }).run();
      if (topology) {
        emit(`# (c) thaw: writable again (read-only also refuses replicated changes), agreements poked\n`);
        for (const t of targets) emit(`${freezeLdif(t).thaw}\n`);
        emit(`# (d) wait until every server has applied the changes of replica ${topology.local.replica!.replicaId}\n`);
      }
      return this.result(result, 'not needed');
    } finally {
      await topology?.close();
    }
  }

  /** Thaws everything this run froze and releases its claim; idempotent, never throws. */
  cleanUp(): Promise<void> {
    this.cleaning ??= this.doCleanUp();
    return this.cleaning;
  }

  private async doCleanUp(): Promise<void> {
    await this.thawAll();
    try {
      await this.claim?.release();
    } catch (err) {
      this.ctx.logger.warn(`could not remove the cluster claim (it expires by itself): ${errorMessage(err)}`);
    }
  }

  /** Thaws every server this run froze; a failure is reported with the LDIF to apply by hand. */
  private async thawAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const target of this.frozen.splice(0)) {
      try {
        await thaw(target.member, this.ctx.suffix, target.feeders);
        this.thawed.push(target.member.id);
        this.ctx.logger.info(`${target.member.id} accepts writes again`);
      } catch (err) {
        failures.push(`${target.member.id}: ${errorMessage(err)}\n${freezeLdif(target).thaw}`);
      }
    }
    if (failures.length > 0) {
      this.ctx.logger.error(
        `could not make these servers writable again (the next pki-db-upgrade cluster upgrade lifts it; or apply the LDIF with ldapmodify as Directory Manager):\n${failures.join('\n')}`,
      );
    }
    return failures;
  }

  private async upgradeHoldingClaim(topology: Topology): Promise<ClusterRunResult> {
    const { ctx } = this;
    const rid = topology.local.replica!.replicaId;
    if (this.mode === 'manual') {
      // Freeze only for cluster steps this run will really apply (not those held back).
      if (await this.clusterStepsToApply(topology)) await this.freezeOthers(topology);
      else ctx.logger.info('no cluster-scope step can be applied now: the other servers are not frozen');
    }

    const before = maxCsn(await localRuv(topology), rid);
    // cn=schema is written on every server, not left to replication (schema-helper.ts); in the
    // local view it is written here and read back there once replication has carried it.
    const view = this.view;
    const schemaRollout: SchemaRollout = {
      peers: topology.members.filter((m) => !m.local && m.session).map((m) => ({ id: m.id, session: m.session! })),
      observed: view?.observers.map((o) => ({ id: o.member.id, session: o.session })),
      // A schema change alone starts no session (docs/schema-replication.md): a write does.
      push: view ? async () => void (await this.claim!.touch()) : undefined,
      quiesce: () => this.quiesce(topology),
      localFirst: () => this.frozen.length > 0,
    };
    const result = await ctx.makeEngine({ admit: (plan, state) => this.holdingClaim(plan, state, topology), schemaRollout, fence: this.claim }).run();
    const after = maxCsn(await localRuv(topology), rid);
    // Read-only refuses replicated changes too: the others are thawed (their feeding agreements
    // poked) before waiting for the upgrade to reach them. Also after a failure.
    const stillFrozen = await this.thawAll();
    if (stillFrozen.length > 0 && !result.failure) {
      throw new DirectoryError(
        `the upgrade is applied on ${ctx.serverId}, but ${stillFrozen.length} server(s) could not be made writable again (see above)`,
        'run pki-db-upgrade cluster upgrade again: it lifts a freeze left behind; or apply the LDIF above with ldapmodify',
      );
    }
    // A failed run is reported as such; its partial changes replicate like any others.
    if (!result.failure && after && after !== before) {
      const started = ctx.clock.monotonicMs();
      try {
        if (view) await this.deliveredEverywhere("this run's changes");
        else await waitForLocalChanges(after, this.waitOptions("this run's changes to reach every server"));
      } catch (err) {
        if (!(err instanceof ClusterNotReadyError)) throw err;
        throw new ReplicationPendingError(
          `the upgrade is applied on ${ctx.serverId} (database at ${result.databaseVersion ?? '(none)'}), but ${err.message}`,
          `${err.hint ?? ''}; the changes stay queued and replicate once the server is back: pki-db-upgrade cluster status shows the progress`,
        );
      }
      ctx.logger.info(`every server has this run's changes (${((ctx.clock.monotonicMs() - started) / 1000).toFixed(2)} s after the last write)`);
    }
    return this.result(result, 'held');
  }

  /**
   * Until no replication session is about to start: no other run's claim is still to be withdrawn,
   * every server has this run's writes, and no agreement of any server is sending or waiting to
   * retry a busy replica (twice in a row, a poll apart). Bounded: past it the write
   * goes ahead, and the schema check after it still decides. Frozen servers (manual mode) refuse
   * replicated changes until the thaw, so delivery to them is not waited for.
   */
  private async quiesce(topology: Topology): Promise<void> {
    const { ctx } = this;
    // A run of another server that claimed at the same moment withdraws its claim once it sees
    // ours: that delete is a replicated write, and its sessions would start with a schema check.
    const rival = await this.claim?.waitForRivals(ctx.clock.monotonicMs() + QUIET_WAIT_MS);
    if (rival) ctx.logger.warn(`${describeClaim(rival)} still shows a claim: writing cn=schema anyway`);
    const csn = maxCsn(await localRuv(topology), topology.local.replica!.replicaId);
    if (this.view) {
      await this.deliveredEverywhere("this run's changes, before cn=schema is written,");
      // Each server that receives a change opens sessions to its peers, and those this run cannot
      // see may be refused as busy and retried after nsds5ReplicaBusyWaitTime (3 s by default).
      // One that starts after cn=schema is written here, from a server that lacks the new
      // definitions, learns them instead of pushing ("must not be overwritten"): let them end first.
      await this.ctx.clock.sleep(RELAY_SETTLE_MS);
    } else if (csn && this.frozen.length === 0) await waitForLocalChanges(csn, this.waitOptions("this run's changes to reach every server before cn=schema is written"));
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
      await this.ctx.clock.sleep(this.timing.pollMs);
    }
  }

  /** Admission of the claim holder: no interrupted step of another server (automated), compatibility. */
  private async holdingClaim(plan: Plan, state: HistoryState, topology: Topology): Promise<Plan> {
    const { ctx } = this;
    for (const record of interruptedElsewhere(plan)) {
      if (this.mode === 'automated') {
        throw new ClusterNotReadyError(
          `step ${record.stepId} was started by ${record.server} at ${record.startTime.toISOString()} and never finished (that run is gone: it holds no claim)`,
          `read the log on ${record.server}, then resume it there with pki-db-upgrade, or from any server with pki-db-upgrade cluster upgrade; an unattended run does not finish another server's step`,
        );
      }
      ctx.logger.warn(`resuming step ${record.stepId}, interrupted on ${record.server} (started ${record.startTime.toISOString()})`);
    }
    return this.compatible(plan, state, topology);
  }

  /** Whether the plan, as of now, has a cluster step this run would apply (held-back ones do not count). */
  private async clusterStepsToApply(topology: Topology): Promise<boolean> {
    const { plan, state } = await this.ctx.makeEngine().plan();
    return pendingClusterSteps(this.force ? plan : this.compatibilityHold(plan, state, topology).plan).length > 0;
  }

  private compatibilityHold(plan: Plan, state: HistoryState, topology: Topology): CompatibilityHold {
    const servers = knownServers(state, topology.members.filter((m) => !m.local).map((m) => m.id), this.ctx.serverId, this.ctx.packageVersion);
    return holdIncompatible(plan, servers);
  }

  /** Steps that are not backward compatible wait until every known server ships them (unless forced). */
  private compatible(plan: Plan, state: HistoryState, topology: Topology): Plan {
    const { ctx } = this;
    const hold = this.compatibilityHold(plan, state, topology);
    if (!hold.blocked) return plan;
    const { step } = hold.blocked.step;
    const behind = describeBehind(hold.blocked.behind);
    if (this.mode === 'manual' && this.force) {
      ctx.logger.warn(`--force: applying ${step.id}, which is not backward compatible, although ${behind} may not ship it`);
      return plan;
    }
    const after = hold.heldBack.length > 1 ? `, with the ${hold.heldBack.length - 1} step(s) after it,` : '';
    ctx.logger.warn(
      `step ${step.id} is not backward compatible: held back${after} until every server runs a package >= ${step.version}; ` +
        `behind: ${behind}. Update the packages there; ${this.mode === 'manual' ? 'or pass --force to apply it now' : 'the next upgrade run applies it, or run pki-db-upgrade cluster upgrade --force'}`,
    );
    return this.narrowed(hold, `not backward compatible: waits until every server runs a package >= ${step.version}; behind: ${behind}`);
  }

  /** Automated mode, another server's run still upgrading: only the steps that do not wait for it. */
  private async backOff(holder: Claim): Promise<ClusterRunResult> {
    this.ctx.logger.warn(`${describeClaim(holder)} is upgrading the cluster database: this run applies only the server-scope steps that do not wait for it`);
    return this.result(await this.ctx.makeEngine({ admit: (p) => this.withoutClaim(p, `${holder.server} holds the cluster claim`) }).run(), 'backed off');
  }

  private withoutClaim(plan: Plan, why: string): Promise<Plan> {
    const narrowed = serverStepsOnly(plan);
    if (narrowed.heldBack.length > 0) {
      this.ctx.logger.info(
        `${why}: ${narrowed.heldBack.length} step(s) from ${narrowed.heldBack[0].step.id} on are left for it (or for the next run here); ` +
          `${narrowed.plan.pending.length} server-scope step(s) run now`,
      );
    }
    return Promise.resolve(this.narrowed(narrowed, why));
  }

  private narrowed({ plan, heldBack }: Narrowed, why: string): Plan {
    this.heldBack = heldBack.map((p) => p.step.id);
    this.heldBackReason = heldBack.length > 0 ? why : undefined;
    return plan;
  }

  private async discover(): Promise<Topology | undefined> {
    const { ctx } = this;
    this.topology = await discoverTopology({ local: ctx.local, localId: ctx.serverId, suffix: ctx.suffix, connect: ctx.connect, observe: ctx.observe, logger: ctx.logger });
    return this.topology;
  }

  /**
   * The other servers cannot be read with this run's credentials: decide from this server's view
   * if it shows them all (local-view.ts), else refuse before anything is written.
   */
  private async localViewOf(topology: Topology): Promise<LocalView | undefined> {
    const { ctx } = this;
    if (!ctx.observe || !topology.members.some((m) => m.unreadable)) return undefined;
    const seen = localView(topology);
    if ('problems' in seen) throw this.notVisible(seen.problems);
    // A claim left by a run that died: its last writes may still be on their way here through
    // agreements this run cannot see (the in-sync check of the full view would wait for them).
    // Not one being withdrawn right now (its run just ended, its delete on the way): one not
    // refreshed for a heartbeat interval.
    const liveness = this.liveness();
    const abandoned = (c: Claim) => liveness.now.getTime() - Date.parse(c.heartbeat) > this.timing.heartbeatMs;
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

  private notVisible(problems: string[]): ClusterNotReadyError {
    const { ctx } = this;
    return new ClusterNotReadyError(
      `the other servers of ${ctx.suffix} cannot be read with the credentials of this run, and this server's own view does not show them all: ${problems.join('; ')}`,
      `apply the cluster-scope steps with pki-db-upgrade cluster upgrade --url ldap://${ctx.serverId} --base-dn ${ctx.suffix} --password-file FILE (the Directory Manager password, the same on every server); nothing was changed`,
    );
  }

  /**
   * Local view, our claim just written: every supplier is fed by this server (local-view.ts), and
   * the claim is readable on every other server. Then the claim protocol reads the claims here.
   */
  private async exchangeSeenFromHere(topology: Topology, claim: ClusterClaim): Promise<void> {
    const { ctx } = this;
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
      if (now - started >= this.timing.replicationTimeoutMs) throw this.notVisible(problems);
      // 389 DS learns an agreement's consumer id in a session that sends changes, and records it
      // at the next local change: refresh the claim until it shows, retrying busy agreements now.
      if (now >= nextNudge) {
        const known = [...consumers].map(([name, rid]) => `${name} -> ${rid}`).join(', ') || 'none';
        ctx.logger.debug(`waiting for the agreements of ${ctx.serverId} to show which replica each feeds (known: ${known}): ${problems.join('; ')}`);
        await this.pokeBusyFeeders(topology.members.filter((m) => !m.local));
        nextNudge = now + NUDGE_EVERY_MS;
      }
      await this.ctx.clock.sleep(this.timing.pollMs * 2);
      await claim.touch();
    }
    await this.seenEverywhere(claim.written!, 'the cluster claim');
  }

  /** Local view: a fresh change of this run (the claim refreshed) is readable on every other server, and with it all before it. */
  private async deliveredEverywhere(what: string): Promise<void> {
    const mark = await this.claim!.touch();
    await this.seenEverywhere(mark, what);
  }

  private seenEverywhere(written: { dn: string; value: string }, what: string): Promise<void> {
    const view = this.view!;
    const claim = this.claim!;
    return waitUntilSeen(view, written.dn, 'description', (values) => claim.shows(values, written), {
      what,
      timeoutMs: this.timing.replicationTimeoutMs,
      pollMs: this.timing.pollMs,
      clock: this.ctx.clock,
      logger: this.ctx.logger,
      nudge: () => this.pokeBusyFeeders(view.observers.map((o) => o.member)),
    });
  }

  private agreementProblems(topology: Topology): string[] {
    const problems: string[] = [];
    for (const member of topology.members) {
      // Read anonymously only: its agreements are not visible, and the local view decides (localViewOf).
      if (member.observer) continue;
      if (member.error && !member.session) problems.push(`${member.id} ${member.unreadable ? 'cannot be read with the credentials of this run' : 'cannot be reached'}: ${member.error}`);
      for (const agreement of member.agreements) {
        const problem = blockingProblem(agreement);
        if (problem) problems.push(`agreement on ${member.id}: ${problem}`);
      }
    }
    return problems;
  }

  /**
   * Paused, initializing or unreachable: refuse. In error: the status may be stale (a peer that
   * restarted, a freeze just lifted), so poke the agreement and give it a few seconds first.
   */
  private async refuseBrokenAgreements(topology: Topology): Promise<void> {
    const inError = topology.members.flatMap((from) => from.agreements.filter((a) => a.state === 'error').map((agreement) => ({ from, agreement })));
    if (inError.length > 0) {
      await poke(inError);
      const deadline = this.ctx.clock.monotonicMs() + this.timing.agreementRecheckMs;
      const senders = [...new Set(inError.map((e) => e.from))];
      const poked = new Set(inError.map((e) => e.agreement.dn));
      for (;;) {
        await Promise.all(senders.map(async (m) => (m.agreements = m.session ? await readAgreements(m.session, this.ctx.suffix) : m.agreements)));
        // Right after the poke the status says "agreement disabled" or similar: wait for a session.
        const succeeded = senders.every((m) => m.agreements.every((a) => !poked.has(a.dn) || /succeeded/i.test(a.status)));
        if (succeeded || this.ctx.clock.monotonicMs() >= deadline) break;
        await this.ctx.clock.sleep(this.timing.pollMs * 2);
      }
    }
    const problems = this.agreementProblems(topology);
    if (problems.length === 0) return;
    if (topology.members.some((m) => m.unreadable && !m.observer)) {
      throw new ClusterNotReadyError(
        `the other servers of ${this.ctx.suffix} cannot be read with the credentials of this run, so it cannot tell whether cluster-scope steps would reach them: ${problems.join('; ')}`,
        `apply the cluster-scope steps with pki-db-upgrade cluster upgrade --url ldap://${this.ctx.serverId} --base-dn ${this.ctx.suffix} --password-file FILE (the Directory Manager password, the same on every server); nothing was changed`,
      );
    }
    throw new ClusterNotReadyError(
      `replication of ${this.ctx.suffix} is not healthy, so cluster-scope steps would not reach every server: ${problems.join('; ')}`,
      'resume or repair the agreement (dsconf INSTANCE repl-agmt enable / repl-agmt status --suffix SUFFIX NAME), or remove the agreements of a decommissioned server, then run again; nothing was changed',
    );
  }

  private freezable(topology: Topology) {
    return suppliers(topology).filter((m) => !m.local && m.session && m.replica);
  }

  private freezer() {
    return { server: this.ctx.serverId, run: this.runId, at: this.ctx.clock.now() };
  }

  private async freezeOthers(topology: Topology): Promise<void> {
    const { ctx } = this;
    for (const member of this.freezable(topology)) {
      if (this.cleaning) throw new ClusterNotReadyError('the run was interrupted while freezing the other servers');
      const target = await planFreeze(member, this.freezer(), ctx.suffix, agreementsTo(topology, member));
      // Recorded before the writes: a freeze interrupted half-way must still be undone on the way out.
      this.frozen.push(target);
      await applyFreeze(target);
      ctx.logger.info(`${member.id}: frozen (${ctx.suffix} read-only there: client writes are refused until the upgrade is applied)`);
    }
  }

  /** How claims are judged alive, as the claim protocol judges them (src/lock/cluster-claim.ts). */
  private liveness(): Liveness {
    return { now: this.ctx.clock.now(), staleAfterMs: this.timing.staleClaimMs, localHost: os.hostname(), isProcessAlive: processIsAlive };
  }

  /** A freeze whose run no longer holds a live claim was left by a crash: undo it. */
  private async liftLeftoverFreezes(topology: Topology): Promise<void> {
    const { ctx } = this;
    const liveness = this.liveness();
    const live = new Set((await readClaims(ctx.local, ctx.suffix)).filter((c) => claimIsLive(c, liveness)).map((c) => c.run));
    for (const member of topology.members) {
      if (!member.session || !member.replica) continue;
      const { marker } = await readFreezeState(member.session, ctx.suffix);
      if (!marker) continue;
      if (live.has(marker.run)) {
        ctx.logger.warn(`${member.id} is frozen by the running upgrade of ${marker.by} (run ${marker.run})`);
        continue;
      }
      await thaw(member, ctx.suffix, agreementsTo(topology, member));
      ctx.logger.warn(`${member.id} was left frozen by run ${marker.run} of ${marker.by} (${marker.at}), which is gone: it accepts writes again`);
    }
  }

  /**
   * In a mesh two suppliers often send to a third at once; the one refused ("Can't acquire busy
   * replica") backs off for seconds (nsds5ReplicaBackoffMin, 3 s by default) although the replica
   * is free again a few milliseconds later. Poking such an agreement makes it retry now.
   */
  private async pokeBusyFeeders(lagging: ClusterMember[]): Promise<void> {
    const topology = this.topology!;
    const busy: { from: ClusterMember; agreement: Agreement }[] = [];
    for (const member of lagging) {
      // Only this server's own agreements: they carry this run's writes, and a poke restarts the
      // agreement's protocol (its cached consumer schema state too), which is not ours to do
      // to the others' agreements.
      for (const { from, agreement } of agreementsTo(topology, member)) {
        if (!from.local || !from.session) continue;
        const now = (await readAgreements(from.session, this.ctx.suffix)).find((a) => a.dn === agreement.dn);
        if (now?.state === 'warning' && /busy/i.test(now.status)) busy.push({ from, agreement: now });
      }
    }
    if (busy.length === 0) return;
    this.ctx.logger.debug(`poking ${busy.map((b) => `${b.from.id} -> ${b.agreement.name}`).join(', ')} (backing off from a busy replica)`);
    await poke(busy);
  }

  private waitOptions(what: string): WaitOptions {
    return {
      topology: this.topology!,
      what,
      nudge: (lagging) => this.pokeBusyFeeders(lagging),
      timeoutMs: this.timing.replicationTimeoutMs,
      pollMs: this.timing.pollMs,
      progressMs: this.timing.progressMs,
      logger: this.ctx.logger,
      clock: this.ctx.clock,
    };
  }

  private result(result: RunResult, claim: ClaimState): ClusterRunResult {
    return { ...result, claim, heldBack: this.heldBack, heldBackReason: this.heldBackReason, frozen: [...this.thawed] };
  }
}
