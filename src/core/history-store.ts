/**
 * Where the engine records what it did. The LDAP implementation keeps it under the PKI suffix so
 * it replicates; tests may use an in-memory one.
 */
import type { StepScope } from './step';

export type Outcome = 'started' | 'done' | 'failed';

export interface StepRecord {
  stepId: string;
  version: string;
  scope: StepScope;
  description: string;
  checksum: string;
  /** Server that applied it (host:port of the 389 DS). */
  server: string;
  /** Package version of the tool that applied it. */
  packageVersion: string;
  startTime: Date;
  endTime?: Date;
  durationMs?: number;
  outcome: Outcome;
  /** Failure message (never a secret). */
  error?: string;
  /** False for a step that is not backward compatible (what a server on an older package checks). */
  backwardCompatible?: boolean;
  /** Set when an administrator recorded it by hand (mark-done): who, and why. */
  markedBy?: { actor: string; reason: string };
}

/** A change an administrator made to the history with a recovery command. */
export interface AuditEvent {
  action: 'mark-done' | 'forget';
  time: Date;
  stepId: string;
  scope: StepScope;
  /** The server of the record (server scope), or the one the command ran on (cluster scope). */
  server: string;
  /** User and host the command ran as. */
  actor: string;
  reason: string;
  /** What the record said before (forget), or what was written (mark-done). */
  detail: string;
}

export interface ServerRecord {
  server: string;
  packageVersion?: string;
  lastRun?: Date;
}

export interface HistoryState {
  /** False until the tracking schema and containers exist (a database never upgraded by this tool). */
  ready: boolean;
  /** Cluster-wide database version; undefined for a database never upgraded by this tool. */
  databaseVersion?: string;
  /** Cluster-scope records, by step id. */
  cluster: Map<string, StepRecord>;
  /** Server-scope records of every server, by server then step id. */
  servers: Map<string, Map<string, StepRecord>>;
  /** Per-server bookkeeping (installed package version), by server. */
  serverInfo: Map<string, ServerRecord>;
  /** What administrators changed by hand (mark-done, forget), oldest first. */
  audit: AuditEvent[];
  /**
   * The history's own steps recorded done whose definitions this server's cn=schema does not hold
   * (cn=schema is the server's, the history the database's: another suffix's older package, or a
   * restored schema file, may have put back a narrower one). They run again. Looked at only when
   * the plan has something to write (HistoryStore.lostSchema): empty otherwise.
   */
  schemaLost: string[];
}

export interface HistoryStore {
  load(): Promise<HistoryState>;
  /** Creates the containers; called once the tracking schema exists. Idempotent. */
  initialize(): Promise<void>;
  /** Writes or overwrites the record of one step (cluster or server scope by record.scope). */
  write(record: StepRecord): Promise<void>;
  setDatabaseVersion(version: string): Promise<void>;
  writeServer(record: ServerRecord): Promise<void>;
  /** Deletes the record of one step (forget): the step is then pending again. */
  remove(record: StepRecord): Promise<void>;
  /** Adds an audit event; needs the second tracking set (10.0.0/02-TrackingAudit). */
  writeAudit(event: AuditEvent): Promise<void>;
  /** The bookkeeping steps whose schema is not in force on this server (HistoryState.schemaLost); none when the store cannot lose it. */
  lostSchema?(state: HistoryState): Promise<string[]>;
}

export function emptyHistory(): HistoryState {
  return { ready: false, cluster: new Map(), servers: new Map(), serverInfo: new Map(), audit: [], schemaLost: [] };
}
