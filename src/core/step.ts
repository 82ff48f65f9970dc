/**
 * What an upgrade script is. Each file `upgrades/<version>/<NN>-<Name>.ts` default-exports
 * `defineStep({...})`; the build turns the folder into a registry of RegisteredSteps.
 */
import type { DirectoryEntry, LdapSession, Modification } from './directory';
import type { Logger } from './logger';

/**
 * `cluster`: changes replicated data or schema (entries under the suffix, cn=schema): applied once
 * per cluster, by whichever server upgrades first. `server`: changes cn=config of one 389 DS
 * (indexes, VLV, plugins), which does not replicate: applied on every server.
 */
export type StepScope = 'cluster' | 'server';

/**
 * The Dogtag subsystems. Each keeps a database of its own (a base DN, usually in a backend of its
 * own), so a step about one subsystem's data has nothing to do on another's database.
 */
export const KNOWN_SUBSYSTEMS = ['ca', 'kra', 'ocsp', 'tks', 'tps', 'acme'] as const;
export type Subsystem = (typeof KNOWN_SUBSYSTEMS)[number];

export interface SchemaHelper {
  /** Adds or updates attribute types / object classes in cn=schema, matched by NAME. */
  ensure(definitions: { attributeTypes?: string[]; objectClasses?: string[] }): Promise<SchemaChange[]>;
  hasAttributeType(name: string): Promise<boolean>;
  hasObjectClass(name: string): Promise<boolean>;
}

export interface SchemaChange {
  kind: 'attributeTypes' | 'objectClasses';
  name: string;
  action: 'added' | 'replaced';
}

export interface IndexSpec {
  attribute: string;
  /** eq, pres, sub, approx */
  types: string[];
  matchingRules?: string[];
}

/**
 * A VLV (virtual list view) search of the backend and its indexes, as Dogtag's vlv.ldif defines
 * them: cn=<name>,cn=<backend>,cn=ldbm database,cn=plugins,cn=config with its vlvIndex entries.
 */
export interface VlvSearchSpec {
  /** cn of the vlvSearch entry, e.g. allRevokedCertsByIssuer-pki-tomcat. */
  name: string;
  base: string;
  scope: 'base' | 'one' | 'sub';
  filter: string;
  /** Its vlvIndex entries: cn, and the sort keys (vlvSort), e.g. "serialno". */
  indexes: { name: string; sort: string }[];
}

/**
 * Index and VLV definitions of the backend. Each definition added or changed is marked as not
 * built yet; the run builds every marked definition of the backend in one index task after its
 * steps (src/core/index-build.ts), so a step only says what the backend must define.
 */
export interface IndexHelper {
  /** Creates or completes index definitions of the backend; returns the attributes changed (to be built). */
  ensure(indexes: IndexSpec[]): Promise<string[]>;
  /**
   * Creates VLV searches and their indexes, or updates those defined otherwise; returns the names
   * of the vlvIndex entries to be built (changed, or left unbuilt by an earlier run).
   */
  ensureVlv(searches: VlvSearchSpec[]): Promise<string[]>;
}

export interface DatabaseInfo {
  /** The PKI subsystem's base DN, e.g. o=pki-tomcat-CA. */
  suffix: string;
  /** The 389 DS backend holding the suffix, e.g. ca (for cn=config paths). */
  backend: string;
  /** The subsystem the framework took the database for (src/pki/subsystem.ts); undefined: unknown. */
  subsystem?: Subsystem;
  /**
   * The PKI instance's id, as Dogtag names VLV searches after it ({instanceId}: allCerts-pki-tomcat).
   * Instance mode: the instance folder's name; direct mode: --instance-id. Undefined: unknown.
   */
  instanceId?: string;
  /**
   * The CA's issuer DN ({caIssuerDN}: the subject of its signing certificate, as issuerName holds
   * it). Instance mode: from ca.signing.cert in the CA's CS.cfg; direct mode: --ca-issuer-dn.
   * CS.cfg is the PKI user's: a step that puts this value in a filter (a VLV search in cn=config)
   * escapes it (escapeFilterValue, src/ldap/filter.ts), as any value from outside.
   */
  caIssuerDN?: string;
}

/**
 * One pass of changes over many entries (a data backfill): a paged search streamed in constant
 * memory, writes pipelined over a few connections, progress in the log.
 */
export interface BulkUpdateSpec {
  /** Names the pass in progress lines and errors, e.g. "issuerName backfill". */
  label: string;
  base: string;
  /** Default 'one' (the children of base, e.g. the records of a repository). */
  scope?: 'one' | 'sub';
  /**
   * Must select ONLY the entries that still need the change, so that entries already changed fall
   * out of it: this is what makes a pass resumable after a crash (nothing finished is redone) and a
   * second run cheap.
   */
  filter: string;
  attributes?: string[];
  /** Attributes returned as bytes, e.g. 'userCertificate;binary'. */
  binaryAttributes?: string[];
  /**
   * The changes for one entry, or undefined to leave it as it is. Throwing counts the entry as
   * failed (the pass goes on, then fails).
   */
  transform(entry: DirectoryEntry): Modification[] | undefined;
  /**
   * Writes outstanding at once, spread over the writer connections. Default 'auto': measured
   * during the pass (1 to 32), since whether pipelining pays depends on the server and its load.
   */
  concurrency?: number | 'auto';
  /** Entries per search page (default 500). */
  pageSize?: number;
  /**
   * The pass stops early once this many entries failed (default 20), so that a systematic error
   * (schema, access rights) is not repeated for every entry. Any failure fails the pass.
   */
  maxFailures?: number;
}

export interface BulkUpdateResult {
  /** Entries the search returned. */
  matched: number;
  /** Entries written (in dry-run: recorded as LDIF). */
  modified: number;
  /** Entries the transform chose to leave as they are. */
  unchanged: number;
  /** Entries deleted by someone else between the search and the write: nothing left to do. */
  vanished: number;
  durationMs: number;
}

export interface BulkUpdater {
  /** Runs the pass; throws BulkUpdateError when entries failed (after the others were written). */
  update(spec: BulkUpdateSpec): Promise<BulkUpdateResult>;
}

export interface StepContext {
  ldap: LdapSession;
  schema: SchemaHelper;
  indexes: IndexHelper;
  /** Large data backfills: use this rather than a loop of ldap.modify. */
  bulk: BulkUpdater;
  database: DatabaseInfo;
  logger: Logger;
  /** True in dry-run: writes are recorded as LDIF, not applied. Long waits should be skipped. */
  dryRun: boolean;
}

export interface StepDefinition {
  /** One line for status, history and the log: what the step changes, for an administrator. */
  description: string;
  scope: StepScope;
  /**
   * False when servers still on the previous package may break once this change replicates: the
   * step is then held back until every server runs a package that ships it (docs/cluster.md, "The
   * fully automated mode"). Default true.
   */
  backwardCompatible?: boolean;
  /**
   * The subsystems whose databases the step is for, e.g. ['ca'] for a step about certificate
   * records; omitted: every subsystem. The framework, not the step, leaves it out on the database
   * of another subsystem, or of a subsystem it cannot tell (src/pki/subsystem.ts): there it is not
   * run and not recorded (it did nothing there), and the database version moves past it.
   */
  appliesTo?: Subsystem[];
  /**
   * Checksums this step was recorded with in earlier releases, when it has changed since without
   * changing what it does (a new declaration, a helper moved, the checksum rule itself): a database
   * whose record holds one of them is not warned about (as Liquibase's validCheckSum). Any other
   * checksum still warns. Take them from the release that shipped them (the history's
   * pkiDbUpgradeChecksum, or the registry that release generated), never from the edited file.
   */
  formerChecksums?: string[];
  /** Must be idempotent: check, then change. It may be re-run after a crash or a failure. */
  upgrade(ctx: StepContext): Promise<void>;
}

export function defineStep(definition: StepDefinition): StepDefinition {
  return definition;
}

/** A step as the engine knows it, with the identity the build derives from its path. */
export interface RegisteredStep extends StepDefinition {
  /** "<version>/<NN>-<Name>", e.g. "10.5.0/01-IssuerNameBackfill". */
  id: string;
  version: string;
  index: number;
  name: string;
  /**
   * sha256 of the step's file and of the project files it imports (packaging/generate-registry.mjs
   * says which), to notice an applied step that was changed afterwards.
   */
  checksum: string;
  /**
   * Set on the steps the history store brings for its own schema (src/record/tracking-steps.ts),
   * never on a shipped step: they run first, before the history exists, and belong to no release.
   */
  bookkeeping?: true;
}
