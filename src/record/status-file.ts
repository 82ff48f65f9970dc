/**
 * The last run of an instance, as JSON in /var/lib/pki-db-upgrade/<instance>/status.json, so a
 * failure during `dnf update` (a 389 DS that is down, for one: docs/rpm.md, "What happens on `dnf
 * update`") is noticed without reading the log, and `status` can say so even while the 389 DS is
 * down (docs/operating.md, "Log, console, status file"). `pending` says an upgrade is still owed: set when a
 * run failed, was skipped (auto_upgrade = false) or could not reach the server; cleared by a run
 * that left every database up to date.
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../files/make-dirs';

/**
 * `waiting-for-replication`: cluster-scope steps refused until replication is ready (exit 5, still
 * owed); `replicating`: applied here, not yet on every server (exit 6, nothing owed here);
 * `database-newer`: a newer package upgraded the database, left as it is (exit 2, nothing owed).
 */
export type RunResult =
  | 'upgraded'
  | 'up-to-date'
  | 'failed'
  | 'skipped'
  | 'server-down'
  | 'interrupted'
  | 'config-error'
  | 'database-newer'
  | 'waiting-for-replication'
  | 'replicating';

export interface DatabaseOutcome {
  subsystem: string;
  baseDN: string;
  url?: string;
  result: RunResult;
  fromVersion?: string | null;
  toVersion?: string | null;
  steps: { id: string; outcome: string; durationMs: number; error?: string }[];
  /** Steps this run left for a later one (not backward compatible yet, another server's claim). */
  heldBack?: string[];
  heldBackReason?: string;
  message?: string;
  /** The export taken before the first change (a path on the 389 DS host). */
  backup?: string;
  /** The index builds after the steps, when there were any: built, deferred (index_builds = manual), planned (dry-run). */
  indexBuild?: { outcome: 'built' | 'deferred' | 'planned'; names: string[]; waiting?: string[] };
  /** Database newer than the package: the changes it holds that break this package (start mode stops on them). */
  incompatible?: string[];
}

export interface RunStatus {
  instance: string;
  packageVersion: string;
  mode: string;
  pid: number;
  startTime: string;
  endTime?: string;
  result: RunResult | 'running';
  exitCode?: number;
  message?: string;
  logFile?: string;
  databases: DatabaseOutcome[];
}

export interface StatusFile {
  lastRun?: RunStatus;
  pending?: { since: string; reason: string; packageVersion: string };
}

export const STATUS_FILE_NAME = 'status.json';

export function statusFilePath(stateDir: string): string {
  return path.join(stateDir, STATUS_FILE_NAME);
}

export function readStatusFile(stateDir: string): StatusFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(statusFilePath(stateDir), 'utf8')) as StatusFile;
  } catch {
    return undefined;
  }
}

/** Synchronous (it is also called from a signal handler) and atomic (temporary file + rename). */
export function writeStatusFile(stateDir: string, status: StatusFile): void {
  makeDirs(stateDir, 0o700);
  const file = statusFilePath(stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(status, null, 2) + '\n', { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** Records a finished run: `pending` stays (keeping its first date) until a run leaves all databases current. */
export function recordRun(stateDir: string, run: RunStatus): StatusFile {
  const previous = readStatusFile(stateDir);
  // A database newer than the package: this package owes it nothing.
  // Held-back steps, and index builds left for a run by hand (index_builds = manual), are owed too.
  const owed =
    !['upgraded', 'up-to-date', 'replicating', 'database-newer'].includes(run.result) ||
    run.databases.some((d) => (d.heldBack?.length ?? 0) > 0 || d.indexBuild?.outcome === 'deferred' || (d.indexBuild?.waiting?.length ?? 0) > 0);
  const status: StatusFile = {
    lastRun: run,
    pending: owed
      ? {
          since: previous?.pending?.since ?? run.endTime ?? run.startTime,
          reason: run.message ?? run.result,
          packageVersion: run.packageVersion,
        }
      : undefined,
  };
  writeStatusFile(stateDir, status);
  return status;
}
