/**
 * The upgrade run, end to end: the bundled tool against a real 389 DS, one fresh suffix per test.
 */
import { Attribute, Change } from 'ldapts';
import { readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from './support/temp-dir';
import path from 'node:path';
import { createBackend, type DsInstance } from './harness/dirsrv';
import { entryExists, standalone, uniqueSuffix, withLdap } from './harness/test-env';
import { collect, fixtureBundle, MAIN_BUNDLE, runCli, startCli } from './support/bundle';
import { snapshot } from './support/directory-snapshot';
import { DIRECT_CA_FACTS } from './support/pki-facts';

let ds: DsInstance;
let passwordFile: string;

beforeAll(() => {
  ds = standalone();
  const dir = tempDir('pkidbu-pw-');
  passwordFile = path.join(dir, 'pw');
  writeFileSync(passwordFile, `${ds.rootPassword}\n`, { mode: 0o600 });
});

async function freshDatabase(prefix: string) {
  const { suffix, backendName } = uniqueSuffix(prefix);
  await createBackend(ds, suffix, backendName);
  const args = (command: string, ...extra: string[]) => [command, '--url', ds.url, '--base-dn', suffix, '--password-file', passwordFile, ...DIRECT_CA_FACTS, ...extra];
  return { suffix, backendName, args };
}

async function status(bundle: string, args: string[]) {
  const r = await runCli(bundle, args);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function history(bundle: string, args: string[]): Promise<{ step: string; outcome: string; server: string; durationMs: number | null; error: string | null; checksum: string }[]> {
  const r = await runCli(bundle, args);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

function replace(type: string, value: string): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
}

const exists = (dn: string) => entryExists(ds, dn);

describe('pki-db-upgrade run on a real 389 DS', () => {
  // The database is an empty suffix, whose subsystem the tool cannot tell: the steps for CA
  // databases only are left out (not recorded), the others applied. Every step applied and recorded
  // on a CA database: upgrade-steps-own-server.test.ts (the full upgrade changes the shared schema).
  it('applies every step for any subsystem to a database never upgraded, records each and sets the version', async () => {
    const db = await freshDatabase('all');
    const run = await runCli(MAIN_BUNDLE, db.args('run'));
    expect(run.stderr).toMatch(/upgraded from \(untracked\) to 11\.10\.1/);
    expect(run.code).toBe(0);

    const s = await status(MAIN_BUNDLE, db.args('status', '--json'));
    expect(s).toMatchObject({ databaseVersion: '11.10.1', packageVersion: '11.10.1', upToDate: true, pending: [], subsystem: null });
    expect(s.server).toBe(`localhost:${ds.port}`);
    expect(s.notApplicable.map((n: { id: string }) => n.id)).toEqual(['10.3.3/01-IssuerNameBackfill', '11.6.0/01-CAIndexes', '11.6.0/02-RequireIssuerName', '11.10.1/01-RevokedCertsByIssuerVlv', '11.10.1/02-EstAdministrators', '11.10.1/03-TpsAuditors']);

    const h = await history(MAIN_BUNDLE, db.args('history', '--json'));
    expect(h.map((r) => r.step)).toEqual([
      '10.0.0/01-TrackingSchema',
      '10.0.0/02-TrackingAudit',
      '10.2.0/01-AuthoritySchema',
      '10.3.0/01-CertProfileSchema',
      '11.10.1/04-DirectoryServerSettings',
    ]);
    for (const r of h) {
      expect(r).toMatchObject({ outcome: 'done', server: `localhost:${ds.port}`, error: null });
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
      expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
    }
    await withLdap(ds, async (c) => {
      const { searchEntries } = await c.search('cn=schema', { scope: 'base', attributes: ['objectClasses'] });
      expect(String(searchEntries[0].objectClasses)).toMatch(/NAME 'authority'/);
    });
  });

  it('writes nothing at all on a second run', async () => {
    const db = await freshDatabase('noop');
    expect((await runCli(MAIN_BUNDLE, db.args('run'))).code).toBe(0);
    const before = snapshot(ds, db.suffix, db.backendName, { ownServer: false });
    // modifyTimestamp has one-second resolution: let a second pass so any write would show.
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runCli(MAIN_BUNDLE, db.args('run'));
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/nothing to do/);
    expect(snapshot(ds, db.suffix, db.backendName, { ownServer: false })).toBe(before);
  });

  it('loads no TLS, child processes, crypto or assert on a second run over ldap:// (loaded at first use: packaging/lean-start.mjs)', async () => {
    const db = await freshDatabase('lean');
    expect((await runCli(MAIN_BUNDLE, db.args('run'))).code).toBe(0);
    const dir = tempDir('pkidbu-loaded-');
    const list = path.join(dir, 'loaded');
    writeFileSync(path.join(dir, 'list.cjs'), `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`);
    const second = await runCli(MAIN_BUNDLE, db.args('run'), { env: { NODE_OPTIONS: `--require ${path.join(dir, 'list.cjs')}` } });
    expect(second.stderr).toMatch(/nothing to do/);
    const loaded = readFileSync(list, 'utf8').split('\n').filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
    expect(loaded).toContain('net'); // the list is this run's: it connected
    expect(loaded.filter((m) => /^(tls|_tls_\w+|internal\/tls\/.*|child_process|internal\/child_process|crypto|internal\/crypto\/.*|assert|internal\/assert\/.*)$/.test(m))).toEqual([]);
  });

  it('stops at a failing step with the version not advanced past it, and resumes there', async () => {
    const db = await freshDatabase('fail');
    const bundle = fixtureBundle('failing');
    const first = await runCli(bundle, db.args('run'));
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/step 1\.2\.0\/01-FailsUntilAllowed failed: .*ou=allow/);
    expect(first.stderr).toMatch(/stays at version 1\.1\.0/);

    const s = await status(bundle, db.args('status', '--json'));
    expect(s.databaseVersion).toBe('1.1.0');
    expect(s.pending.map((p: { id: string; reason: string }) => [p.id, p.reason])).toEqual([
      ['1.2.0/01-FailsUntilAllowed', 'failed'],
      ['1.2.0/02-AfterFailure', 'new'],
    ]);
    expect(s.lastResult).toMatchObject({ step: '1.2.0/01-FailsUntilAllowed', outcome: 'failed' });
    expect(await exists(`ou=after,${db.suffix}`)).toBe(false);

    // The administrator fixes the cause; the next run starts at the failed step.
    await withLdap(ds, (c) => c.add(`ou=allow,${db.suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'allow' }));
    const second = await runCli(bundle, db.args('run'));
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/applying 1\.2\.0\/01-FailsUntilAllowed \(cluster, failed before\)/);
    expect(second.stderr).not.toMatch(/applying 1\.1\.0\/01-AddMarker/);
    const h = await history(bundle, db.args('history', '--json'));
    expect(h.map((r) => [r.step, r.outcome, r.error])).toEqual([
      ['10.0.0/01-TrackingSchema', 'done', null],
      ['10.0.0/02-TrackingAudit', 'done', null],
      ['1.1.0/01-AddMarker', 'done', null],
      ['1.2.0/01-FailsUntilAllowed', 'done', null],
      ['1.2.0/02-AfterFailure', 'done', null],
    ]);
    expect((await status(bundle, db.args('status', '--json'))).databaseVersion).toBe('2.0.0');
  });

  it('re-runs a step left "started" by a killed process, and completes', async () => {
    const db = await freshDatabase('crash');
    const bundle = fixtureBundle('slow');
    const child = startCli(bundle, db.args('run'));
    const exited = new Promise((resolve) => child.on('close', resolve));
    // Kill it while the step is inside its body (after its first write).
    const deadline = Date.now() + 30_000;
    while (!(await exists(`ou=begun,${db.suffix}`))) {
      if (Date.now() > deadline) throw new Error('the slow step never began');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;

    const s = await status(bundle, db.args('status', '--json'));
    expect(s.pending).toEqual([expect.objectContaining({ id: '1.1.0/01-WaitForRelease', reason: 'interrupted' })]);
    // No release of the fixture is complete yet (its first, 1.1.0, holds the interrupted step).
    expect(s.databaseVersion).toBeNull();
    const h = await history(bundle, db.args('history', '--json'));
    expect(h.find((r) => r.step === '1.1.0/01-WaitForRelease')?.outcome).toBe('started');

    await withLdap(ds, (c) => c.add(`ou=release,${db.suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'release' }));
    const rerun = await runCli(bundle, db.args('run'));
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/interrupted before/);
    expect(await exists(`ou=finished,${db.suffix}`)).toBe(true);
    expect((await status(bundle, db.args('status', '--json'))).databaseVersion).toBe('2.0.0');
  });

  it('takes a lock: a second direct run on the same database exits 3 naming the holder, a third waits for it', async () => {
    const db = await freshDatabase('lock');
    const bundle = fixtureBundle('slow');
    const first = startCli(bundle, db.args('run'));
    const firstDone = collect(first);
    const deadline = Date.now() + 30_000;
    while (!(await exists(`ou=begun,${db.suffix}`))) {
      if (Date.now() > deadline) throw new Error('the slow step never began');
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = await runCli(bundle, db.args('run'));
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    // The lock is taken while the session opens: a session that fails ends the wait for the lock,
    // and the failure is what the run says, while the first still holds the lock (a wait of 600 s
    // would outlast the test).
    const wrongPassword = path.join(tempDir('pkidbu-pw-'), 'pw');
    writeFileSync(wrongPassword, 'not the password\n', { mode: 0o600 });
    const refused = await runCli(bundle, db.args('run', '--wait', '600').map((a) => (a === passwordFile ? wrongPassword : a)));
    expect(refused.stderr).toMatch(/rejected the credentials of cn=Directory Manager/);
    expect(refused.stderr).not.toMatch(/running without a lock/);
    expect(refused.code).toBe(2);
    expect(first.exitCode).toBeNull();

    const third = startCli(bundle, db.args('run', '--wait', '60'));
    const thirdDone = collect(third);
    await new Promise((r) => setTimeout(r, 500));
    await withLdap(ds, (c) => c.add(`ou=release,${db.suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'release' }));
    expect((await firstDone).code).toBe(0);
    const waited = await thirdDone;
    expect(waited.code).toBe(0);
    expect(waited.stderr).toMatch(/nothing to do/);
    const h = await history(bundle, db.args('history', '--json'));
    expect(h.filter((r) => r.step === '1.1.0/01-WaitForRelease').map((r) => r.outcome)).toEqual(['done']);
  });

  it('dry-run prints the LDIF of every pending step and changes no entry', async () => {
    const db = await freshDatabase('dry');
    const bundle = fixtureBundle('dry-run');
    const before = snapshot(ds, db.suffix, db.backendName, { ownServer: false });
    const r = await runCli(bundle, db.args('dry-run'));
    expect(r.code).toBe(0);
    const ldif = r.stdout.replace(/\n /g, ''); // unfold continuation lines
    expect(ldif).toContain('# step 1.1.0/01-Entries (cluster): Add ou=dryrun and describe the suffix');
    expect(ldif).toContain(`dn: ou=dryrun,${db.suffix}\nchangetype: add\n`);
    expect(ldif).toContain(`dn: ${db.suffix}\nchangetype: modify\nreplace: description\ndescription: upgraded by a test\n-\n`);
    expect(ldif).toContain(`dn: cn=description,cn=index,cn=${db.backendName},cn=ldbm database,cn=plugins,cn=config\nchangetype: add\n`);
    expect(ldif).toMatch(/dn: cn=pki-db-upgrade-\d+-\d+,cn=index,cn=tasks,cn=config\nchangetype: add\n/);
    expect(r.stderr).toMatch(/dry-run: 4 step\(s\) would be applied, then an index task for description; nothing was changed/);
    expect(snapshot(ds, db.suffix, db.backendName, { ownServer: false })).toBe(before);
  });

  it('refuses a database newer than the package, writing nothing', async () => {
    const db = await freshDatabase('down');
    expect((await runCli(MAIN_BUNDLE, db.args('run'))).code).toBe(0);
    await withLdap(ds, (c) =>
      c.modify(`cn=dbUpgrade,${db.suffix}`, replace('pkiDbUpgradeVersion', '12.0.0')),
    );
    const before = snapshot(ds, db.suffix, db.backendName, { ownServer: false });
    const r = await runCli(MAIN_BUNDLE, db.args('run'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/database is at version 12\.0\.0, newer than this package \(11\.10\.1\)/);
    expect(r.stderr).toMatch(/update the packages on this server/);
    expect(snapshot(ds, db.suffix, db.backendName, { ownServer: false })).toBe(before);
  });

  it('reports an applied step whose script changed since, without re-running it', async () => {
    const db = await freshDatabase('sum');
    expect((await runCli(MAIN_BUNDLE, db.args('run'))).code).toBe(0);
    await withLdap(ds, (c) =>
      c.modify(`cn=10.2.0/01-AuthoritySchema,cn=history,cn=dbUpgrade,${db.suffix}`, replace('pkiDbUpgradeChecksum', '0'.repeat(64))),
    );
    const r = await runCli(MAIN_BUNDLE, db.args('run'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warn: step 10\.2\.0\/01-AuthoritySchema was applied .* checksum was 000000000000.*edited after it ran/);
    expect(r.stderr).not.toMatch(/applying 10\.2\.0/);
    const s = await status(MAIN_BUNDLE, db.args('status', '--json'));
    expect(s.warnings).toEqual([expect.stringMatching(/10\.2\.0\/01-AuthoritySchema/)]);
  });
});

describe('pki-db-upgrade errors', () => {
  it('exits 4 with a clear message when nothing listens', async () => {
    const r = await runCli(MAIN_BUNDLE, ['status', '--url', 'ldap://127.0.0.1:9', '--base-dn', 'o=x', '--password-file', passwordFile, '--connect-timeout', '3']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/389 DS at ldap:\/\/127\.0\.0\.1:9 refused the connection/);
  });

  it('exits 2 on a wrong password without printing it', async () => {
    const dir = tempDir('pkidbu-pw-');
    const wrong = path.join(dir, 'pw');
    writeFileSync(wrong, 'Not.The.Password-42\n', { mode: 0o600 });
    const r = await runCli(MAIN_BUNDLE, ['run', '--url', ds.url, '--base-dn', 'o=x', '--password-file', wrong]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rejected the credentials of cn=Directory Manager/);
    expect(r.stderr + r.stdout).not.toContain('Not.The.Password-42');
  });

  it('exits 2 on a base DN that does not exist', async () => {
    const r = await runCli(MAIN_BUNDLE, ['status', '--url', ds.url, '--base-dn', 'o=nowhere', '--password-file', passwordFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/o=nowhere/);
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await runCli(MAIN_BUNDLE, ['upgrade-everything'])).code).toBe(2);
    const r = await runCli(MAIN_BUNDLE, ['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--frobnicate/);
  });
});
