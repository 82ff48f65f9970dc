/**
 * Applies a plan: one step at a time, in order, each recorded `started` before it runs and `done`
 * or `failed` after, stopping at the first failure with the database version not advanced past it;
 * the version moves once every cluster step of a release is done. Whatever stops it comes back as
 * the result's failure, with the results of the steps before.
 */
import type { BackupPort } from './backup';
import type { Clock } from './clock';
import { adviceFor } from './directory';
import { ClaimLostError, DirectoryError, errorMessage, PkiDbUpgradeError, ServerUnreachableError, StepFailedError, TrackingStateError } from './errors';
import type { Fence } from './fence';
import type { HistoryState, HistoryStore, StepRecord } from './history-store';
import type { Logger } from './logger';
import { reachedVersion, recordFor, type Plan } from './planner';
import { seconds, type RunResult, type StepResult } from './run-result';
import type { RegisteredStep, StepContext } from './step';
import { compareVersions } from './version';

export interface ApplyOptions {
  steps: RegisteredStep[]; // ordered (see orderRegistry)
  packageVersion: string;
  serverId: string;
  store: HistoryStore;
  logger: Logger;
  clock: Clock;
  /** Builds the context a step runs with (the dry-run one records instead of writing). */
  contextFor(step: RegisteredStep): StepContext;
  /** Verified before each step; a run that may no longer write stops there (ClaimLostError). */
  fence?: Fence;
  /** Taken once, before the first pending step it asks for; a failure stops the run there. */
  backup?: BackupPort;
}


export async function applyPlan(options: ApplyOptions, plan: Plan, state: HistoryState): Promise<RunResult> {
  const progress: Progress = { results: [], version: state.databaseVersion };
  try {
    return await applySteps(options, plan, state, progress);
  } catch (err) {
    return { plan, results: progress.results, databaseVersion: progress.version, dryRun: false, failure: asFailure(err), backup: progress.backup };
  }
}

/** What a run has done so far: kept when it stops short. */
interface Progress {
  results: StepResult[];
  version?: string;
  backup?: string;
}

async function applySteps(options: ApplyOptions, plan: Plan, state: HistoryState, progress: Progress): Promise<RunResult> {
  const { store, logger, clock, contextFor, serverId, packageVersion, steps } = options;
  const { results } = progress;
  let ready = state.ready;
  // Steps done, and those not applicable here: the database version moves past both.
  const done = new Set(
    steps.filter((s) => recordFor(state, s, serverId)?.outcome === 'done').map((s) => s.id),
  );
  for (const { step } of plan.notApplicable) done.add(step.id);

  for (const { step, reason } of plan.pending) {
    if (!ready && !step.bookkeeping) {
      throw new TrackingStateError(
        `the tracking entries are missing, but step ${step.id} is not one of the history store's own steps that create them`,
        'check that the database is a PKI database and rerun: the tracking schema is installed first',
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
      // What a server on a package without this step reads at service start (it replicates).
      backwardCompatible: step.scope === 'cluster' && step.backwardCompatible === false ? false : undefined,
    };
    await options.fence?.verify();
    if (!progress.backup && options.backup?.before(step)) {
      progress.backup = await options.backup.take();
      logger.info(`backup of the database before ${step.id}: ${progress.backup}`);
    }
    const again = { new: '', failed: ', failed before', interrupted: ', interrupted before', lost: ', done before but its schema is not in force on this server' }[reason];
    logger.info(`applying ${step.id} (${step.scope}${again}): ${step.description}`, {
      step: step.id,
    });
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
        databaseVersion: progress.version,
        dryRun: false,
        backup: progress.backup,
        failure: new StepFailedError(
          step.id,
          `step ${step.id} failed: ${message}${unrecorded}`,
          `${advice ? `${advice}; ` : ''}the database stays at version ${progress.version ?? '(none)'}; fix the cause and run pki-db-upgrade again: it resumes at this step`,
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
    const reached = reachedVersion(steps, (s) => done.has(s.id), packageVersion, progress.version);
    if (step.scope === 'cluster' && reached !== undefined && (progress.version === undefined || compareVersions(reached, progress.version) > 0)) {
      await recorded(`set the database version to ${reached}`, () => store.setDatabaseVersion(reached));
      progress.version = reached;
    }
  }

  if (!ready) {
    // Nothing was pending yet tracking is missing: the registry is empty. Nothing to record.
    return { plan, results, databaseVersion: progress.version, dryRun: false, backup: progress.backup };
  }
  const final = reachedVersion(steps, (s) => done.has(s.id), packageVersion, progress.version);
  if (final !== undefined && (progress.version === undefined || compareVersions(final, progress.version) !== 0)) {
    await recorded(`set the database version to ${final}`, () => store.setDatabaseVersion(final));
    progress.version = final;
  }
  const serverInfo = state.serverInfo.get(serverId);
  if (serverInfo?.packageVersion !== packageVersion || results.length > 0) {
    await recorded(`record this server's package version`, () => store.writeServer({ server: serverId, packageVersion, lastRun: clock.now() }));
  }
  logger.info(`database at version ${progress.version}: ${results.length} step(s) applied`);
  return { plan, results, databaseVersion: progress.version, dryRun: false, backup: progress.backup };
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

/** What stopped a run, typed: an untyped error (a bug, an unexpected answer) becomes a DirectoryError that keeps it as its cause. */
export function asFailure(err: unknown): PkiDbUpgradeError {
  if (err instanceof PkiDbUpgradeError) return err;
  return new DirectoryError(errorMessage(err), `${adviceFor(err) ?? 'see the log for the cause'}; run pki-db-upgrade again once it is fixed: it resumes where it stopped`, { cause: err });
}
