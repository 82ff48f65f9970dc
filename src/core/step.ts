/**
 * What an upgrade script is. Each file `upgrades/<version>/<NN>-<Name>.ts` default-exports
 * `defineStep({...})`; the build turns the folder into a registry of RegisteredSteps.
 */
import type { LdapSession } from './directory';
import type { Logger } from './logger';

/**
 * `cluster`: changes replicated data or schema (entries under the suffix, cn=schema): applied once
 * per cluster, by whichever server upgrades first. `server`: changes cn=config of one 389 DS
 * (indexes, VLV, plugins), which does not replicate: applied on every server.
 */
export type StepScope = 'cluster' | 'server';

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

export interface IndexHelper {
  /** Creates or completes index definitions of the backend; returns the attributes changed. */
  ensure(indexes: IndexSpec[]): Promise<string[]>;
  /** Runs a 389 DS index task for the attributes and waits for it to finish. */
  reindex(attributes: string[], options?: { timeoutMs?: number }): Promise<void>;
}

export interface DatabaseInfo {
  /** The PKI subsystem's base DN, e.g. o=pki-tomcat-CA. */
  suffix: string;
  /** The 389 DS backend holding the suffix, e.g. ca (for cn=config paths). */
  backend: string;
}

export interface StepContext {
  ldap: LdapSession;
  schema: SchemaHelper;
  indexes: IndexHelper;
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
   * False when servers still on the previous package may break once this change replicates
   * (seed: "changes must be backward compatible"). Default true.
   */
  backwardCompatible?: boolean;
  /** Set only by the step that installs the tracking schema: it runs before history exists. */
  installsTracking?: boolean;
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
  /** sha256 of the script source, to notice an applied script that was edited afterwards. */
  checksum: string;
}
