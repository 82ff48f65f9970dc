/**
 * The RPM, built by `make rpm` (rpmbuild -ba from the source tarball) and installed with the real
 * rpm into throw-away roots: version N, then an upgrade to N+1, whose %posttrans runs the bundled
 * tool chrooted into the root against a PKI database in the harness's real 389 DS. Also the
 * package's metadata, documentation and rpmlint, and the source RPM: what it holds, its offline
 * rebuild, its changelog. (Installed through dnf from a repository: rpm-dnf.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { createBackend, removeInstance, startInstance, stopInstance, type DsInstance } from './harness/dirsrv';
import { loadPkiDatabase } from './harness/pki-database';
import { entryExists, ownInstance, standalone, uniqueSuffix, withLdap } from './harness/test-env';
import { readStatus } from './support/fake-pki';
import { certificateRecords } from './support/certificate-records';
import { closedLoopbackPort } from './support/ports';
import { inRoot, installedVersion, listTree, makeRoot, packageLines, rpmUpgrade, run, RPM_ENV, SCRIPTLET_COMMANDS } from './support/rpm-root';
import {
  allowedNewPaths as allowedPaths,
  databaseVersion,
  fileState,
  INSTANCE,
  makeRpmsNAndNext,
  PKI_UID,
  pkiServerIn,
  queryPackage,
  REPO as repo,
  VERSION_N as versionN,
  VERSION_NEXT as versionNext,
  type BuiltPackage,
  type PkiServer,
} from './support/rpm-package';

/** Dogtag's own unit files, as its packages install them. */
const DOGTAG_UNITS = path.join(repo, 'test/fixtures/dogtag/systemd');

let work: string;
let packageN: BuiltPackage;
let packageNext: BuiltPackage;
let rpmN: string;
let rpmNext: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-rpm-'));
  ({ packageN, packageNext } = await makeRpmsNAndNext(work));
  ({ rpm: rpmN } = packageN);
  ({ rpm: rpmNext } = packageNext);
}, 180_000);

/**
 * The full upgrade of a CA database changes cn=schema, which every suffix of a server shares
 * (11.6.0/02-RequireIssuerName): it runs on a 389 DS of its own, not on the shared one.
 */
let caServer: DsInstance | undefined;
async function ownServer(): Promise<DsInstance> {
  caServer ??= await ownInstance('rpm', 24);
  return caServer;
}

afterAll(async () => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (caServer) await removeInstance(caServer);
});

/**
 * A root holding the scriptlet commands and one Dogtag-style instance whose CA database is `baseDN`
 * on 127.0.0.1:`port` (password.conf owned by the PKI user, 0600, old mtime).
 */
function fakeServer(name: string, db: { port: number; baseDN: string; backend?: string }): PkiServer {
  const root = path.join(work, name);
  makeRoot(root);
  return pkiServerIn(root, { ...db, password: standalone().rootPassword });
}

/** Paths an rpm transaction may add: the package's own files, rpm's database, the tool's log and status. */
function allowedNewPaths(rpmFile: string, server: PkiServer): Promise<(p: string) => boolean> {
  return allowedPaths(rpmFile, server, (p) => p === '/var/lib/rpm' || p.startsWith('/var/lib/rpm/'));
}

describe('the RPM installed and upgraded with real rpm', () => {
  it('%posttrans of version N+1 upgrades the database from N to N+1 and leaves nothing behind', async () => {
    const ds = await ownServer();
    const { suffix, backendName } = uniqueSuffix('rpm');
    await loadPkiDatabase(ds, { suffix, backendName, certificates: 20 });
    const server = fakeServer('server-up', { port: ds.port, baseDN: suffix, backend: backendName });
    const passwordBefore = fileState(server.passwordConf);

    // A first installation upgrades nothing, and says so once.
    const install = await rpmUpgrade(server.root, rpmN);
    expect(install.code).toBe(0);
    expect(packageLines(install)).toEqual([
      "pki-db-upgrade: installed; PKI databases are not upgraded on a first installation: run 'pki-db-upgrade status', then 'pki-db-upgrade run'",
    ]);
    expect(await databaseVersion(ds, suffix)).toBeUndefined();
    expect(fs.existsSync(server.statusFile)).toBe(false);
    expect(fs.existsSync(server.marker)).toBe(false);

    // The administrator runs the installed tool by hand: the database reaches version N.
    const manual = await inRoot(server.root, ['/usr/sbin/pki-db-upgrade', 'run', '--instance', INSTANCE]);
    expect(manual.stderr).toMatch(new RegExp(`upgraded from \\(untracked\\) to ${versionN.replace(/\./g, '\\.')}`));
    expect(manual.code).toBe(0);

    // The wrapper runs node in an environment of its own: what rpm's environment holds does not
    // reach it. Node itself honours NODE_OPTIONS (the control), the wrapper does not pass it on.
    fs.writeFileSync(path.join(server.root, 'tmp/preload.js'), "require('fs').writeFileSync('/tmp/preload-ran', process.argv.join(' '))");
    const hostile = { ...RPM_ENV, NODE_OPTIONS: '--require /tmp/preload.js', NODE_TLS_REJECT_UNAUTHORIZED: '0', PKI_DB_UPGRADE_ROOT: '/nonexistent' };
    const control = await run('chroot', [server.root, '/usr/bin/node', '-e', '0'], { env: hostile });
    expect({ code: control.code, ran: fs.existsSync(path.join(server.root, 'tmp/preload-ran')) }).toEqual({ code: 0, ran: true });
    fs.rmSync(path.join(server.root, 'tmp/preload-ran'));
    const wrapped = await run('chroot', [server.root, '/usr/sbin/pki-db-upgrade', 'status', '--instance', INSTANCE, '--json'], { env: hostile });
    expect(wrapped.code).toBe(0);
    expect(fs.existsSync(path.join(server.root, 'tmp/preload-ran'))).toBe(false);
    expect(JSON.parse(wrapped.stdout)).toMatchObject({ instance: INSTANCE }); // /etc/pki, not PKI_DB_UPGRADE_ROOT
    fs.rmSync(path.join(server.root, 'tmp/preload.js'));
    expect(await databaseVersion(ds, suffix)).toBe(versionN);

    // dnf update: version N+1, whose one new step %posttrans applies.
    const before = listTree(server.root);
    const allowed = await allowedNewPaths(rpmNext, server);
    const upgrade = await rpmUpgrade(server.root, rpmNext);
    expect(upgrade.code).toBe(0);
    expect(packageLines(upgrade)).toEqual([expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: ca upgraded from ${versionN} to ${versionNext} \\(1 step\\(s\\), [0-9.]+ ?m?s\\); backup taken first: \\S+/pki-db-upgrade-${backendName}-\\d{8}T\\d{9}Z\\.ldif$`))]);
    expect(`${upgrade.stdout}${upgrade.stderr}`).not.toMatch(/not found|scriptlet failed|No such file/i);
    expect(await installedVersion(server.root, 'pki-db-upgrade')).toBe(`${versionNext}-1`);

    expect(await databaseVersion(ds, suffix)).toBe(versionNext);
    expect(await entryExists(ds, `ou=nextPackage,${suffix}`)).toBe(true);

    const log = fs.readFileSync(server.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`pki-db-upgrade ${versionNext} run: instance ${INSTANCE}, mode posttrans`));
    expect(log).toMatch(/finished in .*ca upgraded from/);
    expect(log).not.toContain(server.password);
    expect(`${upgrade.stdout}${upgrade.stderr}`).not.toContain(server.password);

    const status = readStatus(server);
    expect(status.lastRun).toMatchObject({ mode: 'posttrans', result: 'upgraded', exitCode: 0, packageVersion: versionNext, logFile: `/var/log/pki/${INSTANCE}/db-upgrade.log` });
    expect(status.lastRun.databases).toEqual([
      expect.objectContaining({ subsystem: 'ca', result: 'upgraded', fromVersion: versionN, toVersion: versionNext, steps: [expect.objectContaining({ id: `${versionNext}/01-MarkNextPackage`, outcome: 'done' })] }),
    ]);
    expect(status.pending).toBeUndefined();

    // password.conf exactly as before; no marker, lock, holder or temporary file anywhere.
    expect(fileState(server.passwordConf)).toEqual(passwordBefore);
    const leftovers = [...listTree(server.root)].filter((p) => !before.has(p) && !allowed(p));
    expect(leftovers).toEqual([]);
    expect(fs.readdirSync(server.stateDir).sort()).toEqual(['status.json']);
    expect(fs.existsSync(server.marker)).toBe(false);
  });

  it('with the 389 DS unreachable the transaction still succeeds and the upgrade is reported pending', async () => {
    const server = fakeServer('server-down', { port: await closedLoopbackPort(), baseDN: 'o=pki-tomcat-CA' });
    const passwordBefore = fileState(server.passwordConf);
    expect((await rpmUpgrade(server.root, rpmN)).code).toBe(0);

    const before = listTree(server.root);
    const allowed = await allowedNewPaths(rpmNext, server);
    const upgrade = await rpmUpgrade(server.root, rpmNext);
    expect(upgrade.code).toBe(0);
    expect(upgrade.ms).toBeLessThan(30_000);
    expect(packageLines(upgrade)).toEqual([
      expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: database upgrade did not complete: .*upgrade pending; see /var/log/pki/${INSTANCE}/db-upgrade\\.log$`)),
    ]);
    expect(await installedVersion(server.root, 'pki-db-upgrade')).toBe(`${versionNext}-1`);

    const status = readStatus(server);
    expect(status.lastRun).toMatchObject({ mode: 'posttrans', result: 'server-down', exitCode: 4, packageVersion: versionNext });
    expect(status.pending).toMatchObject({ packageVersion: versionNext });
    const shown = await inRoot(server.root, ['/usr/sbin/pki-db-upgrade', 'status', '--instance', INSTANCE]);
    expect(shown.stdout).toMatch(new RegExp(`Upgrade: +PENDING since .* \\(package ${versionNext.replace(/\./g, '\\.')}\\)`));

    expect(fileState(server.passwordConf)).toEqual(passwordBefore);
    expect([...listTree(server.root)].filter((p) => !before.has(p) && !allowed(p))).toEqual([]);
    expect(fs.existsSync(server.marker)).toBe(false);
  });

  it('with auto_upgrade = false the package upgrade leaves the database alone and reports it pending', async () => {
    const ds = standalone();
    const { suffix, backendName } = uniqueSuffix('rpmoff');
    await createBackend(ds, suffix, backendName);
    const server = fakeServer('server-opted-out', { port: ds.port, baseDN: suffix });
    fs.copyFileSync(path.join(repo, 'packaging/db-upgrade.conf'), server.toolConfig);
    fs.appendFileSync(server.toolConfig, 'auto_upgrade = false\n');
    expect((await rpmUpgrade(server.root, rpmN)).code).toBe(0);

    const upgrade = await rpmUpgrade(server.root, rpmNext);
    expect(upgrade.code).toBe(0);
    expect(packageLines(upgrade)).toEqual([
      `pki-db-upgrade: ${INSTANCE}: skipped: auto_upgrade = false in /etc/pki/${INSTANCE}/db-upgrade.conf; run "pki-db-upgrade --instance ${INSTANCE}" to upgrade`,
    ]);
    expect(await databaseVersion(standalone(), suffix)).toBeUndefined();
    expect(readStatus(server)).toMatchObject({ lastRun: { result: 'skipped', mode: 'posttrans' }, pending: { packageVersion: versionNext } });

    // The documented way back: a manual run, which auto_upgrade does not affect.
    const manual = await inRoot(server.root, ['/usr/sbin/pki-db-upgrade', 'run', '--instance', INSTANCE]);
    expect(manual.code).toBe(0);
    expect(await databaseVersion(standalone(), suffix)).toBe(versionNext);
    expect(readStatus(server).pending).toBeUndefined();
  });

  it('without password.conf (nuxwdog) upgrades with the root-only password, never copies it into password.conf (the PKI user could keep it), and leaves nothing behind', async () => {
    const ds = standalone();
    const { suffix, backendName } = uniqueSuffix('rpmnux');
    await createBackend(ds, suffix, backendName);
    const server = fakeServer('server-nuxwdog', { port: ds.port, baseDN: suffix });
    fs.rmSync(server.passwordConf);
    const rootOnly = path.join(server.root, 'root/internaldb.pass');
    fs.writeFileSync(rootOnly, `internaldb=${server.password}\n`, { mode: 0o600 });
    // Root's settings in root's folder: in the PKI user's /etc/pki/<instance> they would not count.
    fs.mkdirSync(path.join(server.root, 'etc/pki-db-upgrade'), { recursive: true }); // the package makes it too
    fs.writeFileSync(path.join(server.root, `etc/pki-db-upgrade/${INSTANCE}.conf`), `password_file = /root/internaldb.pass\nuse_keyring = false\ntrusted_servers = 127.0.0.1:${ds.port}\n`);
    expect((await rpmUpgrade(server.root, rpmN)).code).toBe(0);

    const before = listTree(server.root);
    const allowed = await allowedNewPaths(rpmNext, server);
    const upgrade = await rpmUpgrade(server.root, rpmNext);
    expect(upgrade.code).toBe(0);
    expect(packageLines(upgrade)).toEqual([expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: ca upgraded from \\(untracked\\) to ${versionNext}`))]);
    expect(await databaseVersion(standalone(), suffix)).toBe(versionNext);
    const log = fs.readFileSync(server.logFile, 'utf8');
    expect(log).toContain(`/etc/pki/${INSTANCE}/password.conf not restored: the PKI user (uid ${PKI_UID}) cannot read the configured password file`);
    expect(log).not.toContain('restored /etc/pki');
    expect(log).not.toContain(server.password);
    expect(fs.existsSync(server.passwordConf)).toBe(false);
    expect([...listTree(server.root)].filter((p) => !before.has(p) && !allowed(p))).toEqual([]);
    expect(fs.readdirSync(server.stateDir).sort()).toEqual(['status.json']);
  });

  it('rpm -e removes the package and leaves what docs/rpm.md says it leaves: the log, the status file and its folder, root\'s settings', async () => {
    const ds = standalone();
    const { suffix, backendName } = uniqueSuffix('rpmrm');
    await createBackend(ds, suffix, backendName);
    const server = fakeServer('server-erased', { port: ds.port, baseDN: suffix });
    const before = listTree(server.root);
    expect((await rpmUpgrade(server.root, rpmN)).code).toBe(0);
    fs.writeFileSync(path.join(server.root, 'etc/pki-db-upgrade/pki-tomcat.conf'), 'connect_timeout = 20\n');
    expect((await inRoot(server.root, ['/usr/sbin/pki-db-upgrade', 'run', '--instance', INSTANCE])).code).toBe(0);

    const erase = await run('rpm', ['--root', server.root, '--dbpath', '/var/lib/rpm', '--nodeps', '-e', 'pki-db-upgrade'], { env: RPM_ENV });
    expect(erase.code).toBe(0);
    expect(await installedVersion(server.root, 'pki-db-upgrade')).toBeUndefined();
    // Directories of the standard hierarchy that rpm made in this bare root (on a host they belong
    // to the filesystem package) do not count; a file anywhere would.
    const hierarchy = (p: string) => (p.startsWith('/usr/') || p === '/var/cache') && fs.statSync(path.join(server.root, p)).isDirectory();
    const left = [...listTree(server.root)].filter((p) => !before.has(p) && !p.startsWith('/var/lib/rpm') && !hierarchy(p));
    expect(left.sort()).toEqual(
      [
        '/etc/pki-db-upgrade',
        '/etc/pki-db-upgrade/pki-tomcat.conf',
        `/var/log/pki/${INSTANCE}/db-upgrade.log`,
        '/var/lib/pki-db-upgrade',
        `/var/lib/pki-db-upgrade/${INSTANCE}`,
        `/var/lib/pki-db-upgrade/${INSTANCE}/status.json`,
      ].sort(),
    );
  });

  it('where systemd runs, %posttrans runs the tool in a transient unit (systemd-run --wait --pipe) bounded by RuntimeMaxSec, and reads its exit code', async () => {
    const server = fakeServer('server-systemd', { port: await closedLoopbackPort(), baseDN: 'o=pki-tomcat-CA' });
    expect((await rpmUpgrade(server.root, rpmN)).code).toBe(0);
    // As on a host booted with systemd: its runtime folder, and a systemd-run that says how it was
    // called and then runs the command (the unit's own limits are systemd's to enforce).
    fs.mkdirSync(path.join(server.root, 'run/systemd/system'), { recursive: true });
    const systemdRun = path.join(server.root, 'usr/bin/systemd-run');
    fs.writeFileSync(systemdRun, '#!/bin/sh\necho "$*" > /var/lib/systemd-run.args\nwhile [ $# -gt 0 ]; do case "$1" in -p) shift 2 ;; -*) shift ;; *) break ;; esac; done\nexec "$@"\n', { mode: 0o755 });

    const upgrade = await rpmUpgrade(server.root, rpmNext);
    expect(upgrade.code).toBe(0);
    expect(upgrade.stderr).not.toMatch(/rpm-tmp|cannot create|not found/);
    expect(fs.readFileSync(path.join(server.root, 'var/lib/systemd-run.args'), 'utf8').trim()).toMatch(
      /^--quiet --wait --pipe --collect --service-type=exec --unit=pki-db-upgrade-posttrans-\d+ -p RuntimeMaxSec=1800 -p TimeoutStopSec=15 \/usr\/sbin\/pki-db-upgrade run --mode posttrans$/,
    );
    // The tool's own line and exit code (4: the server is down) came back through systemd-run.
    expect(packageLines(upgrade)).toEqual([expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: database upgrade did not complete: .*upgrade pending`))]);
    expect(readStatus(server)).toMatchObject({ lastRun: { mode: 'posttrans', result: 'server-down', exitCode: 4 } });
  });

  it('stops an upgrade that hangs at the time limit, records it as interrupted and still succeeds', async () => {
    // A server that accepts connections and never answers; the tool would wait 60 s for it.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const server = fakeServer('server-hung', { port: (silent.address() as net.AddressInfo).port, baseDN: 'o=pki-tomcat-CA' });
      fs.writeFileSync(server.toolConfig, 'connect_timeout = 60\n');
      const passwordBefore = fileState(server.passwordConf);
      expect((await rpmUpgrade(server.root, rpmN)).code).toBe(0);

      const upgrade = await rpmUpgrade(server.root, rpmNext, { PKI_DB_UPGRADE_POSTTRANS_TIMEOUT: '3' });
      expect(upgrade.code).toBe(0);
      expect(sockets.length).toBeGreaterThan(0); // the tool was waiting on the server when stopped
      expect(upgrade.ms).toBeLessThan(20_000); // well before the tool's own 60 s
      expect(packageLines(upgrade)).toEqual([
        "pki-db-upgrade: the database upgrade did not finish within 3 s and was stopped; it is pending: run 'pki-db-upgrade status', then 'pki-db-upgrade run'",
      ]);
      expect(readStatus(server)).toMatchObject({ lastRun: { result: 'interrupted', mode: 'posttrans' }, pending: { packageVersion: versionNext } });
      expect(fileState(server.passwordConf)).toEqual(passwordBefore);
      expect(fs.readdirSync(server.stateDir).sort()).toEqual(['status.json']);
      expect(fs.existsSync(server.marker)).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe("the start-time drop-in of Dogtag's units, as the RPM installs it", () => {
  it('after an upgrade made with the 389 DS down, its ExecStartPre completes the upgrade before the PKI server starts', async () => {
    const ds = await ownServer();
    const { suffix, backendName } = uniqueSuffix('rpmstart');
    await loadPkiDatabase(ds, { suffix, backendName, certificates: 20, withoutIssuerNameRatio: 0.5 });
    const server = fakeServer('start-up', { port: ds.port, baseDN: suffix, backend: backendName });
    expect((await rpmUpgrade(server.root, rpmN)).code).toBe(0);

    // dnf update while the 389 DS is stopped: the upgrade is left pending.
    await stopInstance(ds);
    let upgrade;
    try {
      upgrade = await rpmUpgrade(server.root, rpmNext);
    } finally {
      await startInstance(ds);
    }
    expect(upgrade.code).toBe(0);
    expect(packageLines(upgrade)).toEqual([expect.stringMatching(/database upgrade did not complete: .*upgrade pending/)]);
    expect(await databaseVersion(ds, suffix)).toBeUndefined();

    // systemctl start pki-tomcatd@pki-tomcat: the ExecStartPre of the drop-in as installed.
    const command = execStartPreOf(server.root, 'pki-tomcatd@.service', `pki-tomcatd@${INSTANCE}.service`);
    expect(command).toEqual({ asRoot: true, argv: ['/usr/sbin/pki-db-upgrade', 'run', '--mode', 'start', '--instance', INSTANCE] });
    const start = await run('chroot', [server.root, ...command.argv], { env: RPM_ENV });
    expect(start.code).toBe(0);
    expect(packageLines(start)).toEqual([expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: ca upgraded from \\(untracked\\) to ${versionNext.replace(/\./g, '\\.')} \\(\\d+ step\\(s\\), [0-9.]+ ?m?s\\); backup taken first: /\\S+\\.ldif; indexes built: acmeAccountId, acmeAuthorizationId, acmeAuthorizationWildcard and 31 more$`))]);
    expect(await databaseVersion(ds, suffix)).toBe(versionNext);
    expect([...(await certificateRecords(ds, suffix)).values()].filter((r) => r.issuerName === undefined)).toEqual([]);
    expect(readStatus(server).lastRun).toMatchObject({ mode: 'start', result: 'upgraded', exitCode: 0 });
    expect(readStatus(server).pending).toBeUndefined();
  });

  it('lets a server still on the older package start on the newer database, and stops it once that holds a change its package does not ship that is not backward compatible', async () => {
    const ds = await ownServer();
    const { suffix, backendName } = uniqueSuffix('rpmroll');
    await loadPkiDatabase(ds, { suffix, backendName, certificates: 5 });
    const updated = fakeServer('roll-updated', { port: ds.port, baseDN: suffix, backend: backendName });
    expect((await rpmUpgrade(updated.root, rpmNext)).code).toBe(0);
    expect((await run('chroot', [updated.root, '/usr/sbin/pki-db-upgrade', 'run', '--instance', INSTANCE], { env: RPM_ENV })).code).toBe(0);
    expect(await databaseVersion(ds, suffix)).toBe(versionNext);

    const older = fakeServer('roll-older', { port: ds.port, baseDN: suffix, backend: backendName });
    expect((await rpmUpgrade(older.root, rpmN)).code).toBe(0);
    const command = execStartPreOf(older.root, 'pki-tomcatd-nuxwdog@.service', `pki-tomcatd-nuxwdog@${INSTANCE}.service`);
    const warned = await run('chroot', [older.root, ...command.argv], { env: RPM_ENV });
    expect(warned.code).toBe(0);
    expect(packageLines(warned)).toEqual([
      expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: starting anyway \\(exit 2 left for later\\): ca: the database is at version ${versionNext.replace(/\./g, '\\.')}, newer than this package`)),
    ]);

    // As a release whose step is not backward compatible records it (pkiDbUpgradeBackwardCompatible).
    const stepId = `${versionNext}/01-MarkNextPackage`;
    await withLdap(ds, (c) => c.modify(`cn=${stepId},cn=history,cn=dbUpgrade,${suffix}`, new Change({ operation: 'add', modification: new Attribute({ type: 'pkiDbUpgradeBackwardCompatible', values: ['FALSE'] }) })));
    const stopped = await run('chroot', [older.root, ...command.argv], { env: RPM_ENV });
    expect(stopped.code).toBe(2);
    expect(packageLines(stopped)).toEqual([
      `pki-db-upgrade: ${INSTANCE}: not starting: the database holds changes this package does not ship and that are not backward compatible (ca: ${stepId} (applied by localhost:${ds.port}, package ${versionNext})); ` +
        `update the PKI packages on this server (dnf update pki-*), then start it; see /var/log/pki/${INSTANCE}/db-upgrade.log`,
    ]);
  });
});

/**
 * The ExecStartPre of the package's drop-in for `template` as systemd runs it for `unit`: the
 * specifiers expanded as systemd.unit(5) says (%i: the instance name, between "@" and the suffix;
 * %%: a percent sign); any other specifier fails the test rather than being guessed. `+`: as root.
 */
function execStartPreOf(root: string, template: string, unit: string): { asRoot: boolean; argv: string[] } {
  const text = fs.readFileSync(path.join(root, 'usr/lib/systemd/system', `${template}.d`, 'pki-db-upgrade.conf'), 'utf8');
  const lines = text.split('\n').filter((l) => l.startsWith('ExecStartPre='));
  expect(lines).toHaveLength(1);
  let value = lines[0].slice('ExecStartPre='.length).trim();
  const asRoot = value.startsWith('+');
  if (asRoot) value = value.slice(1);
  const instance = /^[^@]+@(.*)\.service$/.exec(unit)![1];
  const expanded = value.replace(/%(.)/g, (_, c: string) => {
    if (c === 'i') return instance;
    if (c === '%') return '%';
    throw new Error(`specifier %${c} in ${template}'s drop-in: expand it here as systemd.unit(5) says`);
  });
  if (/["'\\]/.test(expanded)) throw new Error(`quoting in ${template}'s drop-in: split it here as systemd does`);
  return { asRoot, argv: expanded.split(/\s+/) };
}

describe('the RPM package', () => {
  it("installs the start-time drop-in for both of Dogtag's units, which systemd-analyze verify accepts with Dogtag's real unit files", async () => {
    const root = path.join(work, 'units');
    makeRoot(root);
    expect((await rpmUpgrade(root, rpmNext)).code).toBe(0);
    const unitDir = path.join(root, 'usr/lib/systemd/system');
    for (const f of fs.readdirSync(DOGTAG_UNITS).filter((f) => /\.(service|target)$/.test(f))) fs.copyFileSync(path.join(DOGTAG_UNITS, f), path.join(unitDir, f));
    // What those units name: the targets they hang off (the host's), and Dogtag's commands (stand-ins).
    const hostUnits = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => fs.existsSync(path.join(d, 'sysinit.target')))!;
    for (const f of fs.readdirSync(hostUnits).filter((f) => f.endsWith('.target'))) fs.copyFileSync(path.join(hostUnits, f), path.join(unitDir, f));
    for (const command of ['usr/sbin/pki-server', 'usr/bin/pkidaemon', 'usr/sbin/pki-tomcat-start', 'usr/sbin/pki-tomcat-stop', 'usr/bin/pki-server-nuxwdog']) {
      fs.mkdirSync(path.dirname(path.join(root, command)), { recursive: true });
      fs.writeFileSync(path.join(root, command), '#!/bin/sh\n', { mode: 0o755 });
    }
    const verify = (unit: string) => run('systemd-analyze', ['verify', `--root=${root}`, '--man=no', unit], { env: RPM_ENV });
    for (const unit of [`pki-tomcatd@${INSTANCE}.service`, `pki-tomcatd-nuxwdog@${INSTANCE}.service`]) {
      expect({ unit, ...(await verify(unit)) }).toMatchObject({ unit, code: 0, stdout: '', stderr: '' });
    }
    // The control: a drop-in systemd cannot read is reported, so the check reads the drop-ins.
    const broken = path.join(unitDir, 'pki-tomcatd@.service.d/zz-broken.conf');
    fs.writeFileSync(broken, '[Service]\nNotifyAccess=sometimes\n');
    expect((await verify(`pki-tomcatd@${INSTANCE}.service`)).stderr).toMatch(/zz-broken\.conf:2: Failed to parse notify access specifier/);
    fs.rmSync(broken);
  });

  it('installs the bundle, the wrapper, the man page and the example configuration, and requires what its scriptlets run', async () => {
    const q = await queryPackage(rpmNext, ['--qf', '[%{FILEMODES:perms} %{FILENAMES}\n]']);
    expect(q.code).toBe(0);
    const files = q.stdout.trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        '-rwxr-xr-x /usr/sbin/pki-db-upgrade',
        '-rw-r--r-- /usr/share/pki-db-upgrade/pki-db-upgrade.js',
        '-rw-r--r-- /usr/share/pki-db-upgrade/db-upgrade.conf',
        expect.stringMatching(/^-rw-r--r-- \/usr\/share\/man\/man8\/pki-db-upgrade\.8(\.gz)?$/),
        'drwxr-xr-x /var/lib/pki-db-upgrade',
        'drwx------ /var/cache/pki-db-upgrade',
        'drwxr-xr-x /etc/pki-db-upgrade',
      ]),
    );
    const info = await queryPackage(rpmNext, ['--qf', '%{ARCH} %{VERSION}-%{RELEASE}\n[%{REQUIREFLAGS:deptype} %{REQUIRENEVRS}\n]']);
    const lines = info.stdout.trim().split('\n');
    expect(lines[0]).toBe(`noarch ${versionNext}-1`);
    // node (wrapper, %posttrans) at the version of package.json "engines"; coreutils: mkdir (%pre),
    // rm (%preun: the code caches) and rm and timeout (%posttrans); keyctl for nuxwdog.
    const engines: string = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).engines.node;
    const node = `nodejs >= 1:${/^>=\s*([\d.]+)$/.exec(engines)?.[1]}`;
    expect(lines).toEqual(expect.arrayContaining([`manual ${node}`, `posttrans ${node}`, 'pre coreutils', 'preun coreutils', 'posttrans coreutils', 'manual keyutils', 'manual coreutils']));
    expect(Object.keys(SCRIPTLET_COMMANDS).sort()).toEqual(['env', 'mkdir', 'node', 'rm', 'sh', 'timeout']);
  });

  it('declares what it bundles: bundled(npm(NAME)) = VERSION as in node_modules, a License of all their licenses, and ships each license text', async () => {
    const query = (qf: string) => queryPackage(rpmNext, ['--qf', qf]);
    const provides = (await query('[%{PROVIDENEVRS}\n]')).stdout.trim().split('\n').filter((p) => p.startsWith('bundled('));
    const bundled = provides.map((p) => /^bundled\(npm\((.+)\)\) = (.+)$/.exec(p)!).map(([, name, version]) => ({ name, version }));
    // The libraries the tool uses directly are among them, at the versions installed here.
    const deps = Object.keys(JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).dependencies);
    expect(deps.filter((d) => !bundled.some((b) => b.name === d))).toEqual([]);
    const license = (await query('%{LICENSE}')).stdout.trim();
    const licenseFiles = (await query('[%{FILENAMES} %{FILEFLAGS:fflags}\n]')).stdout.trim().split('\n').filter((l) => l.endsWith(' l')).map((l) => l.slice(0, -2));
    for (const { name, version } of bundled) {
      // That module at that version is in node_modules (at the top, or nested under the one that needs it).
      const copies = execFileSync('find', [path.join(repo, 'node_modules'), '-path', `*/node_modules/${name}/package.json`], { encoding: 'utf8' }).trim().split('\n');
      const pkg = copies.map((f) => JSON.parse(fs.readFileSync(f, 'utf8'))).find((p) => p.version === version);
      expect({ name, version, found: pkg !== undefined }).toEqual({ name, version, found: true });
      expect({ name, license: license.split(' AND ').includes(pkg.license) }).toEqual({ name, license: true });
      expect({ name, texts: licenseFiles.filter((f) => f.includes(`/bundled-licenses/${name.replace('/', '+')}/`)).length > 0 }).toEqual({ name, texts: true });
    }
    expect(license.startsWith('GPL-2.0-or-later AND ')).toBe(true);
    expect(licenseFiles).toContain(`/usr/share/licenses/pki-db-upgrade-${versionNext}/LICENSE`);
  });

  it("ships README.md and every docs/*.md as its documentation, so that the README's links resolve where it is installed", async () => {
    const q = await queryPackage(rpmNext, ['--qf', '[%{FILEFLAGS:fflags} %{FILENAMES}\n]']);
    expect(q.code).toBe(0);
    // %doc files (flag d), the man page aside. The folder is rpm's %{_docdir_fmt}: NAME on
    // Fedora, NAME-VERSION with Debian's rpm.
    const docFiles = q.stdout.trim().split('\n').filter((l) => l.startsWith('d ')).map((l) => l.slice(2)).filter((p) => !p.startsWith('/usr/share/man/'));
    const readme = docFiles.find((p) => path.basename(p) === 'README.md');
    expect(readme).toMatch(/^\/usr\/share\/doc\/pki-db-upgrade(-[^/]+)?\/README\.md$/);
    const shipped = docFiles.map((p) => path.relative(path.dirname(readme!), p)).sort();
    const docs = fs.readdirSync(path.join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
    expect(shipped).toEqual(['README.md', ...docs].sort());
    // Every relative link of the README names a file shipped beside it.
    const linked = [...fs.readFileSync(path.join(repo, 'README.md'), 'utf8').matchAll(/\]\(([^)#\s:]+)(?:#[^)]*)?\)/g)].map((m) => path.normalize(m[1]));
    expect(linked.length).toBeGreaterThan(0);
    for (const link of linked) expect({ link, shipped: shipped.includes(link) }).toEqual({ link, shipped: true });
  });

  it('renders its man page without warnings', async () => {
    // The package's files only (no scriptlets): the man page as the package installs it.
    const root = path.join(work, 'files-only');
    fs.mkdirSync(root);
    const extract = await run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--nodeps', '--noscripts', '-i', rpmNext]);
    expect(extract.code).toBe(0);
    const page = fs.readdirSync(path.join(root, 'usr/share/man/man8')).map((f) => path.join(root, 'usr/share/man/man8', f))[0];
    const man = await run('man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', page], { env: { ...RPM_ENV, LC_ALL: 'C.UTF-8', MANWIDTH: '80' } });
    expect(man.stderr).toBe('');
    expect(man.code).toBe(0);
    const text = await run('man', ['-l', page], { env: { ...RPM_ENV, LC_ALL: 'C.UTF-8', MANWIDTH: '80', MANPAGER: 'cat' } });
    expect(text.stdout).toMatch(/pki-db-upgrade - upgrade the 389 DS database of a PKI server/);
    expect(text.stdout).toMatch(new RegExp(`pki-db-upgrade ${versionNext.replace(/\./g, '\\.')}`));
  });

  it('is rpmlint clean, with its spec and its source RPM, apart from the exceptions documented in its rpmlintrc files; the spec alone is clean as it is', async () => {
    const spec = path.join(repo, 'packaging/pki-db-upgrade.spec');
    const lintEnv = { ...RPM_ENV, LC_ALL: 'C.UTF-8' };
    // The spec's exceptions and the packages', joined as make rpmlint joins them.
    const rc = path.join(work, 'all.rpmlintrc');
    fs.writeFileSync(rc, ['packaging/pki-db-upgrade.rpmlintrc', 'packaging/rpmlint/packages.rpmlintrc'].map((f) => fs.readFileSync(path.join(repo, f), 'utf8')).join('\n'));
    // --ignore-unused-rpmlintrc: a distribution's rpmlint configuration (Fedora's) may already filter
    // some. One version a session: rpmlint 2.4 takes two source RPMs' specs for one package's two.
    for (const files of [[spec, packageN.srpm, rpmN], [packageNext.srpm, rpmNext]]) {
      const lint = await run('rpmlint', ['-r', rc, '--ignore-unused-rpmlintrc', ...files], { env: lintEnv });
      expect(lint.stdout).toMatch(new RegExp(`2 packages and ${files.length - 2} specfiles checked; 0 errors, 0 warnings`));
      expect(lint.code).toBe(0);
    }
    // The spec alone, as a reviewer lints it: rpmlint loads the rpmlintrc beside it, whose every
    // filter is for the spec's own messages.
    const alone = await run('rpmlint', [spec], { env: lintEnv });
    expect(alone.stdout).toMatch(/0 packages and 1 specfiles checked; 0 errors, 0 warnings/);
    expect(alone.code).toBe(0);
  });
});

describe('the source RPM', () => {
  /** The files of `srpm` unpacked into a new folder. */
  async function unpack(srpm: string, name: string): Promise<string> {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    const r = await run('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', srpm], { cwd: dir });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return dir;
  }
  const tarList = async (file: string) => (await run('tar', ['-tzf', file])).stdout.trim().split('\n');

  it("holds the spec, a tarball of the project's files and one of the locked npm packages the build uses, nothing else", async () => {
    const dir = await unpack(packageN.srpm, 'srpm-n');
    const source = `pki-db-upgrade-${versionN}.tar.gz`;
    const modules = `pki-db-upgrade-${versionN}-nm-build.tar.gz`;
    expect(fs.readdirSync(dir).sort()).toEqual([modules, source, 'pki-db-upgrade.spec'].sort());
    // The files git tracks, under one folder: no node_modules, no dist, nothing generated.
    const files = (await tarList(path.join(dir, source))).filter((f) => !f.endsWith('/'));
    const tracked = execFileSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' }).trim().split('\n');
    expect(files).toEqual(expect.arrayContaining(tracked.map((f) => `pki-db-upgrade-${versionN}/${f}`)));
    expect(files.filter((f) => /\/(node_modules|dist)\/|registry\.generated/.test(f))).toEqual([]);
    // The npm packages: those packaging/vendor-modules.mjs names from package-lock.json, as npm ci installed them here.
    const needed = (await run(process.execPath, [path.join(repo, 'packaging/vendor-modules.mjs'), '--list', '--root', repo])).stdout.trim().split('\n');
    const folders = new Set((await tarList(path.join(dir, modules))).map((f) => f.replace(/\/$/, '')));
    for (const folder of needed) expect({ folder, shipped: folders.has(folder) }).toEqual({ folder, shipped: true });
    expect([...folders].filter((f) => !needed.some((n) => f === n || f.startsWith(`${n}/`) || n.startsWith(`${f}/`)))).toEqual([]);
    // The spec is the repository's for the version it is at.
    expect(fs.readFileSync(path.join(dir, 'pki-db-upgrade.spec'), 'utf8')).toBe(fs.readFileSync(path.join(repo, 'packaging/pki-db-upgrade.spec'), 'utf8'));
  });

  it('rebuilds with no network at all into the same bundle: nothing is downloaded, node_modules is checked against package-lock.json', async () => {
    const top = path.join(work, 'rebuild');
    // A network namespace of its own: not even loopback is up. (Only the bundle is compared: with
    // Debian's rpm the man page stays uncompressed here, its brp-compress needs bash, see build-rpm.sh.)
    const rebuild = await run('unshare', ['--net', 'rpmbuild', '--rebuild', '--nodeps', '--dbpath', path.join(top, 'rpmdb'), '--define', `_topdir ${top}`, packageNext.srpm], {
      env: { ...RPM_ENV, LC_ALL: 'C.UTF-8' },
      timeoutMs: 120_000,
    });
    expect(rebuild.code).toBe(0);
    expect(rebuild.stdout).toMatch(/vendor-modules: node_modules holds the \d+ locked packages the build needs/);
    const rebuilt = path.join(top, 'RPMS/noarch', path.basename(rpmNext));
    const bundle = async (rpmFile: string) => (await run('sh', ['-c', 'rpm2cpio "$1" | cpio -i --to-stdout --quiet ./usr/share/pki-db-upgrade/pki-db-upgrade.js', 'sh', rpmFile])).stdout;
    const [original, again] = await Promise.all([bundle(rpmNext), bundle(rebuilt)]);
    expect(original.length).toBeGreaterThan(100_000);
    expect(again).toBe(original);
  });

  it("has a %changelog that says what was built: the spec's own entries, and for another version an entry on top naming it", async () => {
    const changelog = async (rpmFile: string) => (await queryPackage(rpmFile, ['--changelog'])).stdout;
    const own = await changelog(rpmN);
    expect(own).toMatch(new RegExp(`^\\* \\w{3} \\w{3} \\d{2} \\d{4} .+ - ${versionN.replace(/\./g, '\\.')}-1\n- `));
    const next = await changelog(rpmNext);
    expect(next).toMatch(new RegExp(`^\\* \\w{3} \\w{3} \\d{2} \\d{4} .+ - ${versionNext.replace(/\./g, '\\.')}-1\n- Built by packaging/build-rpm\\.sh as ${versionNext.replace(/\./g, '\\.')}-1 from the sources of\\s+${versionN.replace(/\./g, '\\.')}-1`));
    expect(next.endsWith(own)).toBe(true);
  });
});
