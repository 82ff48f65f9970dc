/**
 * Start mode (`--mode start`): the run the PKI server's unit makes before Tomcat starts
 * (packaging/systemd/pki-db-upgrade.conf, docs/operating.md "At service start"). The upgrade runs
 * as in %posttrans; what it came to decides only whether the server may start. During a rolling
 * upgrade a server not yet updated sees a database newer than its package: that is expected and
 * must not keep it down, unless the database holds a change this package does not ship and that
 * its record says is not backward compatible. Everything else (server down, lock held, a failed
 * step, a configuration error) starts with a warning: the next start, or the administrator, takes
 * it up, and a PKI server kept down by its upgrade tool helps nobody.
 */
import { ExitCode } from '../core/errors';
import type { DatabaseOutcome } from '../record/status-file';

export interface StartVerdict {
  /** The exit code of the ExecStartPre command: non-zero stops the start. */
  exitCode: number;
  /** The one line for the journal. */
  line: string;
  /** Whether the line reports a problem (stderr) or not (stdout). */
  warning: boolean;
}

export function startVerdict(outcomes: DatabaseOutcome[], runExitCode: number, summary: string): StartVerdict {
  const breaking = outcomes.filter((o) => (o.incompatible ?? []).length > 0);
  if (breaking.length > 0) {
    const what = breaking.map((o) => `${o.subsystem}: ${o.incompatible!.join(', ')}`).join('; ');
    return {
      exitCode: ExitCode.UsageOrConfig,
      line: `not starting: the database holds changes this package does not ship and that are not backward compatible (${what}); update the PKI packages on this server (dnf update pki-*), then start it`,
      warning: true,
    };
  }
  if (runExitCode === ExitCode.Ok) return { exitCode: ExitCode.Ok, line: summary, warning: false };
  return { exitCode: ExitCode.Ok, line: `starting anyway (exit ${runExitCode} left for later): ${summary}`, warning: true };
}
