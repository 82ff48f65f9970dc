/**
 * What a run returns, its one result channel (as kysely's Migrator): each step the run considered
 * with its outcome, and the run's failure if it had one, whatever its cause (a step that failed,
 * the server gone, the claim lost, a refusal before anything was written). Never thrown.
 */
import type { PkiDbUpgradeError } from './errors';
import type { IndexBuildResult } from './index-build';
import type { Plan } from './planner';
import type { RegisteredStep } from './step';

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
  /** Undefined only when the run failed before it could plan (e.g. the history could not be read). */
  plan?: Plan;
  results: StepResult[];
  /** Database version after the run (unchanged in dry-run). */
  databaseVersion?: string;
  dryRun: boolean;
  /** Why the run stopped short; its exitCode is the run's. */
  failure?: PkiDbUpgradeError;
  /** Where the backup taken before the first change is (BackupPort), when one was taken. */
  backup?: string;
  /** The index builds after the steps (src/core/index-build.ts); absent when the run stopped before them. */
  indexBuild?: IndexBuildResult;
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

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}
