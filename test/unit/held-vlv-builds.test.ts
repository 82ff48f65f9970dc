/**
 * The build of held VLV searches (src/apply/index-builds.ts) through the states a killed run or an
 * earlier version of the tool leaves, on an in-memory cn=config: what is built now, what waits for
 * a restart of 389 DS, and that every index ends built once and unmarked. 389 DS's own behaviour
 * with these definitions is tested on the real server (test/upgrade-steps-own-server.test.ts).
 */
import { LdapIndexBuilds } from '../../src/apply/index-builds';
import { heldValue, PENDING_BUILD, PENDING_RESTART, type HeldVlvSearch } from '../../src/apply/index-marks';
import type { Clock } from '../../src/core/clock';
import { silentLogger } from '../../src/core/logger';
import { ConfigDirectory } from '../support/config-directory';
import { DryRunSession } from '../../src/ldap/dry-run-session';
import { keptLines } from '../support/kept-lines';

const BACKEND = 'cn=ca,cn=ldbm database,cn=plugins,cn=config';
const SEARCH = `cn=allCerts-ca,${BACKEND}`;
const INDEX = `cn=allCerts-caIndex,${SEARCH}`;
const WANTED: HeldVlvSearch = { base: 'ou=certificateRepository,ou=ca,o=x', scope: '1', filter: '(certStatus=*)', indexes: [{ name: 'allCerts-caIndex', sort: 'serialno' }] };
const clock: Clock = { now: () => new Date(), monotonicMs: () => 0, sleep: async () => undefined };
const build = (dir: ConfigDirectory) => new LdapIndexBuilds({ ldap: dir.session(), backend: 'ca', dryRun: false, logger: silentLogger, clock, pollMs: 1 }).build();

/** A search held to become WANTED (with `filter` in force), and its index as given. */
function heldSearch(dir: ConfigDirectory, filter: string, index: Record<string, string[]> | undefined): void {
  dir.set(SEARCH, { objectClass: ['top', 'vlvSearch', 'extensibleObject'], cn: ['allCerts-ca'], vlvBase: [WANTED.base], vlvScope: ['1'], vlvFilter: [filter], description: [PENDING_BUILD, heldValue(WANTED)], modifyTimestamp: [dir.now] });
  if (index) dir.set(INDEX, { objectClass: ['top', 'vlvIndex', 'extensibleObject'], cn: ['allCerts-caIndex'], vlvSort: ['serialno'], modifyTimestamp: ['20251231000000Z'], ...index });
}

/** 389 DS restarts: its start time moves past every change so far. */
function restart(dir: ConfigDirectory): void {
  dir.startTime = '20260101000020Z';
  dir.now = '20260101000030Z';
}

describe('a held VLV search defined otherwise', () => {
  it('whose index is still marked (a build killed, or an earlier version): changed in place, its index left for the first run after a restart, then built once and unmarked', async () => {
    const dir = new ConfigDirectory();
    heldSearch(dir, '(objectClass=*)', { description: [PENDING_BUILD] });
    expect(await build(dir)).toEqual({ outcome: 'deferred', names: ['allCerts-caIndex'], reason: '389 DS takes the changed VLV definition at its next restart', waiting: ['allCerts-caIndex'] });
    expect(dir.tasks()).toEqual([]);
    expect(dir.values(SEARCH, 'vlvFilter')).toEqual([WANTED.filter]);
    expect(dir.values(SEARCH, 'description')).toEqual([]);
    expect(dir.values(INDEX, 'description')).toEqual([PENDING_BUILD, PENDING_RESTART]);
    // Every run before the restart leaves it.
    expect(await build(dir)).toMatchObject({ outcome: 'deferred', waiting: ['allCerts-caIndex'] });

    restart(dir);
    expect(await build(dir)).toMatchObject({ outcome: 'built', names: ['allCerts-caIndex'] });
    expect(dir.tasks()).toEqual([['allCerts-caIndex']]);
    expect(dir.values(INDEX, 'description')).toEqual([]);
    expect(await build(dir)).toEqual({ outcome: 'none' });
  });

  it('whose index an earlier task built while no run watched (its mark left): not taken as built, since the change comes after that task', async () => {
    const dir = new ConfigDirectory();
    heldSearch(dir, '(objectClass=*)', { description: [PENDING_BUILD], modifyTimestamp: ['20260101000005Z'] });
    dir.set('cn=pki-db-upgrade-1-1,cn=index,cn=tasks,cn=config', { cn: ['pki-db-upgrade-1-1'], nsInstance: ['ca'], nsIndexVLVAttribute: ['allCerts-caIndex'], nsTaskExitCode: ['0'], createTimestamp: ['20260101000006Z'] });
    expect(await build(dir)).toEqual({ outcome: 'deferred', names: ['allCerts-caIndex'], reason: '389 DS takes the changed VLV definition at its next restart', waiting: ['allCerts-caIndex'] });
    expect(dir.values(INDEX, 'description')).toEqual([PENDING_BUILD, PENDING_RESTART]);
  });

  it('killed after its index was marked, before the search changed: the next run changes the search and leaves the index for after a restart', async () => {
    const dir = new ConfigDirectory();
    heldSearch(dir, '(objectClass=*)', { description: [PENDING_BUILD, PENDING_RESTART], modifyTimestamp: [dir.now] });
    expect(await build(dir)).toMatchObject({ outcome: 'deferred', waiting: ['allCerts-caIndex'] });
    expect(dir.values(SEARCH, 'vlvFilter')).toEqual([WANTED.filter]);
    expect(dir.tasks()).toEqual([]);
  });

  it('next to an attribute index to build: the run builds that one, and says that the VLV index waits for a restart', async () => {
    const dir = new ConfigDirectory();
    dir.set(`cn=serialno,cn=index,${BACKEND}`, { objectClass: ['top', 'nsIndex'], cn: ['serialno'], nsIndexType: ['none'], description: [PENDING_BUILD, heldValue({ types: ['eq'], matchingRules: [] })] });
    heldSearch(dir, '(objectClass=*)', { description: [] });
    expect(await build(dir)).toMatchObject({ outcome: 'built', names: ['serialno'], waiting: ['allCerts-caIndex'] });
    expect(dir.tasks()).toEqual([['serialno']]);
    expect(dir.values(`cn=serialno,cn=index,${BACKEND}`, 'nsIndexType')).toEqual(['eq']);
  });

  it('when the bind DN may not read the start time of 389 DS: its index waits, and each run says once why and what lets it go on', async () => {
    const dir = new ConfigDirectory();
    dir.startTime = undefined;
    heldSearch(dir, '(objectClass=*)', { description: [PENDING_BUILD] });
    const { logger, lines } = keptLines();
    const run = () => new LdapIndexBuilds({ ldap: dir.session(), backend: 'ca', dryRun: false, logger, clock, pollMs: 1 }).build();
    expect(await run()).toMatchObject({ outcome: 'deferred', waiting: ['allCerts-caIndex'] });
    const told = lines.filter((l) => l.startsWith('warn: cannot read startTime of cn=monitor'));
    expect(told).toEqual([
      'warn: cannot read startTime of cn=monitor on ldap://config-directory, so no run can tell that 389 DS restarted since the definition of VLV allCerts-caIndex on backend ca changed: ' +
        'the build waits → let the bind DN read cn=monitor (389 DS lets anyone by default) or run as root in instance mode (Directory Manager over LDAPI); the first run after that and a restart of 389 DS builds it',
    ]);
    expect(dir.tasks()).toEqual([]);

    // Readable again, after a restart: built.
    restart(dir);
    expect(await run()).toMatchObject({ outcome: 'built', names: ['allCerts-caIndex'] });
  });
});

describe('a new held VLV search', () => {
  it('killed after the first of its indexes was added: the next run adds the other and builds both in one task, each named once', async () => {
    const dir = new ConfigDirectory();
    const two: HeldVlvSearch = { ...WANTED, indexes: [...WANTED.indexes, { name: 'allCerts-caReverseIndex', sort: '-serialno' }] };
    dir.set(SEARCH, { objectClass: ['top', 'vlvSearch', 'extensibleObject'], cn: ['allCerts-ca'], vlvBase: [WANTED.base], vlvScope: ['1'], vlvFilter: [WANTED.filter], description: [PENDING_BUILD, heldValue(two)] });
    dir.set(INDEX, { objectClass: ['top', 'vlvIndex', 'extensibleObject'], cn: ['allCerts-caIndex'], vlvSort: ['serialno'], description: [PENDING_BUILD] });
    expect(await build(dir)).toMatchObject({ outcome: 'built', names: ['allCerts-caIndex', 'allCerts-caReverseIndex'] });
    expect(dir.tasks()).toEqual([['allCerts-caIndex', 'allCerts-caReverseIndex']]);
    expect(dir.values(SEARCH, 'objectClass')).toEqual(['top', 'vlvSearch']);
    expect(dir.values(SEARCH, 'description')).toEqual([]);
  });
});

describe('a dry-run of the build', () => {
  it('says that a VLV search defined otherwise would wait for a restart, and writes nothing', async () => {
    const dir = new ConfigDirectory();
    heldSearch(dir, '(objectClass=*)', { description: [] });
    const ldif: string[] = [];
    const recorder = new DryRunSession(dir.session(), (text) => ldif.push(text));
    const result = await new LdapIndexBuilds({ ldap: recorder, backend: 'ca', dryRun: true, logger: silentLogger, clock }).build();
    expect(result).toEqual({ outcome: 'deferred', names: ['allCerts-caIndex'], reason: '389 DS takes the changed VLV definition at its next restart', waiting: ['allCerts-caIndex'] });
    expect(dir.writes).toEqual([]);
    expect(ldif.join('')).toMatch(/vlvFilter: \(certStatus=\*\)/);
    expect(ldif.join('')).not.toMatch(/cn=tasks/);
  });
});
