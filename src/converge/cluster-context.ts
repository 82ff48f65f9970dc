/**
 * What a cluster run is given (the local session, how to reach the others, an engine factory),
 * its timing, and what it returns. Shared by the phases of cluster-run.ts and their helpers.
 */
import type { SchemaRollout } from '../apply/schema-helper';
import type { Clock } from '../core/clock';
import type { LdapSession } from '../core/directory';
import type { UpgradeEngine } from '../core/engine';
import type { Admission, RunResult } from '../core/run-result';
import type { Fence } from '../core/fence';
import type { HistoryState } from '../core/history-store';
import type { Logger } from '../core/logger';
import type { Plan } from '../core/planner';
import type { Connect } from './topology';

export interface ClusterTiming {
  /** Bound on every replication wait: in sync before, the claim exchange, delivery after. */
  replicationTimeoutMs: number;
  /** How long to wait for another server's upgrade (its live claim) to finish. */
  claimWaitMs: number;
  /** A claim not refreshed for this long belongs to a dead run. */
  staleClaimMs: number;
  heartbeatMs: number;
  pollMs: number;
  progressMs: number;
  /** An agreement in error is poked and given this long to succeed before the run refuses. */
  agreementRecheckMs: number;
}

export const DEFAULT_TIMING: ClusterTiming = {
  replicationTimeoutMs: 120_000,
  claimWaitMs: 60_000,
  staleClaimMs: 300_000,
  heartbeatMs: 30_000,
  pollMs: 100,
  progressMs: 5_000,
  agreementRecheckMs: 5_000,
};

export type Admit = (plan: Plan, state: HistoryState) => Promise<Admission>;

export interface EngineChoices {
  /** Narrows the plan (or refuses) before anything is written. */
  admit?: Admit;
  /** Schema steps write cn=schema on these peers too. */
  schemaRollout?: SchemaRollout;
  /** The cluster claim, verified before each step and each batch. */
  fence?: Fence;
}

export interface ClusterContext {
  suffix: string;
  /** The local server's name in the history. */
  serverId: string;
  packageVersion: string;
  local: LdapSession;
  /** Opens a session to a peer (same credentials as the local one). */
  connect: Connect;
  /**
   * Opens an anonymous session to a peer that `connect` has no credentials for (LDAPI autobind):
   * the run then decides from this server's view (local-view.ts).
   */
  observe?: Connect;
  /** A new engine on the local database (see EngineChoices). */
  makeEngine(options?: EngineChoices): UpgradeEngine;
  logger: Logger;
  clock: Clock;
  timing?: Partial<ClusterTiming>;
  /** Identifies this run in claims and freeze markers; random by default. */
  runId?: string;
}

export type ClaimState = 'not needed' | 'held' | 'backed off';

/** The engine's result (each step done, failed, planned or held back), and what the cluster run did around it. */
export interface ClusterRunResult extends RunResult {
  claim: ClaimState;
  /** Servers frozen during the run (manual mode), all thawed when it returned. */
  frozen: string[];
}
