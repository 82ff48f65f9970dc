/**
 * Schema steps on several servers (src/apply/schema-helper.ts), against servers whose cn=schema
 * is a list of definitions in memory: what is written where, in which order, and what happens when
 * a server does not keep what was written (389 DS learning an older definition back).
 */
import { DirectoryEntry, type LdapSession, type Modification } from '../../src/core/directory';
import { LdapSchemaHelper } from '../../src/apply/schema-helper';

const OLD = "( rec-oid NAME 'rec' SUP top STRUCTURAL MUST cn MAY ( issuerName $ sn ) )";
const STRICT = "( rec-oid NAME 'rec' SUP top STRUCTURAL MUST ( cn $ issuerName ) MAY sn )";
const ATTR = "( issuerName-oid NAME 'issuerName' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )";

class SchemaServer {
  objectClasses = [OLD];
  attributeTypes = [ATTR];
  /** Puts back the old definition after this many writes (as a learning peer would). */
  revertAfterWrites?: number;
  writes = 0;

  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {}

  session(): LdapSession {
    return {
      url: `ldap://${this.name}`,
      read: async (_dn: string, attrs?: string[]) => new DirectoryEntry('cn=schema', Object.fromEntries((attrs ?? []).map((a) => [a, [...this[a as 'objectClasses']]]))),
      modify: async (_dn: string, mods: Modification[]) => {
        this.log.push(this.name);
        for (const m of mods) {
          const list = this[m.attribute as 'objectClasses'];
          if (m.operation === 'delete') this[m.attribute as 'objectClasses'] = list.filter((v) => !m.values!.includes(v));
          else this[m.attribute as 'objectClasses'] = [...this[m.attribute as 'objectClasses'], ...(m.values as string[])];
        }
        if (++this.writes === this.revertAfterWrites) this.objectClasses = [OLD];
      },
    } as unknown as LdapSession;
  }
}

function cluster() {
  const order: string[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new SchemaServer(n, order));
  const quiesced: string[] = [];
  const helper = new LdapSchemaHelper({
    local: { id: 'a', session: a.session() },
    rollout: { peers: [b, c].map((s) => ({ id: s.name, session: s.session() })), quiesce: async () => void quiesced.push(`quiet before write ${order.length}`), localFirst: () => false },
  });
  return { a, b, c, order, quiesced, helper };
}

describe('a schema step on a replicated database', () => {
  it('writes every server, the others before this one, once replication is quiet, and reports what changed here', async () => {
    const { a, b, c, order, quiesced, helper } = cluster();
    const changes = await helper.ensure({ objectClasses: [STRICT] });
    expect(changes).toEqual([{ kind: 'objectClasses', name: 'rec', action: 'replaced' }]);
    expect(quiesced).toEqual(['quiet before write 0']);
    expect(order.slice(-1)).toEqual(['a']);
    expect([...order].sort()).toEqual(['a', 'b', 'c']);
    // The stricter class keeps issuerName in MAY too, on every server alike.
    for (const s of [a, b, c]) expect(s.objectClasses).toEqual(["( rec-oid NAME 'rec' SUP top STRUCTURAL MUST ( cn $ issuerName ) MAY ( sn $ issuerName ) )"]);
  });

  it('writes nothing where the definitions already hold, and nothing at all on a second run', async () => {
    const { b, order, helper } = cluster();
    b.objectClasses = ["( rec-oid NAME 'rec' SUP top STRUCTURAL MUST ( cn $ issuerName ) MAY ( sn $ issuerName ) X-ORIGIN 'user defined' )"];
    await helper.ensure({ objectClasses: [STRICT] });
    expect([...order].sort()).toEqual(['a', 'c']);
    order.length = 0;
    expect(await helper.ensure({ objectClasses: [STRICT] })).toEqual([]);
    expect(order).toEqual([]);
  });

  it('writes again when a server did not keep the definition, and fails naming it when it never does', async () => {
    const once = cluster();
    once.c.revertAfterWrites = 1;
    await once.helper.ensure({ objectClasses: [STRICT] });
    expect(once.order.filter((n) => n === 'c')).toHaveLength(2);
    expect(once.c.objectClasses[0]).toContain('MUST ( cn $ issuerName )');

    const never = cluster();
    never.c.revertAfterWrites = 1;
    const session = never.c.session();
    const modify = session.modify.bind(session);
    // Every write is undone at once, as by a peer that keeps teaching the old definition.
    never.c.session = () => ({ ...session, modify: async (dn: string, mods: Modification[]) => { await modify(dn, mods); never.c.objectClasses = [OLD]; } }) as LdapSession;
    const helper = new LdapSchemaHelper({
      local: { id: 'a', session: never.a.session() },
      rollout: { peers: [never.b, never.c].map((s) => ({ id: s.name, session: s.session() })), quiesce: async () => undefined, localFirst: () => false },
    });
    await expect(helper.ensure({ objectClasses: [STRICT] })).rejects.toThrow(/the schema written does not hold: c holds rec as .*MAY \( issuerName \$ sn \)/);
  });

  it('with local credentials only: writes this server alone, sets replication off, and is done once the others read the same', async () => {
    const order: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new SchemaServer(n, order));
    const pushes: string[] = [];
    const helper = new LdapSchemaHelper({
      local: { id: 'a', session: a.session() },
      rollout: {
        peers: [],
        observed: [b, c].map((s) => ({ id: s.name, session: s.session() })),
        // What 389 DS does at the start of the session a write sets off: the supplier's schema goes to each consumer.
        push: async () => {
          pushes.push('push');
          if (pushes.length === 2) for (const s of [b, c]) s.objectClasses = [...a.objectClasses];
        },
        quiesce: async () => undefined,
        localFirst: () => false,
      },
    });
    await helper.ensure({ objectClasses: [STRICT] });
    expect(order).toEqual(['a']);
    expect(pushes.length).toBe(2);
    expect(b.objectClasses).toEqual(a.objectClasses);
    expect(c.objectClasses.join()).toMatch(/MUST \( cn \$ issuerName \)/);
  });
});
