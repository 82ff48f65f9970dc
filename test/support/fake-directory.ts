/**
 * An in-memory directory for pure tests of bulk passes: entries under one base, a predicate in
 * place of the LDAP filter, writes that take a little time so that concurrency can be observed.
 */
import { DirectoryEntry, LdapResultError, type AttributeMap, type LdapSession, type Modification, type SearchOptions } from '../../src/core/directory';

export class FakeDirectory {
  readonly entries = new Map<string, Record<string, string[]>>();
  /** Most modify operations in flight at once, over all sessions. */
  maxInFlight = 0;
  inFlight = 0;
  /** Search pages served, over all searches. */
  pagesServed = 0;
  writes: { dn: string; changes: Modification[]; session: string }[] = [];

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

  async read(dn: string): Promise<DirectoryEntry | undefined> {
    const attrs = this.dir.entries.get(dn);
    return attrs ? new DirectoryEntry(dn, attrs) : undefined;
  }

  async add(dn: string, attributes: AttributeMap): Promise<void> {
    this.dir.entries.set(dn, Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)])));
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
        if (c.operation === 'replace' || c.operation === 'add') attrs[c.attribute] = (c.values ?? []).map(String);
        else delete attrs[c.attribute];
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
