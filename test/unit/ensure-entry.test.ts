import { LdapResultError, ResultCode, type AttributeMap, type DirectoryEntry } from '../../src/core/directory';
import { LdapIndexHelper, PENDING_BUILD } from '../../src/apply/index-helper';
import { DryRunSession } from '../../src/ldap/dry-run-session';
import { ensureEntry } from '../../src/ldap/ensure-entry';
import { LdapHistoryStore } from '../../src/record/ldap-history-store';
import { FakeDirectory, FakeSession } from '../support/fake-directory';

const DN = 'cn=thing,o=test';
const THING = { objectClass: ['top', 'nsIndex'], cn: 'thing', nsIndexType: ['eq', 'pres'] };

function directory() {
  return new FakeDirectory(() => true, { writeDelayMs: 0 });
}

/** A session on which another writer creates `dn` between our read and our add. */
class RacedSession extends FakeSession {
  constructor(
    private readonly fake: FakeDirectory,
    private readonly rival: AttributeMap,
  ) {
    super(fake, 'raced');
  }
  override async add(dn: string, attributes: AttributeMap): Promise<void> {
    if (!this.fake.entries.has(dn)) await this.fake.session('rival').add(dn, this.rival);
    return super.add(dn, attributes);
  }
}

describe('ensureEntry', () => {
  it('adds a missing entry with the attributes given', async () => {
    const dir = directory();
    expect(await ensureEntry(dir.session('s'), DN, THING)).toEqual({ action: 'added' });
    expect(dir.entries.get(DN)).toEqual({ objectClass: ['top', 'nsIndex'], cn: ['thing'], nsIndexType: ['eq', 'pres'] });
    expect(dir.adds).toEqual([{ dn: DN, session: 's' }]);
  });

  it('leaves an existing entry exactly as it is, and writes nothing', async () => {
    const dir = directory();
    dir.add(DN, { objectClass: ['top', 'nsIndex'], cn: ['thing'], nsIndexType: ['eq'], description: ['by hand'] });
    const outcome = await ensureEntry(dir.session('s'), DN, THING);
    expect(outcome).toMatchObject({ action: 'present', merged: [] });
    expect(dir.entries.get(DN)).toEqual({ objectClass: ['top', 'nsIndex'], cn: ['thing'], nsIndexType: ['eq'], description: ['by hand'] });
    expect(dir.adds).toEqual([]);
    expect(dir.writes).toEqual([]);
  });

  it('with merge, adds the values an existing entry lacks (ignoring case), and keeps every value it has', async () => {
    const dir = directory();
    dir.add(DN, { objectClass: ['top', 'nsIndex'], cn: ['thing'], nsIndexType: ['EQ', 'sub'] });
    const outcome = await ensureEntry(dir.session('s'), DN, THING, { merge: ['nsIndexType', 'nsMatchingRule'] });
    expect(outcome).toMatchObject({ action: 'present', merged: [{ operation: 'add', attribute: 'nsIndexType', values: ['pres'] }] });
    expect(dir.entries.get(DN)?.nsIndexType).toEqual(['EQ', 'sub', 'pres']);
    expect(dir.writes).toHaveLength(1);

    // Once complete, nothing more is written.
    expect(await ensureEntry(dir.session('s'), DN, THING, { merge: ['nsIndexType'] })).toMatchObject({ action: 'present', merged: [] });
    expect(dir.writes).toHaveLength(1);
  });

  it('writes withMerge changes in the same modify as the merge, and only when something is merged', async () => {
    const dir = directory();
    dir.add(DN, { objectClass: ['top', 'nsIndex'], cn: ['thing'], nsIndexType: ['eq'] });
    const seen: DirectoryEntry[] = [];
    const marker = (existing: DirectoryEntry) => {
      seen.push(existing);
      return [{ operation: 'add' as const, attribute: 'description', values: ['marked'] }];
    };
    await ensureEntry(dir.session('s'), DN, THING, { merge: ['nsIndexType'], read: ['description'], withMerge: marker });
    expect(dir.writes.map((w) => w.changes)).toEqual([
      [
        { operation: 'add', attribute: 'nsIndexType', values: ['pres'] },
        { operation: 'add', attribute: 'description', values: ['marked'] },
      ],
    ]);
    expect(seen).toHaveLength(1);
    const again = await ensureEntry(dir.session('s'), DN, THING, { merge: ['nsIndexType'], read: ['description'], withMerge: marker });
    expect(seen).toHaveLength(1);
    expect(again.action === 'present' && again.entry.values('description')).toEqual(['marked']);
  });

  it('an entry another writer created between the read and the add counts as present (68 is no error), and is merged', async () => {
    const dir = directory();
    const session = new RacedSession(dir, { objectClass: ['top', 'nsIndex'], cn: 'thing', nsIndexType: ['eq'] });
    const outcome = await ensureEntry(session, DN, THING, { merge: ['nsIndexType'] });
    expect(outcome).toMatchObject({ action: 'present', merged: [{ operation: 'add', attribute: 'nsIndexType', values: ['pres'] }] });
    expect(dir.adds).toEqual([{ dn: DN, session: 'rival' }]);
    expect(dir.entries.get(DN)?.nsIndexType).toEqual(['eq', 'pres']);
  });

  it('passes any other refusal of the add on', async () => {
    const dir = directory();
    const session = dir.session('s');
    session.add = async (dn) => {
      throw new LdapResultError(ResultCode.InsufficientAccess, 'add', dn, 'Insufficient access');
    };
    await expect(ensureEntry(session, DN, THING)).rejects.toMatchObject({ code: ResultCode.InsufficientAccess });
  });

  it('in dry-run records the add of a missing entry and nothing for one that exists', async () => {
    const dir = directory();
    dir.add('cn=there,o=test', { objectClass: ['top'], cn: ['there'] });
    const ldif: string[] = [];
    const recorder = new DryRunSession(dir.session('s'), (text) => ldif.push(text));
    await ensureEntry(recorder, 'cn=there,o=test', { objectClass: ['top'], cn: 'there' });
    expect(ldif).toEqual([]);
    await ensureEntry(recorder, DN, THING);
    expect(ldif).toEqual([expect.stringMatching(/^dn: cn=thing,o=test\nchangetype: add\n/)]);
    expect(dir.entries.has(DN)).toBe(false);
  });
});

describe('what is created through ensureEntry', () => {
  it('the history containers and a server entry: created once, a second time nothing is written', async () => {
    const dir = directory();
    dir.add('o=test', { objectClass: ['top', 'organization'], o: ['test'] });
    const store = new LdapHistoryStore(dir.session('s'), 'o=test');
    await store.initialize();
    await store.writeServer({ server: 'ds1:389', packageVersion: '2.0.0' });
    expect(dir.adds.map((a) => a.dn)).toEqual(['cn=dbUpgrade,o=test', 'cn=history,cn=dbUpgrade,o=test', 'cn=servers,cn=dbUpgrade,o=test', 'cn=ds1:389,cn=servers,cn=dbUpgrade,o=test']);
    const writes = dir.writes.length;
    await store.initialize();
    await store.writeServer({ server: 'ds1:389' });
    expect(dir.adds).toHaveLength(4);
    expect(dir.writes).toHaveLength(writes);
  });

  describe('index definitions', () => {
    const container = 'cn=index,cn=ca,cn=ldbm database,cn=plugins,cn=config';
    const helper = (dir: FakeDirectory) => new LdapIndexHelper(dir.session('s'), { backend: 'ca' });

    it('a missing one is added marked as not built yet', async () => {
      const dir = directory();
      expect(await helper(dir).ensure([{ attribute: 'serialno', types: ['eq', 'pres'] }])).toEqual(['serialno']);
      expect(dir.entries.get(`cn=serialno,${container}`)).toEqual({ objectClass: ['top', 'nsIndex'], cn: ['serialno'], nsSystemIndex: ['false'], nsIndexType: ['eq', 'pres'], description: [PENDING_BUILD] });
    });

    it('an incomplete one gets the types and rules it lacks and the mark in one modify; a complete one is left alone', async () => {
      const dir = directory();
      dir.add(`cn=issuername,${container}`, { objectClass: ['top', 'nsIndex'], cn: ['issuername'], nsIndexType: ['eq', 'PRES'] });
      dir.add(`cn=serialno,${container}`, { objectClass: ['top', 'nsIndex'], cn: ['serialno'], nsIndexType: ['eq', 'pres'] });
      const changed = await helper(dir).ensure([
        { attribute: 'issuername', types: ['eq', 'pres', 'sub'], matchingRules: ['caseIgnoreOrderingMatch'] },
        { attribute: 'serialno', types: ['eq', 'pres'] },
      ]);
      expect(changed).toEqual(['issuername']);
      expect(dir.writes.map((w) => [w.dn, w.changes])).toEqual([
        [
          `cn=issuername,${container}`,
          [
            { operation: 'add', attribute: 'nsIndexType', values: ['sub'] },
            { operation: 'add', attribute: 'nsMatchingRule', values: ['caseIgnoreOrderingMatch'] },
            { operation: 'add', attribute: 'description', values: [PENDING_BUILD] },
          ],
        ],
      ]);
      expect(dir.adds).toEqual([]);
    });

    it('one still marked by an earlier run is reported again (to be built), without a write', async () => {
      const dir = directory();
      dir.add(`cn=serialno,${container}`, { objectClass: ['top', 'nsIndex'], cn: ['serialno'], nsIndexType: ['eq', 'pres'], description: [PENDING_BUILD] });
      expect(await helper(dir).ensure([{ attribute: 'serialno', types: ['eq', 'pres'] }])).toEqual(['serialno']);
      expect(dir.writes).toEqual([]);
    });
  });
});
