import { DirectoryEntry, LdapResultError, ResultCode, type AttributeMap } from '../../src/core/directory';
import { LdapIndexHelper } from '../../src/apply/index-helper';
import { heldIndex, PENDING_BUILD } from '../../src/apply/index-marks';
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
    expect(outcome).toMatchObject({ action: 'present' });
    expect(dir.entries.get(DN)).toEqual({ objectClass: ['top', 'nsIndex'], cn: ['thing'], nsIndexType: ['eq'], description: ['by hand'] });
    expect(dir.adds).toEqual([]);
    expect(dir.writes).toEqual([]);
  });

  it('an entry another writer created between the read and the add counts as present (68 is no error), as that writer left it', async () => {
    const dir = directory();
    const session = new RacedSession(dir, { objectClass: ['top', 'nsIndex'], cn: 'thing', nsIndexType: ['eq'] });
    const outcome = await ensureEntry(session, DN, THING, { read: ['nsIndexType'] });
    expect(outcome.action === 'present' && outcome.entry.values('nsIndexType')).toEqual(['eq']);
    expect(dir.adds).toEqual([{ dn: DN, session: 'rival' }]);
    expect(dir.writes).toEqual([]);
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

    it('a missing one is added marked as not built yet, and held (nsIndexType none) with the types to build', async () => {
      const dir = directory();
      expect(await helper(dir).ensure([{ attribute: 'serialno', types: ['eq', 'pres'] }])).toEqual(['serialno']);
      const entry = dir.entries.get(`cn=serialno,${container}`);
      expect(entry).toEqual({ objectClass: ['top', 'nsIndex'], cn: ['serialno'], nsSystemIndex: ['false'], nsIndexType: ['none'], description: [PENDING_BUILD, 'pki-db-upgrade: to build as {"nsIndexType":["eq","pres"]}'] });
      expect(heldIndex(new DirectoryEntry('cn=serialno', entry!))).toEqual({ types: ['eq', 'pres'], matchingRules: [] });
    });

    it('an incomplete one keeps the types it has (built) and is marked and held with the whole set in one modify; a complete one is left alone', async () => {
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
            { operation: 'add', attribute: 'description', values: [PENDING_BUILD] },
            { operation: 'add', attribute: 'description', values: ['pki-db-upgrade: to build as {"nsIndexType":["eq","PRES","sub"],"nsMatchingRule":["caseIgnoreOrderingMatch"]}'] },
          ],
        ],
      ]);
      expect(dir.entries.get(`cn=issuername,${container}`)?.nsIndexType).toEqual(['eq', 'PRES']);
      expect(dir.adds).toEqual([]);
    });

    it('one held by an earlier run is held with what a later step adds to it, and reported again without a write when nothing is added', async () => {
      const dir = directory();
      const first = 'pki-db-upgrade: to build as {"nsIndexType":["eq"]}';
      dir.add(`cn=serialno,${container}`, { objectClass: ['top', 'nsIndex'], cn: ['serialno'], nsIndexType: ['none'], description: [PENDING_BUILD, first] });
      expect(await helper(dir).ensure([{ attribute: 'serialno', types: ['eq'] }])).toEqual(['serialno']);
      expect(dir.writes).toEqual([]);
      expect(await helper(dir).ensure([{ attribute: 'serialno', types: ['pres'] }])).toEqual(['serialno']);
      expect(dir.writes.map((w) => w.changes)).toEqual([
        [
          { operation: 'delete', attribute: 'description', values: [first] },
          { operation: 'add', attribute: 'description', values: ['pki-db-upgrade: to build as {"nsIndexType":["eq","pres"]}'] },
        ],
      ]);
    });

    it('one marked and not held (a build that was started and did not finish) is reported again, without a write', async () => {
      const dir = directory();
      dir.add(`cn=serialno,${container}`, { objectClass: ['top', 'nsIndex'], cn: ['serialno'], nsIndexType: ['eq', 'pres'], description: [PENDING_BUILD] });
      expect(await helper(dir).ensure([{ attribute: 'serialno', types: ['eq', 'pres'] }])).toEqual(['serialno']);
      expect(dir.writes).toEqual([]);
    });
  });
});
