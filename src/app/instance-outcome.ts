/**
 * What an instance run's databases came to: each outcome's result for the status file, the exit
 * code when they differ, and the one-line summary dnf shows.
 */
import { seconds } from '../core/run-result';
import { DowngradeError, ExitCode, PkiDbUpgradeError, type ExitCodeValue } from '../core/errors';
import type { DatabaseOutcome, RunResult } from '../record/status-file';
import { heldBackText, indexBuildText } from '../report/run-report';

/**
 * The results that did not succeed, each with its exit code, in precedence order: when an
 * instance's databases differ, the first of this list present decides. An error's result is the
 * row of its exit code (its first row: a failure, not an interruption).
 */
const UNSUCCESSFUL: { result: RunResult; exitCode: ExitCodeValue; only?: (err: unknown) => boolean }[] = [
  { result: 'failed', exitCode: ExitCode.UpgradeFailed },
  { result: 'interrupted', exitCode: ExitCode.UpgradeFailed },
  { result: 'config-error', exitCode: ExitCode.UsageOrConfig, only: (err) => !(err instanceof DowngradeError) },
  // Left as it is, owed nothing by this package (recordRun): not a configuration to fix.
  { result: 'database-newer', exitCode: ExitCode.UsageOrConfig },
  { result: 'server-down', exitCode: ExitCode.ServerUnreachable },
  { result: 'waiting-for-replication', exitCode: ExitCode.ClusterNotReady },
  { result: 'replicating', exitCode: ExitCode.ReplicationPending },
];

export function overallResult(outcomes: DatabaseOutcome[]): { result: RunResult; exitCode: number } {
  for (const { result, exitCode } of UNSUCCESSFUL) if (outcomes.some((o) => o.result === result)) return { result, exitCode };
  return { result: outcomes.some((o) => o.result === 'upgraded') ? 'upgraded' : 'up-to-date', exitCode: ExitCode.Ok };
}

/** What an error means for the status file: the first row of its exit code that takes it ('failed' for any other). */
export function resultOf(err: unknown): RunResult {
  const exitCode = err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
  return UNSUCCESSFUL.find((r) => r.exitCode === exitCode && (r.only?.(err) ?? true))?.result ?? 'failed';
}

/** A database the run read and left as it was: up to date, no step run, no index built. */
export function foundNothingToDo(o: DatabaseOutcome): boolean {
  return o.result === 'up-to-date' && o.steps.length === 0 && o.indexBuild?.outcome !== 'built';
}

export function summarize(outcomes: DatabaseOutcome[], dryRun: boolean): string {
  const parts = outcomes.map((o) => {
    const total = o.steps.reduce((sum, s) => sum + s.durationMs, 0);
    const held = heldBackText(o.heldBack, o.heldBackReason) + backupText(o) + indexBuildText(o.indexBuild);
    switch (o.result) {
      case 'upgraded':
        // Only the index build of an earlier run's definitions (src/core/index-build.ts).
        if (o.steps.length === 0) return `${o.subsystem}: no step to apply, database at ${o.toVersion}${held}`;
        return o.fromVersion === o.toVersion
          ? `${o.subsystem}: ${o.steps.length} step(s) applied (${seconds(total)}), database still at ${o.toVersion}${held}`
          : `${o.subsystem} upgraded from ${o.fromVersion ?? '(untracked)'} to ${o.toVersion} (${o.steps.length} step(s), ${seconds(total)})${held}`;
      case 'up-to-date':
        if (dryRun) return `${o.subsystem}: dry-run, ${o.steps.length} step(s) would be applied${held}`;
        return held ? `${o.subsystem}: nothing applied, database at ${o.toVersion}${held}` : `${o.subsystem} up to date at ${o.toVersion}`;
      case 'server-down':
        return `${o.subsystem}: ${o.message}; upgrade pending`;
      case 'waiting-for-replication':
        return `${o.subsystem}: waiting for replication: ${o.message}; upgrade pending`;
      default:
        return `${o.subsystem}: ${o.message}${backupText(o)}`;
    }
  });
  return parts.join('; ') || 'no database';
}

/** Where the export taken before the first change is: the way back, for the administrator. */
function backupText(o: DatabaseOutcome): string {
  return o.backup ? `; backup taken first: ${o.backup}` : '';
}

/** Collapses a multi-line description (message + hint) for one-line consoles and status fields. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*→\s*/g, ' → ').replace(/\s*\n\s*/g, ' ');
}
