/**
 * An in-memory directory for pure tests of bulk passes and of entry creation: entries under one
 * base, a predicate in place of the LDAP filter, writes that take a little time so that
 * concurrency can be observed. Adds, reads and value changes answer as 389 DS does (68 for an entry
 * that exists, 20 for a value that exists, only the attributes asked for).
 */
import { DirectoryEntry, LdapResultError, ResultCode, type AttributeMap, type LdapSession, type Modification, type SearchOptions } from '../../src/core/directory';

export class FakeDirectory {
  readonly entries = new Map<string, Record<string, string[]>>();
  /** Most modify operations in flight at once, over all sessions. */
  maxInFlight = 0;
  inFlight = 0;
  /** Search pages served, over all searches. */
  pagesServed = 0;
  writes: { dn: string; changes: Modification[]; session: string }[] = [];
  /** Entries added through a session (not by the test's own add()). */
  adds: { dn: string; session: string }[] = [];

  constructor(
    /** Stands in for the search filter. */
    readonly matches: (attrs: Record<string, string[]>) => boolean,
    readonly options: { writeDelayMs?: number; pageDelayMs?: number; failWrite?: (dn: string) => Error | undefined } = {},
  ) {}

  add(dn: string, attrs: Record<string, string[]>): void {
    this.entries.set(dn, attrs);
  }

  session(name: string): FakeSession {
    return new FakeSession(this, name);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class FakeSession implements LdapSession {
  readonly url = 'ldap://fake';
  closed = false;

  constructor(
    private readonly dir: FakeDirectory,
    readonly name: string,
  ) {}

  async search(base: string, options?: SearchOptions): Promise<DirectoryEntry[]> {
    const out: DirectoryEntry[] = [];
    for await (const e of this.searchStream(base, options)) out.push(e);
    return out;
  }

  async *searchStream(_base: string, options: SearchOptions = {}): AsyncIterable<DirectoryEntry> {
    // Like 389 DS, the candidate list is fixed when the search starts; entries are evaluated page by page.
    const candidates = [...this.dir.entries.keys()];
    const pageSize = options.pageSize ?? 500;
    for (let i = 0; i < candidates.length; i += pageSize) {
      await sleep(this.dir.options.pageDelayMs ?? 0);
      this.dir.pagesServed++;
      for (const dn of candidates.slice(i, i + pageSize)) {
        const attrs = this.dir.entries.get(dn);
        if (!attrs || !this.dir.matches(attrs)) continue;
        const wanted: AttributeMap = {};
        const only = options.attributes;
        if (!(only?.length === 1 && only[0] === '1.1')) {
          for (const [k, v] of Object.entries(attrs)) if (!only || only.some((a) => a.toLowerCase() === k.toLowerCase())) wanted[k] = [...v];
        }
        yield new DirectoryEntry(dn, wanted);
      }
    }
  }

  async read(dn: string, attributes?: string[]): Promise<DirectoryEntry | undefined> {
    const children = [...this.dir.entries.keys()].filter((child) => child.endsWith(`,${dn}`)).length;
    // The base of the entries need not be added: it exists when it has children.
    const attrs = this.dir.entries.get(dn) ?? (children > 0 ? {} : undefined);
    if (!attrs) return undefined;
    const only = attributes?.map((a) => a.toLowerCase());
    const found = Object.fromEntries(Object.entries(attrs).filter(([k]) => !only || only.includes(k.toLowerCase())).map(([k, v]) => [k, [...v]]));
    // Operational, as in 389 DS: sent only when asked for, absent without children.
    if (children > 0 && only?.includes('numsubordinates')) found.numSubordinates = [String(children)];
    return new DirectoryEntry(dn, found);
  }

  async add(dn: string, attributes: AttributeMap): Promise<void> {
    if (this.dir.entries.has(dn)) throw new LdapResultError(ResultCode.EntryAlreadyExists, 'add', dn, 'Already exists');
    this.dir.entries.set(dn, Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)])));
    this.dir.adds.push({ dn, session: this.name });
  }

  async modify(dn: string, changes: Modification[]): Promise<void> {
    this.dir.inFlight++;
    this.dir.maxInFlight = Math.max(this.dir.maxInFlight, this.dir.inFlight);
    try {
      await sleep(this.dir.options.writeDelayMs ?? 1);
      const failure = this.dir.options.failWrite?.(dn);
      if (failure) throw failure;
      const attrs = this.dir.entries.get(dn);
      if (!attrs) throw new LdapResultError(32, 'modify', dn, 'No such object');
      for (const c of changes) {
        const values = (c.values ?? []).map(String);
        const name = Object.keys(attrs).find((k) => k.toLowerCase() === c.attribute.toLowerCase()) ?? c.attribute;
        const have = attrs[name] ?? [];
        if (c.operation === 'replace') attrs[name] = values;
        else if (c.operation === 'add') {
          if (values.some((v) => have.some((h) => h.toLowerCase() === v.toLowerCase()))) throw new LdapResultError(ResultCode.AttributeOrValueExists, 'modify', dn, 'Type or value exists');
          attrs[name] = [...have, ...values];
        } else if (values.length === 0) delete attrs[name];
        else attrs[name] = have.filter((h) => !values.includes(h));
      }
      this.dir.writes.push({ dn, changes, session: this.name });
    } finally {
      this.dir.inFlight--;
    }
  }

  async delete(dn: string): Promise<void> {
    this.dir.entries.delete(dn);
  }

  async modifyDN(): Promise<void> {
    throw new Error('not used');
  }
}
