/**
 * What an instance run's databases came to: each outcome's result for the status file, the exit
 * code when they differ, and the one-line summary dnf shows.
 */
import { seconds } from '../core/run-result';
import { ClusterNotReadyError, ExitCode, PkiDbUpgradeError, ReplicationPendingError, ServerUnreachableError } from '../core/errors';
import type { DatabaseOutcome, RunResult } from '../record/status-file';
import { heldBackText } from '../report/run-report';

/** Which outcome decides the exit code when databases differ: the first of this list present. */
const SEVERITY: [RunResult, number][] = [
  ['failed', ExitCode.UpgradeFailed],
  ['interrupted', ExitCode.UpgradeFailed],
  ['config-error', ExitCode.UsageOrConfig],
  ['server-down', ExitCode.ServerUnreachable],
  ['waiting-for-replication', ExitCode.ClusterNotReady],
  ['replicating', ExitCode.ReplicationPending],
];

export function overallResult(outcomes: DatabaseOutcome[]): { result: RunResult; exitCode: number } {
  for (const [result, exitCode] of SEVERITY) if (outcomes.some((o) => o.result === result)) return { result, exitCode };
  return { result: outcomes.some((o) => o.result === 'upgraded') ? 'upgraded' : 'up-to-date', exitCode: ExitCode.Ok };
}

/** What an error means for the status file (its exit code comes with the error). */
export function resultOf(err: unknown): RunResult {
  if (err instanceof ServerUnreachableError) return 'server-down';
  if (err instanceof ClusterNotReadyError) return 'waiting-for-replication';
  if (err instanceof ReplicationPendingError) return 'replicating';
  if (err instanceof PkiDbUpgradeError && err.exitCode === ExitCode.UsageOrConfig) return 'config-error';
  return 'failed';
}

export function summarize(outcomes: DatabaseOutcome[], dryRun: boolean): string {
  const parts = outcomes.map((o) => {
    const total = o.steps.reduce((sum, s) => sum + s.durationMs, 0);
    const held = heldBackText(o.heldBack, o.heldBackReason);
    switch (o.result) {
      case 'upgraded':
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
        return `${o.subsystem}: ${o.message}`;
    }
  });
  return parts.join('; ') || 'no database';
}

/** Collapses a multi-line description (message + hint) for one-line consoles and status fields. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*→\s*/g, ' → ').replace(/\s*\n\s*/g, ' ');
}
