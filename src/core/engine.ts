/**
 * The upgrade of one database: plan from its history, admit (a cluster run narrows the plan or
 * refuses), then rehearse (dry-run) or apply (step-application.ts). One result channel: run()
 * never throws; whatever stops it is the result's failure. It knows nothing of files, argv or
 * ldapts: everything comes through the injected ports.
 */
import { errorMessage, StepFailedError } from './errors';
import type { HistoryState } from './history-store';
import { planUpgrade, type Plan } from './planner';
import { admitAll, type Admission, type RunResult, type StepResult } from './run-result';
import { applyPlan, asFailure, type ApplyOptions } from './step-application';
import type { Subsystem } from './step';

/** What the apply loop takes (step-application.ts), and what only the engine uses. */
export interface EngineOptions extends ApplyOptions {
  dryRun: boolean;
  /**
   * Called with the plan before anything is written; may narrow it (e.g. cluster safety checks
   * hold back cluster steps, each with its reason) or throw to refuse the run.
   */
  admit?(plan: Plan, state: HistoryState): Promise<Admission>;
  /** The database's subsystem: steps whose appliesTo leaves it out are not run. Undefined: unknown. */
  subsystem?: Subsystem;
  /** How the subsystem was decided (or why it is unknown), for the log. */
  subsystemBasis?: string;
}

/** A plan and the history it was made from. */
export interface Planned {
  plan: Plan;
  state: HistoryState;
}

export class UpgradeEngine {
  constructor(private readonly options: EngineOptions) {}

  async plan(): Promise<Planned> {
    const { steps, packageVersion, serverId, store, subsystem } = this.options;
    const state = await store.load();
    const plan = planUpgrade({ steps, state, packageVersion, serverId, subsystem });
    // Whether the history's own schema is still in force matters only to a run that writes (and a
    // look costs a run with nothing to do most of its time): check and status judge as run does.
    if ((plan.pending.length === 0 && !plan.needsBookkeeping) || !store.lostSchema) return { plan, state };
    state.schemaLost = await store.lostSchema(state);
    return { plan: state.schemaLost.length > 0 ? planUpgrade({ steps, state, packageVersion, serverId, subsystem }) : plan, state };
  }

  /**
   * `planned`: what plan() gave the caller a moment ago, nothing written since (under the run's
   * lock): not read again, so that a run with nothing to do reads the history once.
   */
  async run(planned?: Planned): Promise<RunResult> {
    const { logger, admit, dryRun } = this.options;
    let plan: Plan | undefined;
    try {
      planned ??= await this.plan();
      plan = planned.plan;
      for (const warning of plan.warnings) logger.warn(warning);
      this.logNotApplicable(plan);
      const admitted = admit ? await admit(plan, planned.state) : admitAll(plan);
      plan = admitted.plan;
      const held: StepResult[] = admitted.heldBack.map(({ step, reason }) => ({ step, outcome: 'held back', durationMs: 0, reason }));
      if (plan.pending.length === 0 && !plan.needsBookkeeping) {
        logger.info(`nothing to ${held.length > 0 ? 'apply now' : 'do'}: database at ${plan.databaseVersion}, package ${plan.packageVersion}`);
        return { plan, results: held, databaseVersion: plan.databaseVersion, dryRun };
      }
      const result = await (dryRun ? this.rehearse(plan) : applyPlan(this.options, plan, planned.state));
      return { ...result, results: [...result.results, ...held] };
    } catch (err) {
      // Reading the history, or the admission refusing the run (e.g. replication not ready).
      return { plan, results: [], databaseVersion: plan?.databaseVersion, dryRun, failure: asFailure(err) };
    }
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
}
