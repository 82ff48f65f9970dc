/**
 * Decides what a run has to do, from the registry and the recorded history alone: pure, so that
 * `status`, `dry-run` and `run` agree on the plan and tests can state the rules directly.
 */
import { DowngradeError } from './errors';
import type { HistoryState, StepRecord } from './history-store';
import type { RegisteredStep, Subsystem } from './step';
import { compareVersions } from './version';

/** lost: recorded done, but what it installed is not in force on this server (HistoryState.schemaLost). */
export type PendingReason = 'new' | 'failed' | 'interrupted' | 'lost';

export interface PlannedStep {
  step: RegisteredStep;
  reason: PendingReason;
  /** The record that makes it pending again (failed or interrupted), if any. */
  previous?: StepRecord;
}

/**
 * A step for other subsystems than this database's (or for some, when the database's is unknown).
 * It is neither run nor recorded here, and counts as complete for the database version: what the
 * history would otherwise say about it ("done") would claim a change this database never had.
 * Since nothing is recorded, a database whose subsystem becomes known later (a run in instance
 * mode after one that could not tell) gets the step planned as new then.
 */
export interface NotApplicableStep {
  step: RegisteredStep;
  /** A record left by an earlier attempt (failed or interrupted), if any: it stays as it is. */
  previous?: StepRecord;
}

export interface Plan {
  packageVersion: string;
  databaseVersion?: string;
  serverId: string;
  pending: PlannedStep[];
  /** The subsystem the database was taken for; undefined: unknown. */
  subsystem?: Subsystem;
  /** Steps left out for this database's subsystem, in order (see NotApplicableStep). */
  notApplicable: NotApplicableStep[];
  /** Things an administrator should know that do not stop the run (edited scripts, unknown steps). */
  warnings: string[];
  /** The cluster version to record once every pending step is done. */
  targetVersion: string;
  /** True when the run has bookkeeping to write even with no step pending. */
  needsBookkeeping: boolean;
}

export interface PlanInput {
  steps: RegisteredStep[]; // ordered (see orderRegistry)
  state: HistoryState;
  packageVersion: string;
  serverId: string;
  /** The database's subsystem; undefined when unknown (only steps without appliesTo apply then). */
  subsystem?: Subsystem;
}

/** Whether `step` is for a database of `subsystem` (undefined: unknown). */
export function appliesTo(step: RegisteredStep, subsystem: Subsystem | undefined): boolean {
  return step.appliesTo === undefined || (subsystem !== undefined && step.appliesTo.includes(subsystem));
}

export function recordFor(state: HistoryState, step: RegisteredStep, serverId: string): StepRecord | undefined {
  return step.scope === 'cluster' ? state.cluster.get(step.id) : state.servers.get(serverId)?.get(step.id);
}

export function planUpgrade({ steps, state, packageVersion, serverId, subsystem }: PlanInput): Plan {
  refuseDowngrade(state, packageVersion, serverId, new Set(steps.map((s) => s.id)));

  const warnings: string[] = [];
  const pending: PlannedStep[] = [];
  const notApplicable: NotApplicableStep[] = [];
  for (const step of steps) {
    const previous = recordFor(state, step, serverId);
    // A step recorded done (e.g. by a release whose step guarded itself and did nothing) stays
    // what it is; any other is left out here.
    if (!appliesTo(step, subsystem) && previous?.outcome !== 'done') {
      notApplicable.push({ step, previous });
    } else if (!previous) {
      pending.push({ step, reason: 'new' });
    } else if (previous.outcome === 'failed') {
      pending.push({ step, reason: 'failed', previous });
    } else if (previous.outcome === 'started') {
      pending.push({ step, reason: 'interrupted', previous });
    } else if (state.schemaLost.includes(step.id)) {
      pending.push({ step, reason: 'lost', previous });
    } else if (previous.checksum !== step.checksum && !step.formerChecksums?.includes(previous.checksum)) {
      warnings.push(
        `step ${step.id} was applied (on ${previous.server}) from a script whose checksum was ${short(previous.checksum)}; ` +
          `this package ships ${short(step.checksum)}: the script was edited after it ran and will not run again`,
      );
    }
  }

  const known = new Set(steps.map((s) => s.id));
  const recorded = [...state.cluster.values(), ...(state.servers.get(serverId)?.values() ?? [])];
  for (const record of recorded) {
    if (!known.has(record.stepId) && record.outcome === 'done') {
      warnings.push(`step ${record.stepId} is recorded as applied but this package does not ship it`);
    }
  }

  const server = state.serverInfo.get(serverId);
  const needsBookkeeping =
    !state.ready ||
    state.databaseVersion === undefined ||
    compareVersions(state.databaseVersion, packageVersion) !== 0 ||
    server?.packageVersion !== packageVersion;

  return {
    packageVersion,
    databaseVersion: state.databaseVersion,
    serverId,
    pending,
    subsystem,
    notApplicable,
    warnings,
    targetVersion: packageVersion,
    needsBookkeeping,
  };
}

function refuseDowngrade(state: HistoryState, packageVersion: string, serverId: string, known: Set<string>): void {
  // Changes this package does not ship that say they break older servers (their records carry it):
  // done, or begun by a newer package (started or failed: some of it may be in force already).
  const breaking = [...state.cluster.values()].filter(
    (r) => !known.has(r.stepId) && r.backwardCompatible === false && (r.outcome === 'done' || compareVersions(r.version, packageVersion) > 0),
  );
  const incompatible = breaking.map((r) => `${r.stepId} (${r.outcome === 'done' ? 'applied' : `${r.outcome}, not finished,`} by ${r.server}, package ${r.packageVersion || 'unknown'})`);
  const breaks = incompatible.length
    ? `; it holds ${incompatible.join(', ')}, not backward compatible: this server's PKI cannot run on it until its packages are updated`
    : '';
  const db = state.databaseVersion;
  if (db !== undefined && compareVersions(db, packageVersion) > 0) {
    throw new DowngradeError(`the database is at version ${db}, newer than this package (${packageVersion}); refusing to touch it${breaks}`, whoIsNewer(state, packageVersion, serverId), incompatible);
  }
  // A step this package ships is not newer than it, whatever its version (the bookkeeping steps').
  for (const record of state.cluster.values()) {
    if (record.outcome === 'done' && !known.has(record.stepId) && compareVersions(record.version, packageVersion) > 0) {
      throw new DowngradeError(
        `step ${record.stepId} (version ${record.version}) was applied by ${record.server}, newer than this package (${packageVersion}); refusing to touch the database${breaks}`,
        'update the packages on this server to the version the other servers run',
        incompatible,
      );
    }
  }
  const begun = breaking.find((r) => r.outcome !== 'done');
  if (begun) {
    throw new DowngradeError(
      `step ${begun.stepId} (version ${begun.version}, not backward compatible) was begun by ${begun.server} with a package newer than this one (${packageVersion}); refusing to touch the database${breaks}`,
      'update the packages on this server to the version the other servers run',
      incompatible,
    );
  }
}

/** Who ran the newer package, as the history says: this server itself (a downgrade), or others. */
function whoIsNewer(state: HistoryState, packageVersion: string, serverId: string): string {
  const newer = [...state.serverInfo.values()].filter((s) => s.packageVersion !== undefined && compareVersions(s.packageVersion, packageVersion) > 0);
  const self = newer.find((s) => s.server === serverId);
  if (self) {
    return (
      `this server (${serverId}) itself recorded package ${self.packageVersion}${self.lastRun ? ` (its last run ${self.lastRun.toISOString()})` : ''}: ` +
      'the package was downgraded since; upgrade it again (dnf upgrade pki-*), or restore the database from a backup taken before that upgrade'
    );
  }
  if (newer.length > 0) return `${newer.map((s) => `${s.server} runs ${s.packageVersion}`).join(', ')}: update the packages on this server (dnf update pki-*)`;
  return 'a server with a newer PKI package upgraded it: update the packages on this server (dnf update pki-*) instead of downgrading';
}

/**
 * The cluster version once `done` holds: the highest release whose cluster steps, and those of every
 * earlier release, are all done (a step not applicable to the database counts as done: the caller's
 * `isDone` says so). A failed step therefore keeps the version below its release.
 */
export function reachedVersion(
  steps: RegisteredStep[],
  isDone: (step: RegisteredStep) => boolean,
  packageVersion: string,
  current?: string,
): string | undefined {
  let reached = current;
  // The bookkeeping steps belong to no release; their version counts only where a release has it.
  const releaseSteps = steps.filter((s) => s.scope === 'cluster' && (!s.bookkeeping || compareVersions(s.version, packageVersion) <= 0));
  const versions = [...new Set(releaseSteps.map((s) => s.version))].sort(compareVersions);
  for (const version of versions) {
    const complete = releaseSteps.filter((s) => s.version === version).every(isDone);
    if (!complete) return reached;
    if (reached === undefined || compareVersions(version, reached) > 0) reached = version;
  }
  // Every cluster step is done: the database is at the package's release, even when the last
  // releases shipped no cluster step.
  return packageVersion;
}

function short(checksum: string): string {
  return checksum.slice(0, 12);
}
