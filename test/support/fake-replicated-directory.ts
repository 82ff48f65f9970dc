/**
 * Suppliers of a replicated suffix, in memory, for the claim protocol's unit tests. Each server
 * applies local writes at once and another server's only when `replicate` runs, so a test decides
 * exactly what each side has seen. An add of a DN that already exists on the receiving side is
 * recorded as a replication conflict (389 DS would create an nsds5ReplConflict entry there).
 */
import {
  DirectoryEntry,
  LdapResultError,
  ResultCode,
  type AttributeMap,
  type LdapSession,
  type Modification,
  type SearchOptions,
} from '../../src/core/directory';

type Attrs = Map<string, string[]>;

type Op =
  | { kind: 'add'; dn: string; attrs: Attrs }
  | { kind: 'delete'; dn: string }
  | { kind: 'modify'; dn: string; changes: Modification[] };

export class FakeSupplier implements LdapSession {
  readonly entries = new Map<string, Attrs>();
  readonly log: Op[] = [];
  /** How many ops of each other server this one has applied. */
  readonly seen = new Map<FakeSupplier, number>();
  readonly conflicts: string[] = [];

  constructor(readonly url: string) {}

  async read(dn: string): Promise<DirectoryEntry | undefined> {
    const attrs = this.entries.get(key(dn));
    return attrs ? toEntry(dn, attrs) : undefined;
  }

  async search(base: string, options: SearchOptions = {}): Promise<DirectoryEntry[]> {
    const out: DirectoryEntry[] = [];
    for (const [dn, attrs] of this.entries) {
      const parent = dn.slice(dn.search(/(?<!\\),/) + 1);
      if ((options.scope === 'one' && parent === key(base)) || (options.scope === 'base' && dn === key(base))) out.push(toEntry(dn, attrs));
    }
    return out;
  }

  async *searchStream(base: string, options?: SearchOptions): AsyncIterable<DirectoryEntry> {
    for (const e of await this.search(base, options)) yield e;
  }

  async add(dn: string, attributes: AttributeMap): Promise<void> {
    if (this.entries.has(key(dn))) throw new LdapResultError(ResultCode.EntryAlreadyExists, 'add', dn, 'Already exists');
    const attrs: Attrs = new Map(Object.entries(attributes).map(([k, v]) => [k.toLowerCase(), (Array.isArray(v) ? v : [v]).map(String)]));
    this.commit({ kind: 'add', dn, attrs });
  }

  async delete(dn: string): Promise<void> {
    if (!this.entries.has(key(dn))) throw new LdapResultError(ResultCode.NoSuchObject, 'delete', dn, 'No such object');
    this.commit({ kind: 'delete', dn });
  }

  async modify(dn: string, changes: Modification[]): Promise<void> {
    const attrs = this.entries.get(key(dn));
    if (!attrs) throw new LdapResultError(ResultCode.NoSuchObject, 'modify', dn, 'No such object');
    for (const c of changes) {
      if (c.operation === 'delete' && c.values?.length) {
        const have = attrs.get(c.attribute.toLowerCase()) ?? [];
        if (!c.values.every((v) => have.includes(String(v)))) throw new LdapResultError(ResultCode.NoSuchAttribute, 'modify', dn, 'No such attribute');
      }
    }
    this.commit({ kind: 'modify', dn, changes });
  }

  async modifyDN(): Promise<void> {
    throw new Error('not used by these tests');
  }

  private commit(op: Op): void {
    apply(this, op);
    this.log.push(op);
  }

  /** Applies what `from` did since the last call (one direction). */
  receiveFrom(from: FakeSupplier): void {
    const start = this.seen.get(from) ?? 0;
    for (const op of from.log.slice(start)) apply(this, op, true);
    this.seen.set(from, from.log.length);
  }
}

/** Full exchange between every pair of suppliers. */
export function replicate(...servers: FakeSupplier[]): void {
  for (const to of servers) for (const from of servers) if (from !== to) to.receiveFrom(from);
}

function apply(server: FakeSupplier, op: Op, replicated = false): void {
  const dn = key(op.dn);
  if (op.kind === 'add') {
    if (replicated && server.entries.has(dn)) {
      server.conflicts.push(op.dn);
      return;
    }
    server.entries.set(dn, new Map([...op.attrs].map(([k, v]) => [k, [...v]])));
  } else if (op.kind === 'delete') {
    server.entries.delete(dn);
  } else {
    const attrs = server.entries.get(dn);
    if (!attrs) return;
    for (const c of op.changes) {
      const name = c.attribute.toLowerCase();
      const values = (c.values ?? []).map(String);
      if (c.operation === 'replace') attrs.set(name, values);
      else if (c.operation === 'add') attrs.set(name, [...(attrs.get(name) ?? []), ...values]);
      else attrs.set(name, values.length ? (attrs.get(name) ?? []).filter((v) => !values.includes(v)) : []);
    }
  }
}

function key(dn: string): string {
  return dn.toLowerCase();
}

function toEntry(dn: string, attrs: Attrs): DirectoryEntry {
  return new DirectoryEntry(dn, Object.fromEntries(attrs));
}
