/**
 * Upgrade steps that change cn=schema in a way other suffixes would notice (certificateRecord
 * requiring issuerName), and the whole bundled upgrade of a CA database, including a crash in the
 * middle of the issuerName backfill. cn=schema is shared by every suffix of a server, so these run
 * on a 389 DS of their own (ports PKI_TEST_PORT_BASE+22, +23) rather than on the shared one; so
 * does a deferred index build across a restart of 389 DS, which the shared one must not have.
 */
import { Attribute, Change } from 'ldapts';
import { readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from './support/temp-dir';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { removeInstance, restartInstance, type DsInstance } from './harness/dirsrv';
import { certRecordAttributes, certRecordDN } from './harness/pki-database';
import { ownInstance, withLdap } from './harness/test-env';
import { sleep } from './harness/wait';
import { MAIN_BUNDLE, runCli, startCli } from './support/bundle';
import { snapshot } from './support/directory-snapshot';
import { caDatabase, runStep } from './support/step-context';
import issuerNameBackfill from '../upgrades/10.3.3/01-IssuerNameBackfill';
import requireIssuerName from '../upgrades/11.6.0/02-RequireIssuerName';
import { TRACKING_SCHEMA } from '../src/ldap/tracking-schema';
import { DIRECT_CA_FACTS } from './support/pki-facts';
import { registryOf, tool, type TestStep } from './support/cluster';
import { vlvCount } from './support/vlv-window';
import type { VlvSearchSpec } from '../src/core/step';
import { createFakePki, passwordFromConfigFile, readStatus, removeFakePkis } from './support/fake-pki';
import { PENDING_BUILD } from '../src/apply/index-marks';

let ds: DsInstance;
let passwordFile: string;

beforeAll(async () => {
  ds = await ownInstance('steps', 22);
  const dir = tempDir('pkidbu-pw-');
  passwordFile = path.join(dir, 'pw');
  writeFileSync(passwordFile, `${ds.rootPassword}\n`, { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  removeFakePkis();
  if (ds) await removeInstance(ds);
});

const REPOSITORY = (suffix: string) => `ou=certificateRepository,ou=ca,${suffix}`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function certificateRecordClass(): Promise<string> {
  return withLdap(ds, async (c) => {
    const { searchEntries } = await c.search('cn=schema', { scope: 'base', attributes: ['objectClasses'] });
    return ([] as string[]).concat(searchEntries[0].objectClasses as string[]).find((d) => /NAME 'certificateRecord'/i.test(d))!;
  });
}

async function lackingIssuerName(suffix: string): Promise<number> {
  return withLdap(ds, async (c) => {
    const { searchEntries } = await c.search(REPOSITORY(suffix), {
      scope: 'one',
      filter: '(&(objectclass=certificateRecord)(!(issuerName=*)))',
      attributes: ['1.1'],
      paged: { pageSize: 1000 },
    });
    return searchEntries.length;
  });
}

function cliArgs(command: string, suffix: string, ...extra: string[]): string[] {
  return [command, '--url', ds.url, '--base-dn', suffix, '--password-file', passwordFile, ...DIRECT_CA_FACTS, ...extra];
}

describe('11.6.0/02-RequireIssuerName (not backward compatible)', () => {
  it('refuses while records lack issuerName, then requires it once they are filled in, and changes nothing the second time', async () => {
    const db = await caDatabase(ds, 'req', { certificates: 30 });
    const schemaBefore = await certificateRecordClass();
    expect(schemaBefore).not.toMatch(/MUST \( cn \$ issuerName \)/);

    await expect(runStep(ds, requireIssuerName, db)).rejects.toThrow(/9 certificate records|certificate records still lack issuerName \(e\.g\. cn=\d+,ou=certificateRepository/);
    expect(await certificateRecordClass()).toBe(schemaBefore);

    await runStep(ds, issuerNameBackfill, db);
    const { lines } = await runStep(ds, requireIssuerName, db);
    expect(lines.at(-1)).toBe('info: certificateRecord now requires issuerName');
    expect(await certificateRecordClass()).toMatch(/MUST \( cn \$ issuerName \)/);

    // What an old release would do from now on: write a record without issuerName. Refused.
    const newRecord = certRecordAttributes(db.ca.issue(900n), { withIssuerName: false, created: new Date() });
    await expect(withLdap(ds, (c) => c.add(certRecordDN(db.suffix, 900n), newRecord))).rejects.toMatchObject({ code: 65 });
    const withIssuer = certRecordAttributes(db.ca.issue(901n), { withIssuerName: true, created: new Date() });
    await withLdap(ds, (c) => c.add(certRecordDN(db.suffix, 901n), withIssuer));

    const before = snapshot(ds, db.suffix, db.backend, { ownServer: true });
    await pause(1100);
    const second = await runStep(ds, requireIssuerName, db);
    expect(second.lines).toEqual(['info: certificateRecord already requires issuerName']);
    expect(snapshot(ds, db.suffix, db.backend, { ownServer: true })).toBe(before);
  });

  it('only warns in dry-run, where the backfill before it was recorded and not applied', async () => {
    const db = await caDatabase(ds, 'reqdry', { certificates: 10 }); // the loader puts back the relaxed definition
    const before = snapshot(ds, db.suffix, db.backend, { ownServer: true });
    const { lines, ldif } = await runStep(ds, requireIssuerName, db, { dryRun: true });
    expect(lines[0]).toMatch(/^warn: certificate records still lack issuerName .*a real run fills them in first/);
    expect(ldif.join('').replace(/\n /g, '')).toMatch(/^dn: cn=schema\nchangetype: modify\ndelete: objectClasses\n.*\n-\nadd: objectClasses\nobjectClasses: .*MUST \( cn \$ issuerName \)/m);
    expect(snapshot(ds, db.suffix, db.backend, { ownServer: true })).toBe(before);
  });
});

describe('10.3.3/01-IssuerNameBackfill on a record without a certificate', () => {
  // Here rather than on the shared server: the record lacks issuerName, which the schema of a
  // server that ran 11.6.0/02-RequireIssuerName refuses (caDatabase puts the old schema back).
  it('leaves the record as it is, as Dogtag does', async () => {
    const db = await caDatabase(ds, 'bfnocert', { certificates: 10 });
    await withLdap(ds, (c) =>
      c.add(certRecordDN(db.suffix, 4242n), { objectClass: ['top', 'certificateRecord'], cn: '4242', certStatus: 'VALID' }),
    );
    const { lines } = await runStep(ds, issuerNameBackfill, db);
    expect(lines.at(-1)).toMatch(/^info: issuerName backfill: 3 updated, 1 left unchanged in /);
    const issuer = await withLdap(ds, async (c) => (await c.search(certRecordDN(db.suffix, 4242n), { scope: 'base', attributes: ['issuerName'] })).searchEntries[0].issuerName);
    expect(issuer).toEqual([]);
    // The step that requires issuerName refuses while such a record exists, and names it.
    await expect(runStep(ds, requireIssuerName, db)).rejects.toThrow(/cn=4242,ou=certificateRepository/);
  });
});

describe('the bundled upgrade of a CA database', () => {
  it('applies every step, then finds nothing to do and writes nothing', async () => {
    const db = await caDatabase(ds, 'e2e', { certificates: 300 });
    const first = await runCli(MAIN_BUNDLE, cliArgs('run', db.suffix));
    expect(first.stderr).toMatch(/issuerName backfill: 90 updated in/);
    expect(first.code).toBe(0);
    expect(await lackingIssuerName(db.suffix)).toBe(0);
    const h = JSON.parse((await runCli(MAIN_BUNDLE, cliArgs('history', db.suffix, '--json'))).stdout) as { step: string; outcome: string }[];
    expect(h.map((r) => [r.step, r.outcome])).toEqual([
      ['10.0.0/01-TrackingSchema', 'done'],
      ['10.0.0/02-TrackingAudit', 'done'],
      ['10.2.0/01-AuthoritySchema', 'done'],
      ['10.3.0/01-CertProfileSchema', 'done'],
      ['10.3.3/01-IssuerNameBackfill', 'done'],
      ['11.6.0/01-CAIndexes', 'done'],
      ['11.6.0/02-RequireIssuerName', 'done'],
      ['11.10.1/01-RevokedCertsByIssuerVlv', 'done'],
      ['11.10.1/02-EstAdministrators', 'done'],
      ['11.10.1/04-DirectoryServerSettings', 'done'],
    ]);
    // The one step that is not backward compatible says so in its record (servers on an older
    // package read it at service start); the others carry no flag.
    const flagged = await withLdap(ds, (c) => c.search(`cn=history,cn=dbUpgrade,${db.suffix}`, { scope: 'one', filter: '(pkiDbUpgradeBackwardCompatible=FALSE)', attributes: ['pkiDbUpgradeStepId'] }));
    expect(flagged.searchEntries.map((e) => e.pkiDbUpgradeStepId)).toEqual(['11.6.0/02-RequireIssuerName']);

    const before = snapshot(ds, db.suffix, db.backend, { ownServer: true });
    await pause(1100);
    const second = await runCli(MAIN_BUNDLE, cliArgs('run', db.suffix));
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/nothing to do/);
    expect(snapshot(ds, db.suffix, db.backend, { ownServer: true })).toBe(before);
  });

  it('resumes an issuerName backfill killed half-way without redoing the records already done', async () => {
    const db = await caDatabase(ds, 'crash', { certificates: 5000, withoutIssuerNameRatio: 1 });
    const child = startCli(MAIN_BUNDLE, cliArgs('run', db.suffix));
    const exited = new Promise((resolve) => child.on('close', resolve));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!/issuerName backfill: updating the entries under /.test(stderr)) {
      if (Date.now() > deadline) throw new Error(`the backfill never started:\n${stderr}`);
      await pause(20);
    }
    // Kill it as soon as its first writes land: the first record in search order gets issuerName.
    await withLdap(ds, async (c) => {
      for (;;) {
        const { searchEntries } = await c.search(certRecordDN(db.suffix, 1n), { scope: 'base', attributes: ['issuerName'] });
        if (String(searchEntries[0].issuerName ?? '') !== '') break;
        if (Date.now() > deadline) throw new Error(`no record was updated:\n${stderr}`);
      }
    });
    child.kill('SIGKILL');
    await exited;
    expect(stderr).not.toMatch(/5,000 updated/);

    // The writes the killed run had already sent are still applied by the server after the kill
    // (seen under load): count once the count no longer moves.
    let left = await lackingIssuerName(db.suffix);
    for (let previous = -1; left !== previous; ) {
      previous = left;
      await pause(300);
      left = await lackingIssuerName(db.suffix);
    }
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(5000);
    const second = await runCli(MAIN_BUNDLE, cliArgs('run', db.suffix));
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/applying 10\.3\.3\/01-IssuerNameBackfill \(cluster, interrupted before\)/);
    // Only the records still lacking issuerName are written; the start line bounds them by the records there.
    expect(second.stderr).toMatch(/issuerName backfill: updating the entries under .* at most 5,00\d \(the entries under it\)/);
    expect(second.stderr).toContain(`issuerName backfill: ${left.toLocaleString('en-US')} updated in`);
    expect(await lackingIssuerName(db.suffix)).toBe(0);
    // The records carry the issuer the CA writes: a record that was never touched by hand agrees.
    expect(execFileSync('ldapsearch', ['-LLL', '-x', '-H', ds.url, '-D', ds.rootDN, '-w', ds.rootPassword, '-b', certRecordDN(db.suffix, 4321n), '-s', 'base', 'issuerName'], { encoding: 'utf8' })).toContain(
      `issuerName: ${db.issuerName}`,
    );
  });
});

describe("the history's own schema, which cn=schema holds for every suffix of the server", () => {
  it('narrowed again on this server (an older package set up another suffix) is noticed by the next run that writes, which puts it back', async () => {
    const db = await caDatabase(ds, 'lost', { certificates: 5 });
    expect((await runCli(MAIN_BUNDLE, cliArgs('run', db.suffix))).code).toBe(0);
    // What 11.6.0's 10.0.0/01-TrackingSchema writes when it sets up another suffix: its own,
    // narrower pkiDbUpgradeStep, without the second set's attributes.
    const narrow = TRACKING_SCHEMA.objectClasses.find((c) => c.includes("NAME 'pkiDbUpgradeStep'"))!;
    await withLdap(ds, async (c) => {
      const wide = (await c.search('cn=schema', { scope: 'base', attributes: ['objectClasses'] })).searchEntries[0].objectClasses as string[];
      const present = wide.find((v) => v.includes("NAME 'pkiDbUpgradeStep'"))!;
      await c.modify('cn=schema', [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'objectClasses', values: [present] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'objectClasses', values: [narrow] }) }),
      ]);
    });

    // Nothing to write: nothing is harmed, and a run with nothing to do does not look (it costs).
    expect((await runCli(MAIN_BUNDLE, cliArgs('check', db.suffix))).code).toBe(0);
    const refused = await runCli(MAIN_BUNDLE, ['forget', '11.6.0/01-CAIndexes', '--reason', 'x', ...cliArgs('', db.suffix).slice(1)]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cannot hold an audit entry yet \(10\.0\.0\/02-TrackingAudit is not in force on this server\)/);

    // The next package on this server: its run has something to write, and looks.
    const server = `localhost:${ds.port}`;
    await withLdap(ds, (c) => c.modify(`cn=${server},cn=servers,cn=dbUpgrade,${db.suffix}`, new Change({ operation: 'replace', modification: new Attribute({ type: 'pkiDbUpgradePackageVersion', values: ['11.5.0'] }) })));
    const check = await runCli(MAIN_BUNDLE, cliArgs('check', db.suffix));
    expect(check.code).toBe(10);
    expect(check.stderr).toMatch(/upgrade pending: 10\.0\.0\/02-TrackingAudit/);
    const run = await runCli(MAIN_BUNDLE, cliArgs('run', db.suffix));
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/applying 10\.0\.0\/02-TrackingAudit \(cluster, done before but its schema is not in force on this server\)/);
    expect((await runCli(MAIN_BUNDLE, cliArgs('check', db.suffix))).code).toBe(0);
    const forgot = await runCli(MAIN_BUNDLE, ['forget', '11.6.0/01-CAIndexes', '--reason', 'rebuild', ...cliArgs('', db.suffix).slice(1)]);
    expect(forgot.code).toBe(0);
  });
});

describe('index_builds = manual and a restart of 389 DS', () => {
  const countIn = (suffix: string, filter: string) =>
    withLdap(ds, async (c) => (await c.search(REPOSITORY(suffix), { scope: 'one', filter, attributes: ['1.1'], paged: { pageSize: 1000 } })).searchEntries.length);
  const indexTypes = (backend: string, attribute: string) =>
    withLdap(ds, async (c) => {
      const { searchEntries } = await c.search(`cn=${attribute},cn=index,cn=${backend},cn=ldbm database,cn=plugins,cn=config`, { scope: 'base', attributes: ['nsIndexType'] });
      return ([] as string[]).concat(searchEntries[0].nsIndexType as string[]).map((t) => t.toLowerCase()).sort();
    });

  it('a deferred build keeps every search complete, across a restart of 389 DS too: a new index and a type added to one in use are held out of searches until built', async () => {
    const db = await caDatabase(ds, 'ibhold', { certificates: 20 });
    const pki = createFakePki({ port: ds.port, baseDN: db.suffix, database: db.backend });
    // certStatus: eq, built by an earlier automatic run, then pres added to it under index_builds = manual.
    passwordFromConfigFile(pki, ds);
    const first = registryOf('1.0.0', new Map(), [{ id: '1.0.0/01-StatusIndex', scope: 'server', upgrade: async (ctx) => void (await ctx.indexes.ensure([{ attribute: 'certStatus', types: ['eq'] }])) }]);
    expect((await tool(['run', '--root', pki.root], first)).code).toBe(0);
    expect(await indexTypes(db.backend, 'certStatus')).toEqual(['eq']);
    passwordFromConfigFile(pki, ds, { index_builds: 'manual' });
    const registry = registryOf('2.0.0', new Map(), [
      { id: '1.0.0/01-StatusIndex', scope: 'server' },
      { id: '2.0.0/01-MoreIndexes', scope: 'server', upgrade: async (ctx) => void (await ctx.indexes.ensure([{ attribute: 'issuerName', types: ['pres'] }, { attribute: 'certStatus', types: ['pres'] }])) },
    ]);
    const withIssuerName = 20 - db.withoutIssuerName.length;
    expect(await countIn(db.suffix, '(issuerName=*)')).toBe(withIssuerName);
    expect(await countIn(db.suffix, '(certStatus=*)')).toBe(20);

    const posttrans = await tool(['run', '--root', pki.root, '--mode', 'posttrans'], registry);
    expect(posttrans.code).toBe(0);
    expect(posttrans.stdout + posttrans.stderr).toMatch(/index build left for a run by hand/);
    // Held: certStatus keeps the type it had, built; nothing 389 DS could search through unbuilt.
    expect(await indexTypes(db.backend, 'certStatus')).toEqual(['eq']);
    expect(await indexTypes(db.backend, 'issuerName')).toEqual(['none']);
    expect(await countIn(db.suffix, '(issuerName=*)')).toBe(withIssuerName);
    expect(await countIn(db.suffix, '(certStatus=*)')).toBe(20);
    expect(await countIn(db.suffix, '(certStatus=VALID)')).toBe(20);

    await restartInstance(ds);
    expect(await countIn(db.suffix, '(issuerName=*)')).toBe(withIssuerName);
    expect(await countIn(db.suffix, '(certStatus=*)')).toBe(20);
    const status = await tool(['status', '--root', pki.root], registry);
    expect(status.stdout).toMatch(/Index build: 2 definition\(s\) not built yet \(held out of searches until built: searches on them run unindexed\): (issuerName, certStatus|certStatus, issuerName)/i);
    expect(status.stdout).not.toMatch(/389 DS restarted after defining/);
    const start = await tool(['run', '--root', pki.root, '--mode', 'start'], registry);
    expect(start.code).toBe(0);
    expect(start.stdout + start.stderr).toMatch(/index build left for a run by hand/);

    const byHand = await tool(['run', '--root', pki.root], registry);
    expect(byHand.code).toBe(0);
    expect(byHand.stdout + byHand.stderr).toMatch(/indexes built: /);
    expect(await indexTypes(db.backend, 'certStatus')).toEqual(['eq', 'pres']);
    expect(await indexTypes(db.backend, 'issuerName')).toEqual(['pres']);
    await restartInstance(ds);
    expect(await countIn(db.suffix, '(issuerName=*)')).toBe(withIssuerName);
    expect(await countIn(db.suffix, '(certStatus=*)')).toBe(20);
    expect(readStatus(pki).pending).toBeUndefined();
  });

  it('a VLV search is held until built too: under index_builds = manual it answers every entry across a restart, and a changed filter is what 389 DS answers after the build', async () => {
    const db = await caDatabase(ds, 'vlvhold', { certificates: 20 });
    const pki = createFakePki({ port: ds.port, baseDN: db.suffix, database: db.backend });
    passwordFromConfigFile(pki, ds, { index_builds: 'manual' });
    const base = REPOSITORY(db.suffix);
    const name = `revoked-${db.backend}`;
    const search = (filter: string): VlvSearchSpec => ({ name, base, scope: 'one', filter, indexes: [{ name: `${name}Index`, sort: 'serialno' }] });
    const revoke = (n: number) =>
      withLdap(ds, async (c) => {
        const { searchEntries } = await c.search(base, { scope: 'one', filter: '(certStatus=VALID)', attributes: ['1.1'], sizeLimit: n });
        for (const e of searchEntries) await c.modify(e.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'certStatus', values: ['REVOKED'] }) }));
      });
    const revokedVlv: TestStep = { id: '2.0.0/01-RevokedVlv', scope: 'server', upgrade: async (ctx) => void (await ctx.indexes.ensureVlv([search('(certStatus=REVOKED)')])) };
    await revoke(3);

    const posttrans = await tool(['run', '--root', pki.root, '--mode', 'posttrans'], registryOf('2.0.0', new Map(), [revokedVlv]));
    expect(posttrans.stdout + posttrans.stderr).toMatch(/index build left for a run by hand: revoked-\S+Index/);
    // A revocation after the definition: 389 DS would have written it alone into a VLV index.
    await revoke(1);
    await restartInstance(ds);
    expect(await vlvCount(ds, base, '(certStatus=REVOKED)')).toBe(4);

    const byHand = await tool(['run', '--root', pki.root], registryOf('2.0.0', new Map(), [revokedVlv]));
    expect(byHand.stdout + byHand.stderr).toMatch(/indexes built: revoked-\S+Index/);
    await restartInstance(ds);
    expect(await vlvCount(ds, base, '(certStatus=REVOKED)')).toBe(4);

    // A later release defines the search otherwise. 389 DS takes a changed VLV definition only at
    // a restart (a task before it builds the old one): changed now, built by the first run after it.
    passwordFromConfigFile(pki, ds);
    const validVlv: TestStep = { id: '3.0.0/01-ValidVlv', scope: 'server', upgrade: async (ctx) => void (await ctx.indexes.ensureVlv([search('(certStatus=VALID)')])) };
    const next = registryOf('3.0.0', new Map(), [revokedVlv, validVlv]);
    const later = await tool(['run', '--root', pki.root], next);
    expect(later.code).toBe(0);
    expect(readFileSync(pki.logFile, 'utf8')).toMatch(/VLV revoked-\S+Index on backend \S+: the VLV definition changed, and 389 DS takes it at its next restart; the first run after it builds the index/);
    expect((await tool(['status', '--root', pki.root], next)).stdout).toMatch(/the VLV definition of revoked-\S+Index changed: 389 DS takes it at its next restart, and the first run after it builds the index/);
    expect(await vlvCount(ds, base, '(certStatus=VALID)')).toBe(16);
    // A direct dry-run before the restart does not call that "nothing to do".
    const dry = await tool(cliArgs('dry-run', db.suffix), next);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(/dry-run: 0 step\(s\) would be applied; VLV definition changed, left for the first run after 389 DS restarts \(it takes the change then\): revoked-\S+Index; nothing was changed/);
    await sleep(1100); // one-second timestamps: a change in the second 389 DS starts in counts as after it
    await restartInstance(ds);
    const afterRestart = await tool(['run', '--root', pki.root, '--mode', 'start'], next);
    expect(afterRestart.stdout + afterRestart.stderr).toMatch(/indexes built: revoked-\S+Index/);
    expect(await vlvCount(ds, base, '(certStatus=VALID)')).toBe(16);
    await restartInstance(ds);
    expect(await vlvCount(ds, base, '(certStatus=VALID)')).toBe(16);
    expect(readStatus(pki).pending).toBeUndefined();
  });

  it('a build that was started and did not finish (a definition active and marked) is trusted by 389 DS after a restart: status says so, and even an automatic run builds it then', async () => {
    const db = await caDatabase(ds, 'ibrestart', { certificates: 20 });
    const pki = createFakePki({ port: ds.port, baseDN: db.suffix, database: db.backend });
    passwordFromConfigFile(pki, ds, { index_builds: 'manual' });
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Nothing', scope: 'server', upgrade: async () => undefined }]);
    const withIssuerName = 20 - db.withoutIssuerName.length;
    // One-second timestamps: a definition of the second 389 DS started in (the test before
    // restarted it) would count as trusted already.
    await sleep(1100);
    // As the build leaves a definition between its activation and the end of its task.
    await withLdap(ds, (c) =>
      c.add(`cn=issuerName,cn=index,cn=${db.backend},cn=ldbm database,cn=plugins,cn=config`, {
        objectClass: ['top', 'nsIndex'],
        cn: 'issuerName',
        nsSystemIndex: 'false',
        nsIndexType: 'pres',
        description: PENDING_BUILD,
      }),
    );
    expect(await countIn(db.suffix, '(issuerName=*)')).toBe(withIssuerName);
    const posttrans = await tool(['run', '--root', pki.root, '--mode', 'posttrans'], registry);
    expect(posttrans.stdout + posttrans.stderr).toMatch(/index build left for a run by hand: issuerName/);
    expect(readFileSync(pki.logFile, 'utf8')).toMatch(/and issuerName miss entries if 389 DS restarts first/);

    await restartInstance(ds);
    // What a CA started now would get: the index trusted as built, and empty.
    expect(await countIn(db.suffix, '(issuerName=*)')).toBe(0);
    const status = await tool(['status', '--root', pki.root], registry);
    expect(status.stdout).toMatch(/389 DS restarted after defining issuerName: it searches through them as if built, and misses entries; run pki-db-upgrade to build them now/);
    const afterRestart = await tool(['run', '--root', pki.root, '--mode', 'start'], registry);
    expect(afterRestart.code).toBe(0);
    expect(afterRestart.stdout + afterRestart.stderr).toMatch(/indexes built: issuerName/);
    expect(readFileSync(pki.logFile, 'utf8')).toMatch(/WARN +389 DS restarted since issuerName on backend \S+ was defined: it now searches through them as if built, and misses entries; building now, although index_builds = manual/);
    expect(await countIn(db.suffix, '(issuerName=*)')).toBe(withIssuerName);
    expect(readStatus(pki).pending).toBeUndefined();
  });
});
