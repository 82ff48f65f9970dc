/**
 * The real upgrade steps of upgrades/, each run directly against a Dogtag CA database loaded into
 * the shared 389 DS: what it changes, that a second run changes nothing, that a run leaves it out on
 * a database that is not a CA's, and that dry-run only records. (The schema-tightening step changes
 * cn=schema, which all suffixes of a server share: it is tested on a server of its own, in
 * upgrade-steps-own-server.test.ts.)
 */
import { Attribute, Change } from 'ldapts';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createBackend, type DsInstance } from './harness/dirsrv';
import { CertificateAuthority, DistinguishedName, expectedIssuerName } from './harness/certificates';
import { standalone, uniqueSuffix, withLdap } from './harness/test-env';
import { certificateRecords, REPOSITORY } from './support/certificate-records';
import { snapshot } from './support/directory-snapshot';
import { MAIN_BUNDLE, runCli } from './support/bundle';
import { tempDir } from './support/temp-dir';
import { caDatabase, realStepContext, runStep } from './support/step-context';
import { activateHeld } from '../src/apply/index-builds';
import { startTask, waitForTask } from '../src/ldap/ds-task';
import { LdaptsSession } from '../src/ldap/ldapts-session';
import issuerNameBackfill from '../upgrades/10.3.3/01-IssuerNameBackfill';
import caIndexes from '../upgrades/11.6.0/01-CAIndexes';
import requireIssuerName from '../upgrades/11.6.0/02-RequireIssuerName';
import { CA_INDEXES } from '../src/pki/ca-indexes';
import { MISSING_ISSUER_NAME_FILTER } from '../src/pki/ca-database';
import { DIRECT_CA_FACTS } from './support/pki-facts';

let ds: DsInstance;
let passwordFile: string;
beforeAll(() => {
  ds = standalone();
  passwordFile = path.join(tempDir('pkidbu-pw-'), 'pw');
  writeFileSync(passwordFile, `${ds.rootPassword}\n`, { mode: 0o600 });
});

const CA_STEPS = ['10.3.3/01-IssuerNameBackfill', '11.6.0/01-CAIndexes', '11.6.0/02-RequireIssuerName', '11.10.1/01-RevokedCertsByIssuerVlv', '11.10.1/02-EstAdministrators'];

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const records = (suffix: string) => certificateRecords(ds, suffix);

describe('10.3.3/01-IssuerNameBackfill', () => {
  it('fills in issuerName from the certificate on exactly the records lacking it, in the form the CA writes', async () => {
    const db = await caDatabase(ds, 'bf', { certificates: 200 });
    expect(db.withoutIssuerName).toHaveLength(60);
    // modifyTimestamp has one-second resolution: let a second pass so that writes show.
    await pause(1100);
    const before = await records(db.suffix);

    const { lines } = await runStep(ds, issuerNameBackfill, db);
    expect(lines).toContain(`info: issuerName backfill: updating the entries under ${REPOSITORY(db.suffix)} that match ${MISSING_ISSUER_NAME_FILTER}, at most 200 (the entries under it)`);
    expect(lines.at(-1)).toMatch(/^info: issuerName backfill: 60 updated in \d+ s/);

    const after = await records(db.suffix);
    expect(after.size).toBe(200);
    const lacking = new Set(db.withoutIssuerName);
    for (const [serial, record] of after) {
      expect(record.issuerName).toBe('CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE');
      expect(record.issuerName).toBe(expectedIssuerName(record.der));
      if (lacking.has(serial)) expect(record.modified).not.toBe(before.get(serial)!.modified);
      else expect(record.modified).toBe(before.get(serial)!.modified);
    }
  });

  it('checks first that the pass fits on the disk of the 389 DS (cn=monitor), and refuses with the figures when it cannot, writing nothing', async () => {
    const db = await caDatabase(ds, 'bfdisk', { certificates: 20 });
    // Checked from the size of a pass given here (1 record); the floor per record as given. The pass
    // is bounded by the records of the repository (20), of which 6 lack issuerName.
    const fits = await runStep(ds, issuerNameBackfill, db, { diskCheck: { minEntries: 1 } });
    expect(fits.lines).toContainEqual(expect.stringMatching(/^info: issuerName backfill: disk space: about \d+ MiB needed for 20 records, [\d,]+ MiB available of [\d,]+ MiB on \/\S* \(database \/\S+\/db\)$/));

    const full = await caDatabase(ds, 'bffull', { certificates: 20 });
    const before = snapshot(ds, full.suffix, full.backend, { ownServer: false });
    // As if each record took a pebibyte: no disk here has that.
    await expect(runStep(ds, issuerNameBackfill, full, { diskCheck: { minEntries: 1, bytesPerEntry: 2 ** 50 } })).rejects.toThrow(
      /^not enough disk space for issuerName backfill: about [\d,]+ MiB needed for 20 records, [\d,]+ MiB available of [\d,]+ MiB on \/\S* \(database \S+\)\. Free space there, then run pki-db-upgrade again/,
    );
    expect(snapshot(ds, full.suffix, full.backend, { ownServer: false })).toBe(before);
  });

  it('changes nothing on a second run: one empty search, no write', async () => {
    const db = await caDatabase(ds, 'bf2', { certificates: 120 });
    await runStep(ds, issuerNameBackfill, db);
    const before = snapshot(ds, db.suffix, db.backend, { ownServer: false });
    await pause(1100);
    const { lines } = await runStep(ds, issuerNameBackfill, db);
    expect(lines).toEqual([
      `info: issuerName backfill: updating the entries under ${REPOSITORY(db.suffix)} that match ${MISSING_ISSUER_NAME_FILTER}, at most 120 (the entries under it)`,
      `info: issuerName backfill: nothing to do (no entry under ${REPOSITORY(db.suffix)} matches ${MISSING_ISSUER_NAME_FILTER})`,
    ]);
    expect(snapshot(ds, db.suffix, db.backend, { ownServer: false })).toBe(before);
  });

  it('escapes issuer names with special characters as RFC 4514 (and JSS) requires', async () => {
    const ca = new CertificateAuthority({
      name: new DistinguishedName([
        ['CN', 'Issuing CA, Tier 2'],
        ['OU', 'pki+tomcat'],
        ['O', 'EXAMPLE'],
      ]),
    });
    const db = await caDatabase(ds, 'bfesc', { certificates: 10, ca });
    await runStep(ds, issuerNameBackfill, db);
    const issuers = new Set([...(await records(db.suffix)).values()].map((r) => r.issuerName));
    // The records written by the "CA" (the loader) carry its own, unescaped-comma-free form; the
    // backfilled ones must be a DN the server can parse back to the same name.
    const backfilled = [...(await records(db.suffix)).entries()].filter(([serial]) => db.withoutIssuerName.includes(serial));
    expect(backfilled.length).toBe(3);
    for (const [, r] of backfilled) expect(r.issuerName).toBe('CN=Issuing CA\\, Tier 2,OU=pki\\+tomcat,O=EXAMPLE');
    expect(issuers.size).toBe(1);
  });

  it('records one LDIF change per record in dry-run and writes nothing', async () => {
    const db = await caDatabase(ds, 'bfdry', { certificates: 40 });
    const before = snapshot(ds, db.suffix, db.backend, { ownServer: false });
    const { ldif, lines } = await runStep(ds, issuerNameBackfill, db, { dryRun: true });
    expect(ldif).toHaveLength(12);
    expect(ldif[0]).toMatch(
      new RegExp(`^dn: cn=\\d+,${REPOSITORY(db.suffix)}\nchangetype: modify\nreplace: issuerName\nissuerName: CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE\n-\n`),
    );
    expect(lines.at(-1)).toMatch(/^info: issuerName backfill: 12 recorded as LDIF in /);
    expect(snapshot(ds, db.suffix, db.backend, { ownServer: false })).toBe(before);
  });
});

describe('11.6.0/01-CAIndexes', () => {
  async function indexes(backend: string) {
    return withLdap(ds, async (c) => {
      const { searchEntries } = await c.search(`cn=index,cn=${backend},cn=ldbm database,cn=plugins,cn=config`, {
        scope: 'one',
        attributes: ['cn', 'nsIndexType'],
      });
      return new Map(searchEntries.map((e) => [String(e.cn).toLowerCase(), ([] as string[]).concat(e.nsIndexType as string[]).map((t) => t.toLowerCase()).sort()]));
    });
  }

  it('adds every CA index the backend lacks, builds them, and does nothing the second time', async () => {
    const db = await caDatabase(ds, 'idx', { certificates: 30 });
    const first = await runStep(ds, caIndexes, db);
    expect(first.lines.some((l) => /^info: indexes added or completed on backend .*issuername/.test(l))).toBe(true);
    // Built after the step, in one task for every index it defined.
    const built = new RegExp(`^info: index build finished on backend ${db.backend}: (.*) in [\\d.]+ s$`).exec(first.lines.at(-1)!);
    expect(built?.[1].split(', ').sort()).toEqual(CA_INDEXES.map((i) => i.attribute).sort());
    const defined = await indexes(db.backend);
    for (const spec of CA_INDEXES) {
      expect(defined.get(spec.attribute.toLowerCase())).toEqual(expect.arrayContaining(spec.types.map((t) => t.toLowerCase())));
    }
    // The index task was run and the new index answers: an indexed equality search finds the CA.
    const found = await withLdap(ds, async (c) =>
      (await c.search(REPOSITORY(db.suffix), { scope: 'one', filter: '(serialno=011)', attributes: ['cn'] })).searchEntries.map((e) => String(e.cn)),
    );
    expect(found).toEqual(['1']);

    const before = snapshot(ds, db.suffix, db.backend, { ownServer: false });
    await pause(1100);
    const second = await runStep(ds, caIndexes, db);
    expect(second.lines).toEqual([`info: all ${CA_INDEXES.length} CA indexes already defined on backend ${db.backend}`]);
    expect(snapshot(ds, db.suffix, db.backend, { ownServer: false })).toBe(before);
  });

  it('does not build again what the index task of a killed run built while no run was watching; builds what changed since', async () => {
    const db = await caDatabase(ds, 'idxkill', { certificates: 30 });
    const ourTasks = () => withLdap(ds, async (c) => (await c.search('cn=index,cn=tasks,cn=config', { scope: 'one', filter: `(&(cn=pki-db-upgrade-*)(nsInstance=${db.backend}))`, attributes: ['nsIndexAttribute', 'nsTaskExitCode'] })).searchEntries);
    // A run killed at the %posttrans limit: it defined (and marked) the indexes, activated them and
    // started the task, which 389 DS carried on to its end after the run was gone.
    const killed = await realStepContext(ds, db);
    try {
      const changed = await killed.ctx.indexes.ensure([...CA_INDEXES]);
      const session = await LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
      try {
        for (const d of killed.marked.all()) await activateHeld(session, d);
        const task = await startTask(session, 'index', `pki-db-upgrade-${Date.now()}-99999`, { nsInstance: db.backend, nsIndexAttribute: changed, ttl: '86400' });
        expect((await waitForTask(session, task, { deadlineMs: performance.now() + 60_000, pollMs: 100 })).exitCode).toBe(0);
      } finally {
        await session.close();
      }
    } finally {
      await killed.close();
    }
    expect(await ourTasks()).toHaveLength(1);

    const next = await runStep(ds, caIndexes, db);
    const reused = next.lines.map((l) => /^info: index task of an earlier run already built (.*): not built again$/.exec(l)?.[1]).find(Boolean);
    expect(reused?.split(', ').sort()).toEqual(CA_INDEXES.map((i) => i.attribute).sort());
    expect(await ourTasks()).toHaveLength(1); // no second task
    const marked = await withLdap(ds, async (c) => (await c.search(`cn=index,cn=${db.backend},cn=ldbm database,cn=plugins,cn=config`, { scope: 'one', filter: '(description=pki-db-upgrade: index not built yet*)', attributes: ['cn'] })).searchEntries);
    expect(marked).toEqual([]);
    expect((await runStep(ds, caIndexes, db)).lines).toEqual([`info: all ${CA_INDEXES.length} CA indexes already defined on backend ${db.backend}`]);

    // A definition changed after that task: built again, alone.
    await pause(1100); // timestamps have one-second resolution
    await withLdap(ds, (c) =>
      c.modify(`cn=issuername,cn=index,cn=${db.backend},cn=ldbm database,cn=plugins,cn=config`, new Change({ operation: 'delete', modification: new Attribute({ type: 'nsIndexType', values: ['sub'] }) })),
    );
    const later = await runStep(ds, caIndexes, db);
    expect(later.lines.some((l) => l.includes('already built'))).toBe(false);
    const tasks = await ourTasks();
    expect(tasks).toHaveLength(2);
    expect(tasks.map((t) => ([] as string[]).concat(t.nsIndexAttribute as string[]))).toContainEqual(['issuername']);
  });

  it('completes an index that lacks some types and leaves the rest alone', async () => {
    const db = await caDatabase(ds, 'idxpart', { certificates: 5 });
    await runStep(ds, caIndexes, db);
    await withLdap(ds, (c) =>
      c.modify(
        `cn=issuername,cn=index,cn=${db.backend},cn=ldbm database,cn=plugins,cn=config`,
        new Change({ operation: 'delete', modification: new Attribute({ type: 'nsIndexType', values: ['sub'] }) }),
      ),
    );
    const { lines } = await runStep(ds, caIndexes, db);
    expect(lines).toContain(`info: indexes added or completed on backend ${db.backend}, built after the steps: issuername`);
    expect((await indexes(db.backend)).get('issuername')).toEqual(['eq', 'pres', 'sub']);
  });

  it('records the index definitions and the index task as LDIF in dry-run, and writes nothing', async () => {
    const db = await caDatabase(ds, 'idxdry', { certificates: 5 });
    const before = snapshot(ds, db.suffix, db.backend, { ownServer: false });
    const { ldif } = await runStep(ds, caIndexes, db, { dryRun: true });
    // Unfold LDIF continuation lines (long DNs are folded at 76 characters).
    const text = ldif.join('\n').replace(/\n /g, '');
    expect(text).toMatch(new RegExp(`dn: cn=acmeExpires,cn=index,cn=${db.backend},cn=ldbm database,cn=plugins,cn=config\nchangetype: add\n`));
    expect(text).toMatch(/dn: cn=pki-db-upgrade-\d+-\d+,cn=index,cn=tasks,cn=config\nchangetype: add\n(.*\n)*nsIndexAttribute: issuername\n/);
    expect(snapshot(ds, db.suffix, db.backend, { ownServer: false })).toBe(before);
  });
});

describe('on a database that is not a CA (e.g. a KRA: no certificate repository)', () => {
  it.each([
    ['10.3.3/01-IssuerNameBackfill', issuerNameBackfill],
    ['11.6.0/01-CAIndexes', caIndexes],
    ['11.6.0/02-RequireIssuerName', requireIssuerName],
  ])('%s is for CA databases only', (_id, step) => {
    expect(step.appliesTo).toEqual(['ca']);
  });

  // The steps no longer guard themselves: the framework leaves them out (appliesTo), so a whole run
  // is what shows it. The KRA's data and the backend's indexes stay as they were; the history (the
  // only thing written, with the schema of the steps for every subsystem) does not claim them.
  it('a run leaves the CA steps out: not run, not recorded, and the database version moves past them', async () => {
    const { suffix, backendName } = uniqueSuffix('kra');
    await createBackend(ds, suffix, backendName);
    await withLdap(ds, async (c) => {
      await c.add(`ou=kra,${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'kra' });
      await c.add(`ou=keyRepository,ou=kra,${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'keyRepository' });
    });
    const before = snapshot(ds, `ou=kra,${suffix}`, backendName, { ownServer: false });
    const args = (command: string, ...more: string[]) => [command, '--url', ds.url, '--base-dn', suffix, '--password-file', passwordFile, ...DIRECT_CA_FACTS, ...more];

    const run = await runCli(MAIN_BUNDLE, args('run'));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`subsystem of this database: kra (it holds the key repository ou=keyRepository,ou=kra,${suffix})`);
    for (const id of CA_STEPS) expect(run.stderr).toContain(`not applicable here: ${id} is for ca only; not run, not recorded`);
    expect(run.stderr).toContain('not applicable here: 11.10.1/03-TpsAuditors is for tps only; not run, not recorded');
    expect(run.stderr).not.toMatch(/applying (10\.3\.3|11\.6\.0|11\.10\.1\/0[123])/);
    expect(run.stderr).toMatch(/upgraded from \(untracked\) to 11\.10\.1, 5 step\(s\)/);
    expect(snapshot(ds, `ou=kra,${suffix}`, backendName, { ownServer: false })).toBe(before);

    const history = JSON.parse((await runCli(MAIN_BUNDLE, args('history', '--json'))).stdout) as { step: string; outcome: string }[];
    expect(history.map((r) => [r.step, r.outcome])).toEqual([
      ['10.0.0/01-TrackingSchema', 'done'],
      ['10.0.0/02-TrackingAudit', 'done'],
      ['10.2.0/01-AuthoritySchema', 'done'],
      ['10.3.0/01-CertProfileSchema', 'done'],
      ['11.10.1/04-DirectoryServerSettings', 'done'],
    ]);
    const status = JSON.parse((await runCli(MAIN_BUNDLE, args('status', '--json'))).stdout);
    expect(status).toMatchObject({ databaseVersion: '11.10.1', upToDate: true, pending: [], subsystem: 'kra' });
    expect(status.notApplicable.map((n: { id: string; appliesTo: string[] }) => [n.id, n.appliesTo])).toEqual([...CA_STEPS.map((id) => [id, ['ca']]), ['11.10.1/03-TpsAuditors', ['tps']]]);
    expect((await runCli(MAIN_BUNDLE, args('history'))).stdout).toMatch(/\nNot applicable: 6 step\(s\) for other subsystems: not run on this database, not recorded\n {2}10\.3\.3\/01-IssuerNameBackfill /);
  });
});
