/**
 * The index builds a run owes: the last phase on each database, after its steps. Steps only define
 * indexes and VLV searches (IndexHelper.ensure, ensureVlv), each definition marked as not built
 * yet; the framework then builds every marked definition of the backend in one 389 DS index task,
 * so that a run whose steps define several indexes reads the backend's entries once, and marks left
 * by a run that was killed are built by whichever run comes next (even one with no step to apply).
 * A step is recorded done once its definitions are in place. Until the build they are held out of
 * searches (src/apply/index-marks.ts): 389 DS trusts an unbuilt index as built after a restart,
 * and a type added to an index in use at once, and searches through it miss the entries written
 * before. What stays exposed is a build interrupted by a restart of 389 DS (its definitions active
 * and marked), which the next run builds; test/support/mesh.ts restarts every server to check.
 */

/** What a database's backend owes: definitions not built yet, and a build of this tool running. */
export interface OwedIndexBuilds {
  /** Attribute indexes (their cn) and VLV indexes (their vlvIndex cn), in the backend's order. */
  owed: string[];
  /** Of those, the ones held out of searches until built (index-marks.ts): safe across a restart. */
  held: string[];
  /** Of those, the ones 389 DS has trusted as built since it restarted: searches through them miss entries now. */
  trusted: string[];
  /** Of those, VLV indexes whose definition changed in place: built by the first run after 389 DS restarts. */
  afterRestart: string[];
  /** This tool's index task still running on the backend (an interrupted run's), with its progress. */
  running?: { task: string; status: string };
}

export type IndexBuildResult =
  /** Nothing was owed. */
  | { outcome: 'none' }
  /**
   * Built in one task (`reused`: built by an earlier run's task while no run was watching;
   * `waiting`: VLV indexes whose definition changed, left for the first run after 389 DS restarts).
   */
  | { outcome: 'built'; names: string[]; reused: string[]; durationMs: number; waiting?: string[] }
  /** Dry-run: the task the run would start (recorded as LDIF). */
  | { outcome: 'planned'; names: string[]; waiting?: string[] }
  /** Left for a run by hand, as the administrator set it (`reason` says where). */
  | { outcome: 'deferred'; names: string[]; reason: string; waiting?: string[] };

export interface IndexBuildPort {
  /** Read only: what is owed (for status and check). */
  owed(): Promise<OwedIndexBuilds>;
  /** Builds what is owed, in one index task; throws when the task fails. */
  build(): Promise<IndexBuildResult>;
}
