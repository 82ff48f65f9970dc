/**
 * The directory as upgrade steps and the history store see it: a small LDAP session interface.
 * The ldapts implementation lives in src/ldap/; the dry-run one records writes as LDIF instead.
 */

export type AttributeValue = string | Buffer;
export type AttributeMap = Record<string, AttributeValue | AttributeValue[]>;

export type Scope = 'base' | 'one' | 'sub';

export interface SearchOptions {
  scope?: Scope;
  /** RFC 4515 filter; defaults to (objectClass=*). */
  filter?: string;
  /** Attributes to return; default all user attributes. */
  attributes?: string[];
  /** Attributes whose values are returned as raw bytes (e.g. userCertificate;binary). */
  binaryAttributes?: string[];
  /** Page size of the simple paged results control (RFC 2696). */
  pageSize?: number;
  sizeLimit?: number;
  /**
   * Set for a search no index may serve, which reads every entry under its base (e.g. a filter on
   * an attribute whose index a run defined and has not built yet): no time limit is asked of the
   * server, and each page may take this long to come (a page of a scan that matches little
   * arrives only once the server has read that far). Otherwise the operation timeout bounds it.
   */
  scanTimeoutMs?: number;
}

export interface Modification {
  operation: 'add' | 'delete' | 'replace';
  attribute: string;
  /** For delete: no values removes the whole attribute. */
  values?: AttributeValue[];
}

/** A search result entry; attribute names are matched case-insensitively. */
export class DirectoryEntry {
  private readonly attrs = new Map<string, { name: string; values: AttributeValue[] }>();

  constructor(
    readonly dn: string,
    attributes: AttributeMap = {},
  ) {
    for (const [name, value] of Object.entries(attributes)) {
      const values = Array.isArray(value) ? value : [value];
      this.attrs.set(name.toLowerCase(), { name, values });
    }
  }

  has(name: string): boolean {
    return (this.attrs.get(name.toLowerCase())?.values.length ?? 0) > 0;
  }

  /** Values as text (binary values are decoded as UTF-8). */
  values(name: string): string[] {
    return (this.attrs.get(name.toLowerCase())?.values ?? []).map((v) =>
      typeof v === 'string' ? v : v.toString('utf8'),
    );
  }

  first(name: string): string | undefined {
    return this.values(name)[0];
  }

  buffers(name: string): Buffer[] {
    return (this.attrs.get(name.toLowerCase())?.values ?? []).map((v) =>
      typeof v === 'string' ? Buffer.from(v, 'utf8') : v,
    );
  }

  attributeNames(): string[] {
    return [...this.attrs.values()].map((a) => a.name);
  }
}

/** Operations an upgrade may perform. Writes are atomic per entry (389 DS has no transactions). */
export interface LdapSession {
  /** ldap://host:port of the server, for messages. */
  readonly url: string;
  /** Who the session acts as (bind DN), for messages about what it may not see or do. */
  readonly boundAs?: string;
  /** Whole result in memory: for small searches only. Use searchStream for repositories. */
  search(base: string, options?: SearchOptions): Promise<DirectoryEntry[]>;
  /** Paged search yielding entries one page at a time: constant memory over any result size. */
  searchStream(base: string, options?: SearchOptions): AsyncIterable<DirectoryEntry>;
  /** The entry at dn, or undefined when it does not exist. */
  read(dn: string, attributes?: string[], binaryAttributes?: string[]): Promise<DirectoryEntry | undefined>;
  add(dn: string, attributes: AttributeMap): Promise<void>;
  modify(dn: string, changes: Modification[]): Promise<void>;
  delete(dn: string): Promise<void>;
  /** Rename (newRdn like "cn=x") and optionally move under newSuperior. */
  modifyDN(dn: string, newRdn: string, newSuperior?: string): Promise<void>;
}

/** LDAP result codes the framework reacts to. */
export const ResultCode = {
  Success: 0,
  OperationsError: 1,
  SizeLimitExceeded: 4,
  NoSuchAttribute: 16,
  UndefinedAttributeType: 17,
  ConstraintViolation: 19,
  AttributeOrValueExists: 20,
  NoSuchObject: 32,
  InvalidCredentials: 49,
  InsufficientAccess: 50,
  Busy: 51,
  Unavailable: 52,
  UnwillingToPerform: 53,
  ObjectClassViolation: 65,
  EntryAlreadyExists: 68,
  Referral: 10,
} as const;

/** An LDAP operation that the server answered with a non-zero result code. */
export class LdapResultError extends Error {
  constructor(
    readonly code: number,
    readonly operation: string,
    readonly dn: string,
    serverMessage: string,
    /** Who the session is bound as (a DN, or e.g. "root by LDAPI autobind"), for advice on rights. */
    readonly boundAs?: string,
  ) {
    super(`${operation} ${dn} failed: LDAP result ${code}${serverMessage ? ` (${serverMessage})` : ''}`);
    this.name = 'LdapResultError';
  }
}

/**
 * What an administrator can do about an answer of the server, for the results a healthy upgrade
 * meets when the server or the account is not in the state it needs; undefined otherwise. The
 * caller adds what comes next (run again).
 */
export function adviceFor(err: unknown): string | undefined {
  if (!(err instanceof LdapResultError)) return undefined;
  switch (err.code) {
    case ResultCode.InsufficientAccess:
      return (
        `${err.boundAs ?? 'the bind DN'} lacks a right the upgrade needs (write access to the database, cn=schema and the ` +
        'backend configuration): use cn=Directory Manager as internaldb.ldapauth.bindDN, or run as root with LDAPI'
      );
    case ResultCode.Busy:
      return 'the server is busy: wait a while';
    case ResultCode.Unavailable:
      return 'the server is unavailable (starting or stopping?): wait until it answers normally';
    case ResultCode.UnwillingToPerform:
      return 'the server refuses writes to this database (read-only: nsslapd-readonly, or a task holding the backend): make it writable, or let the task finish';
    default:
      return undefined;
  }
}

export function hasResultCode(err: unknown, code: number): boolean {
  return err instanceof LdapResultError && err.code === code;
}
