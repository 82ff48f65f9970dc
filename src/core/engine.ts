/**
 * Applies a plan: one step at a time, in order, each recorded `started` before it runs and `done`
 * or `failed` after, stopping at the first failure with the database version not advanced past it.
 * It knows nothing of files, argv or ldapts: everything comes through the injected ports.
 */
import type { Clock } from './clock';
import { adviceFor } from './directory';
import { ClaimLostError, DirectoryError, errorMessage, PkiDbUpgradeError, ServerUnreachableError, StepFailedError, TrackingStateError } from './errors';
import type { Fence } from './fence';
import type { HistoryState, HistoryStore, StepRecord } from './history-store';
import type { Logger } from './logger';
import { planUpgrade, reachedVersion, recordFor, type Plan } from './planner';
import type { RegisteredStep, StepContext, Subsystem } from './step';
import { compareVersions } from './version';

export interface EngineOptions {
  steps: RegisteredStep[]; // ordered (see orderRegistry)
  packageVersion: string;
  serverId: string;
  store: HistoryStore;
  logger: Logger;
  clock: Clock;
  /** Builds the context a step runs with (the dry-run one records instead of writing). */
  contextFor(step: RegisteredStep): StepContext;
  dryRun: boolean;
  /**
   * Called with the plan before anything is written; may narrow it (e.g. cluster safety checks
   * hold back cluster steps, each with its reason) or throw to refuse the run.
   */
  admit?(plan: Plan, state: HistoryState): Promise<Admission>;
  /** Verified before each step; a run that may no longer write stops there (ClaimLostError). */
  fence?: Fence;
  /** The database's subsystem: steps whose appliesTo leaves it out are not run. Undefined: unknown. */
  subsystem?: Subsystem;
  /** How the subsystem was decided (or why it is unknown), for the log. */
  subsystemBasis?: string;
}

/** The plan a run may apply, and the steps it leaves for later with why. */
export interface Admission {
  plan: Plan;
  heldBack: { step: RegisteredStep; reason: string }[];
}

/** Admits the whole plan. */
export const admitAll = (plan: Plan): Admission => ({ plan, heldBack: [] });

/**
 * One result per step the run considered: done, failed, planned (dry-run), or held back (left for
 * a later run, with `reason`). The steps after a failure are in the plan, not in the results.
 */
export interface StepResult {
  step: RegisteredStep;
  outcome: 'done' | 'failed' | 'planned' | 'held back';
  durationMs: number;
  error?: string;
  reason?: string;
}

export interface RunResult {
  plan: Plan;
  results: StepResult[];
  /** Database version after the run (unchanged in dry-run). */
  databaseVersion?: string;
  dryRun: boolean;
  failure?: StepFailedError;
}

export class UpgradeEngine {
  constructor(private readonly options: EngineOptions) {}

  async plan(): Promise<{ plan: Plan; state: HistoryState }> {
    const { steps, packageVersion, serverId, store, subsystem } = this.options;
    const state = await store.load();
    return { plan: planUpgrade({ steps, state, packageVersion, serverId, subsystem }), state };
  }

  async run(): Promise<RunResult> {
    const { logger, admit, dryRun } = this.options;
    const planned = await this.plan();
    for (const warning of planned.plan.warnings) logger.warn(warning);
    this.logNotApplicable(planned.plan);
    const { plan, heldBack } = admit ? await admit(planned.plan, planned.state) : admitAll(planned.plan);
    const held: StepResult[] = heldBack.map(({ step, reason }) => ({ step, outcome: 'held back', durationMs: 0, reason }));

    if (plan.pending.length === 0 && !plan.needsBookkeeping) {
      logger.info(`nothing to ${held.length > 0 ? 'apply now' : 'do'}: database at ${plan.databaseVersion}, package ${plan.packageVersion}`);
      return { plan, results: held, databaseVersion: plan.databaseVersion, dryRun };
    }
    const result = await (dryRun ? this.rehearse(plan) : this.apply(plan, planned.state));
    return { ...result, results: [...result.results, ...held] };
  }

  /**
   * One line per step left out. At info level when the run has something to do (the first run
   * after the release, which moves the version past them); afterwards at debug, so that a run with
   * nothing to do stays one line (status lists them).
   */
  private logNotApplicable(plan: Plan): void {
    if (plan.notApplicable.length === 0) return;
    const { logger, subsystem, subsystemBasis } = this.options;
    const log = plan.pending.length > 0 || plan.needsBookkeeping ? logger.info.bind(logger) : logger.debug.bind(logger);
    log(`subsystem of this database: ${subsystem ?? 'unknown'}${subsystemBasis ? ` (${subsystemBasis})` : ''}`);
    for (const { step } of plan.notApplicable) {
      log(`not applicable here: ${step.id} is for ${step.appliesTo?.join(', ')} only; not run, not recorded`, { step: step.id });
    }
  }

  /** Dry-run: each step runs against a recording session; no history is written. */
  private async rehearse(plan: Plan): Promise<RunResult> {
    const { logger, contextFor, clock } = this.options;
    const results: StepResult[] = [];
    for (const { step } of plan.pending) {
      const started = clock.now().getTime();
      logger.info(`would apply ${step.id} (${step.scope}): ${step.description}`);
      try {
        await step.upgrade(contextFor(step));
      } catch (err) {
        const failure = new StepFailedError(
          step.id,
          `dry-run of step ${step.id} failed: ${errorMessage(err)}`,
          'fix the cause above; nothing was written',
          { cause: err },
        );
        results.push({ step, outcome: 'failed', durationMs: clock.now().getTime() - started, error: failure.message });
        return { plan, results, databaseVersion: plan.databaseVersion, dryRun: true, failure };
      }
      results.push({ step, outcome: 'planned', durationMs: clock.now().getTime() - started });
    }
    return { plan, results, databaseVersion: plan.databaseVersion, dryRun: true };
  }

  private async apply(plan: Plan, state: HistoryState): Promise<RunResult> {
    const { store, logger, clock, contextFor, serverId, packageVersion, steps } = this.options;
    const results: StepResult[] = [];
    let ready = state.ready;
    let version = state.databaseVersion;
    // Steps done, and those not applicable here: the database version moves past both.
    const done = new Set(
      steps.filter((s) => recordFor(state, s, serverId)?.outcome === 'done').map((s) => s.id),
    );
    for (const { step } of plan.notApplicable) done.add(step.id);

    for (const { step, reason } of plan.pending) {
      if (!ready && !step.installsTracking) {
        throw new TrackingStateError(
          `the tracking entries are missing, but step ${step.id} is not the one that creates them`,
          'the tracking schema step must run first: check that the database is a PKI database and rerun',
        );
      }
      const record: StepRecord = {
        stepId: step.id,
        version: step.version,
        scope: step.scope,
        description: step.description,
        checksum: step.checksum,
        server: serverId,
        packageVersion,
        startTime: clock.now(),
        outcome: 'started',
      };
      logger.info(`applying ${step.id} (${step.scope}${reason === 'new' ? '' : `, ${reason} before`}): ${step.description}`, {
        step: step.id,
      });
      await this.options.fence?.verify();
      // Before the tracking schema exists there is nowhere to write `started`; that step is
      // idempotent, so a crash during it just means it runs again.
      if (ready) await recorded(`record step ${step.id} as started`, () => store.write(record));

      try {
        await step.upgrade(contextFor(step));
      } catch (err) {
        // Fenced off: not even the failure is written (the record stays `started`: interrupted).
        if (err instanceof ClaimLostError) throw err;
        const end = clock.now();
        const message = errorMessage(err);
        const failed: StepRecord = { ...record, endTime: end, durationMs: end.getTime() - record.startTime.getTime(), outcome: 'failed', error: message };
        results.push({ step, outcome: 'failed', durationMs: failed.durationMs!, error: message });
        logger.error(`step ${step.id} failed after ${seconds(failed.durationMs!)}: ${message}`, { step: step.id });
        // Recording the failure must not hide it: if that write fails too (often for the same
        // reason), the record stays `started`, which the next run takes as interrupted.
        let unrecorded = '';
        if (ready) {
          try {
            await store.write(failed);
          } catch (recordErr) {
            unrecorded = ` (the failure could not be recorded: ${errorMessage(recordErr)}; the history shows the step as started, and the next run takes it as interrupted)`;
            logger.error(`could not record step ${step.id} as failed: ${errorMessage(recordErr)}`);
          }
        }
        // The server went away during the step: that is an outage (exit 4), not a broken step.
        if (err instanceof ServerUnreachableError) throw err;
        const advice = adviceFor(err);
        return {
          plan,
          results,
          databaseVersion: version,
          dryRun: false,
          failure: new StepFailedError(
            step.id,
            `step ${step.id} failed: ${message}${unrecorded}`,
            `${advice ? `${advice}; ` : ''}the database stays at version ${version ?? '(none)'}; fix the cause and run pki-db-upgrade again: it resumes at this step`,
            { cause: err },
          ),
        };
      }

      const end = clock.now();
      const finished: StepRecord = { ...record, endTime: end, durationMs: end.getTime() - record.startTime.getTime(), outcome: 'done' };
      if (!ready) {
        await recorded('create the tracking entries (cn=dbUpgrade)', () => store.initialize());
        ready = true;
      }
      await recorded(`record step ${step.id} as done`, () => store.write(finished));
      done.add(step.id);
      results.push({ step, outcome: 'done', durationMs: finished.durationMs! });
      logger.info(`done ${step.id} in ${seconds(finished.durationMs!)}`, { step: step.id, durationMs: finished.durationMs });

      // The cluster version moves only once every cluster step of a release is done, so a crash
      // or failure between two steps of a release never claims that release.
      const reached = reachedVersion(steps, (s) => done.has(s.id), packageVersion, version);
      if (step.scope === 'cluster' && reached !== undefined && (version === undefined || compareVersions(reached, version) > 0)) {
        await recorded(`set the database version to ${reached}`, () => store.setDatabaseVersion(reached));
        version = reached;
      }
    }

    if (!ready) {
      // Nothing was pending yet tracking is missing: the registry is empty. Nothing to record.
      return { plan, results, databaseVersion: version, dryRun: false };
    }
    const final = reachedVersion(steps, (s) => done.has(s.id), packageVersion, version);
    if (final !== undefined && (version === undefined || compareVersions(final, version) !== 0)) {
      await recorded(`set the database version to ${final}`, () => store.setDatabaseVersion(final));
      version = final;
    }
    const serverInfo = state.serverInfo.get(serverId);
    if (serverInfo?.packageVersion !== packageVersion || results.length > 0) {
      await recorded(`record this server's package version`, () => store.writeServer({ server: serverId, packageVersion, lastRun: clock.now() }));
    }
    logger.info(`database at version ${version}: ${results.length} step(s) applied`);
    return { plan, results, databaseVersion: version, dryRun: false };
  }
}

/**
 * Runs a write to the history; a refusal becomes an error saying which record could not be
 * written and what to do. An outage (exit 4) or another typed error passes through unchanged.
 */
async function recorded(what: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (err instanceof PkiDbUpgradeError) throw err;
    throw new DirectoryError(
      `could not ${what} in the upgrade history: ${errorMessage(err)}`,
      `${adviceFor(err) ?? 'fix the cause'}, then run pki-db-upgrade again: it resumes where it stopped`,
      { cause: err },
    );
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** The steps a run applied (or, in a dry-run, would apply). */
export function appliedOf(result: Pick<RunResult, 'results'>): StepResult[] {
  return result.results.filter((r) => r.outcome === 'done' || r.outcome === 'planned');
}

/** The steps a run left for later, and why (the reason of the first). */
export function heldBackOf(result: Pick<RunResult, 'results'>): { ids: string[]; reason?: string } {
  const held = result.results.filter((r) => r.outcome === 'held back');
  return { ids: held.map((r) => r.step.id), reason: held[0]?.reason };
}
