/**
 * Adds or updates schema in cn=schema: idempotent, matched by NAME, on every server of the
 * database that the run reaches, each checked afterwards.
 *
 * Why every server, when cn=schema replicates: 389 DS pushes a supplier's schema only at the
 * start of a replication session that has entries to send, and only when the supplier's schema is
 * a superset of the consumer's (docs/schema-replication.md). Until then, entries that use the new
 * definitions reach servers that do not know them (replicated modifies of such entries are flagged
 * "Schema violation" conflicts), and a stricter definition is learned back from the consumers and
 * reverts. Written on every server, the definitions are in force everywhere before the step is
 * recorded, and the later pushes carry identical schema.
 *
 * Written only when replication is quiet, the other servers first: every session starts with a
 * schema check, and one that starts from a server not yet written to a server already written logs
 * "must not be overwritten" and learns the definitions instead (the run's own last write, e.g. the
 * step's `started` record, sets off such sessions on every server).
 *
 * A run that can read the others only anonymously (local credentials) writes this server alone and
 * lets replication carry the schema, reading each server back (SchemaRollout.observed).
 */
import { systemClock, type Clock } from '../core/clock';
import type { LdapSession, Modification } from '../core/directory';
import type { Logger } from '../core/logger';
import type { SchemaChange, SchemaHelper } from '../core/step';
import { replicableReplacement } from './replicable-schema';
import { parseDefinition, sameDefinition } from './schema-definition';

type Kind = 'attributeTypes' | 'objectClasses';
const KINDS: Kind[] = ['attributeTypes', 'objectClasses'];

type Definitions = { attributeTypes?: string[]; objectClasses?: string[] };

/** A server whose cn=schema a step changes: the local one, or a peer of the cluster. */
export interface SchemaServer {
  /** The server's name in the history (host:port). */
  id: string;
  session: LdapSession;
}

/** What one server must hold once ensure() is done: the text written there, by kind and name. */
type Expected = Map<string, { kind: Kind; name: string; text: string }>;

/** Attempts to write and check the schema on every server before the step fails. */
const ATTEMPTS = 3;
/** How long replication gets to carry the schema to a server this run can only read, and how often it is set off. */
const PUSH_WAIT_MS = 20_000;
const PUSH_AGAIN_MS = 2_000;

/** The other servers of the cluster, and how to wait until no replication session is about to start. */
export interface SchemaRollout {
  peers: SchemaServer[];
  /**
   * Servers this run can only read (anonymously: local credentials only). 389 DS carries the
   * schema there: `push` writes something replicated, which starts a session from this server to
   * each, and each session begins by pushing this server's schema to a consumer holding a subset.
   */
  observed?: SchemaServer[];
  push?(): Promise<void>;
  quiesce(): Promise<void>;
  /**
   * This server still has changes to send (to frozen peers, which refuse them and are retried):
   * its sessions go on, so it is written first, and is never the one lacking the definitions.
   */
  localFirst(): boolean;
}

export interface SchemaHelperOptions {
  local: SchemaServer;
  /** Replicated: the other servers are written too. */
  rollout?: SchemaRollout;
  logger?: Logger;
  /** Writes are only recorded: nothing to check afterwards. */
  dryRun?: boolean;
  clock?: Clock;
}

export class LdapSchemaHelper implements SchemaHelper {
  private readonly local: SchemaServer;
  private readonly servers: SchemaServer[];
  private readonly rollout?: SchemaRollout;
  private readonly logger?: Logger;
  private readonly dryRun: boolean;
  private readonly clock: Clock;

  constructor(options: SchemaHelperOptions) {
    this.local = options.local;
    this.rollout = options.rollout;
    this.servers = [options.local, ...(options.rollout?.peers ?? [])];
    this.logger = options.logger;
    this.dryRun = options.dryRun ?? false;
    this.clock = options.clock ?? systemClock;
  }

  async ensure(definitions: Definitions): Promise<SchemaChange[]> {
    let localChanges: SchemaChange[] | undefined;
    let missing: string[] = [];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (!this.dryRun) await this.rollout?.quiesce();
      // The others first, at once, then this server. Meanwhile only a session from a server that
      // lacks the definitions to one that has them would fail its schema check: the others have
      // nothing to send once replication is quiet, and this server, the only one lacking them at
      // the end, sends nothing until this run writes again.
      // Every server read first, then the writes issued together: the moments when one server
      // holds the definitions and another not yet are as short as the writes themselves.
      const planned = await Promise.all(this.servers.map((server) => planOn(server.session, definitions)));
      const writePeers = () => Promise.all(this.servers.slice(1).map((server, i) => applyOn(server.session, planned[i + 1])));
      if (this.rollout?.localFirst()) {
        await applyOn(this.local.session, planned[0]);
        await writePeers();
      } else {
        await writePeers();
        await applyOn(this.local.session, planned[0]);
      }
      const expected = new Map<SchemaServer, Expected>();
      this.servers.forEach((server, i) => {
        const { changes, holds } = planned[i];
        expected.set(server, holds);
        if (server === this.local) localChanges ??= changes;
        else if (changes.length > 0) this.logger?.info(`cn=schema of ${server.id}: ${describe(changes)}`);
      });
      if (this.dryRun) return localChanges ?? [];
      missing = [];
      for (const [server, holds] of expected) missing.push(...(await notHeld(server, holds)));
      if (missing.length === 0) missing.push(...(await this.pushedToObserved(expected.get(this.local)!)));
      if (missing.length === 0) return localChanges ?? [];
      this.logger?.warn(`schema not in force after writing it (attempt ${attempt} of ${ATTEMPTS}): ${missing.join('; ')}`);
    }
    throw new Error(
      `the schema written does not hold: ${missing.join('; ')}. A server replaced it, e.g. by learning an older definition ` +
        'from a replication peer that this run does not reach (see the errors log: "must not be overwritten")',
    );
  }

  /** Until each observed server holds what this server holds (or PUSH_WAIT_MS); what is still missing. */
  private async pushedToObserved(holds: Expected): Promise<string[]> {
    const observed = this.rollout?.observed ?? [];
    if (observed.length === 0) return [];
    const { clock } = this;
    const deadline = clock.monotonicMs() + PUSH_WAIT_MS;
    let nextPush = 0;
    for (;;) {
      if (clock.monotonicMs() >= nextPush) {
        await this.rollout!.push?.();
        nextPush = clock.monotonicMs() + PUSH_AGAIN_MS;
      }
      const missing = (await Promise.all(observed.map((server) => notHeld(server, holds)))).flat();
      if (missing.length === 0) {
        this.logger?.info(`cn=schema of ${observed.map((s) => s.id).join(', ')}: received from ${this.local.id} by replication`);
        return [];
      }
      if (clock.monotonicMs() >= deadline) return missing;
      await clock.sleep(100);
    }
  }

  async hasAttributeType(name: string): Promise<boolean> {
    return (await definitionsOn(this.local.session, 'attributeTypes', [name])).has(name.toLowerCase());
  }

  async hasObjectClass(name: string): Promise<boolean> {
    return (await definitionsOn(this.local.session, 'objectClasses', [name])).has(name.toLowerCase());
  }
}

interface Planned {
  changes: SchemaChange[];
  holds: Expected;
  /** One modify per kind, attribute types first: object classes may name them. */
  writes: Modification[][];
}

/** What one server lacks: the writes, what they change, and the text each definition must read. */
async function planOn(ldap: LdapSession, definitions: Definitions): Promise<Planned> {
  const changes: SchemaChange[] = [];
  const holds: Expected = new Map();
  const writes: Modification[][] = [];
  // Attribute types first: object classes may name them.
  for (const kind of KINDS) {
    const wanted = definitions[kind] ?? [];
    if (wanted.length === 0) continue;
    const existing = await definitionsOn(ldap, kind, wanted.map((text) => parseDefinition(text).names[0] ?? ''));
    const mods: Modification[] = [];
    for (const text of wanted) {
      const name = parseDefinition(text).names[0];
      if (!name) throw new Error(`schema definition without NAME: ${text}`);
      const present = existing.get(name.toLowerCase());
      const target = present ? replicableReplacement(present, text) : text;
      holds.set(`${kind}:${name.toLowerCase()}`, { kind, name, text: target });
      if (!present) {
        mods.push({ operation: 'add', attribute: kind, values: [target] });
        changes.push({ kind, name, action: 'added' });
      } else if (!sameDefinition(parseDefinition(present), parseDefinition(target))) {
        // 389 DS replaces a definition when the old value is deleted and the new one added in
        // the same modify.
        mods.push({ operation: 'delete', attribute: kind, values: [present] });
        mods.push({ operation: 'add', attribute: kind, values: [target] });
        changes.push({ kind, name, action: 'replaced' });
      }
    }
    if (mods.length > 0) writes.push(mods);
  }
  return { changes, holds, writes };
}

async function applyOn(ldap: LdapSession, planned: Planned): Promise<void> {
  for (const mods of planned.writes) await ldap.modify('cn=schema', mods);
}

/** The definitions a server does not hold as expected, each named with the server. */
async function notHeld(server: SchemaServer, holds: Expected): Promise<string[]> {
  const out: string[] = [];
  for (const kind of KINDS) {
    const expected = [...holds.values()].filter((h) => h.kind === kind);
    if (expected.length === 0) continue;
    const stored = await definitionsOn(server.session, kind, expected.map((h) => h.name));
    for (const { name, text } of expected) {
      const present = stored.get(name.toLowerCase());
      if (!present) out.push(`${server.id} lacks ${kind} ${name}`);
      else if (!sameDefinition(parseDefinition(present), parseDefinition(text))) out.push(`${server.id} holds ${name} as ${present}`);
    }
  }
  return out;
}

/**
 * Stored definitions by lower-case name (every NAME of a definition maps to it), of those whose
 * text mentions one of `names`: cn=schema holds thousands, and only these are parsed.
 */
export async function definitionsOn(ldap: LdapSession, kind: Kind, names: string[]): Promise<Map<string, string>> {
  const entry = await ldap.read('cn=schema', [kind]);
  const wanted = names.map((n) => `'${n.toLowerCase()}'`);
  const byName = new Map<string, string>();
  for (const text of entry?.values(kind) ?? []) {
    if (!wanted.some((n) => text.toLowerCase().includes(n))) continue;
    for (const name of parseDefinition(text).names) byName.set(name.toLowerCase(), text);
  }
  return byName;
}

function describe(changes: SchemaChange[]): string {
  return changes.map((c) => `${c.action} ${c.name}`).join(', ');
}
