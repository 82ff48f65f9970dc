/**
 * The RPM, built by `make rpm` and installed with the real rpm into throw-away roots: version N,
 * then an upgrade to N+1, whose %posttrans runs the bundled tool chrooted into the root against a
 * PKI database in the harness's real 389 DS. Also the package's metadata, documentation and rpmlint.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createBackend, createInstance, removeInstance, type DsInstance } from './harness/dirsrv';
import { loadPkiDatabase } from './harness/pki-database';
import { readRunInfo } from './harness/run-info';
import { entryExists, standalone, uniqueSuffix, withLdap } from './harness/test-env';
import { inRoot, installedVersion, listTree, makeRoot, packageLines, rpmUpgrade, run, RPM_ENV, SCRIPTLET_COMMANDS } from './support/rpm-root';

const repo = path.resolve(__dirname, '..');
const INSTANCE = 'pki-tomcat';
const PKI_UID = 17; // pkiuser on Fedora: owner of the instance and of password.conf

const versionN: string = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).version;
const versionNext = versionN.replace(/^(\d+)\.(\d+)\..*$/, (_, major, minor) => `${major}.${Number(minor) + 1}.0`);

let work: string;
let rpmN: string;
let rpmNext: string;

/** An upgrades folder of links: the real steps, plus the fixture step as version `next` if given. */
function upgradesFolder(name: string, next?: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  for (const v of fs.readdirSync(path.join(repo, 'upgrades'))) {
    if (fs.statSync(path.join(repo, 'upgrades', v)).isDirectory()) fs.symlinkSync(path.join(repo, 'upgrades', v), path.join(dir, v));
  }
  // Links keep each step's source, hence its checksum, identical to the real one.
  if (next) fs.symlinkSync(path.join(repo, 'test/fixtures/upgrades/rpm-next/next'), path.join(dir, next));
  return dir;
}

async function makeRpm(version: string, upgrades: string): Promise<string> {
  // -o node_modules/.installed: never let a nested make run `npm ci` under the running tests.
  const r = await run('make', ['-s', '--no-print-directory', '-o', 'node_modules/.installed', 'rpm', `RPM_VERSION=${version}`, 'RPM_RELEASE=1', `RPM_UPGRADES=${upgrades}`, `RPM_OUTDIR=${path.join(work, 'rpms')}`], {
    cwd: repo,
    env: { ...process.env } as Record<string, string>,
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`make rpm ${version} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  const file = r.stdout.trim().split('\n').pop()!;
  expect(path.basename(file)).toBe(`pki-db-upgrade-${version}-1.noarch.rpm`);
  return file;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-rpm-'));
  rpmN = await makeRpm(versionN, upgradesFolder('upgrades-n'));
  rpmNext = await makeRpm(versionNext, upgradesFolder('upgrades-next', versionNext));
}, 180_000);

/**
 * The full upgrade of a CA database changes cn=schema, which every suffix of a server shares
 * (11.6.0/02-RequireIssuerName): it runs on a 389 DS of its own, not on the shared one.
 */
let caServer: DsInstance | undefined;
async function ownServer(): Promise<DsInstance> {
  if (!caServer) {
    const { runRoot, portBase } = readRunInfo();
    const port = portBase + 24;
    caServer = await createInstance({ name: `rpm${port}`, port, securePort: port + 1, root: path.join(runRoot, 'rpm') });
  }
  return caServer;
}

afterAll(async () => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (caServer) await removeInstance(caServer);
});

interface FakeServer {
  root: string;
  passwordConf: string;
  csCfg: string;
  toolConfig: string;
  logFile: string;
  stateDir: string;
  statusFile: string;
  marker: string;
  password: string;
}

/**
 * A root holding the scriptlet commands and one Dogtag-style instance whose CA database is `baseDN`
 * on 127.0.0.1:`port`, with the password in password.conf (owned by the PKI user, 0600, old mtime).
 */
function fakeServer(name: string, db: { port: number; baseDN: string; backend?: string }): FakeServer {
  const root = path.join(work, name);
  makeRoot(root);
  const instanceDir = path.join(root, 'etc/pki', INSTANCE);
  fs.mkdirSync(path.join(instanceDir, 'ca'), { recursive: true });
  const csCfg = path.join(instanceDir, 'ca/CS.cfg');
  writeCsCfg(csCfg, db);
  const password = standalone().rootPassword;
  const passwordConf = path.join(instanceDir, 'password.conf');
  fs.writeFileSync(passwordConf, `internal=nss-db-secret\ninternaldb=${password}\nreplicationdb=replication-secret\n`, { mode: 0o600 });
  fs.chownSync(passwordConf, PKI_UID, PKI_UID);
  fs.utimesSync(passwordConf, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
  fs.chownSync(instanceDir, PKI_UID, PKI_UID);
  const logDir = path.join(root, 'var/log/pki', INSTANCE);
  fs.mkdirSync(logDir, { recursive: true });
  fs.chownSync(logDir, PKI_UID, PKI_UID);
  const stateDir = path.join(root, 'var/lib/pki-db-upgrade', INSTANCE);
  return {
    root,
    passwordConf,
    csCfg,
    toolConfig: path.join(instanceDir, 'db-upgrade.conf'),
    logFile: path.join(logDir, 'db-upgrade.log'),
    stateDir,
    statusFile: path.join(stateDir, 'status.json'),
    marker: path.join(root, 'var/lib/pki-db-upgrade/rpm-transaction'),
    password,
  };
}

function writeCsCfg(file: string, db: { port: number; baseDN: string; backend?: string }): void {
  fs.writeFileSync(
    file,
    [
      `instanceId=${INSTANCE}`,
      'machineName=localhost',
      `internaldb.basedn=${db.baseDN}`,
      ...(db.backend ? [`internaldb.database=${db.backend}`] : []),
      'internaldb.ldapauth.authtype=BasicAuth',
      'internaldb.ldapauth.bindDN=cn=Directory Manager',
      'internaldb.ldapauth.bindPWPrompt=internaldb',
      'internaldb.ldapconn.host=127.0.0.1',
      `internaldb.ldapconn.port=${db.port}`,
      'internaldb.ldapconn.secureConn=false',
      '',
    ].join('\n'),
  );
}

/** Everything about a file an upgrade must not change. */
function fileState(file: string) {
  const st = fs.statSync(file);
  return { bytes: fs.readFileSync(file).toString('base64'), mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, ino: st.ino };
}

function readStatus(server: FakeServer) {
  return JSON.parse(fs.readFileSync(server.statusFile, 'utf8'));
}

async function databaseVersion(baseDN: string, ds: DsInstance = standalone()): Promise<string | undefined> {
  return withLdap(ds, async (c) => {
    try {
      const { searchEntries } = await c.search(`cn=dbUpgrade,${baseDN}`, { scope: 'base', attributes: ['pkiDbUpgradeVersion'] });
      return String(searchEntries[0]?.pkiDbUpgradeVersion ?? '') || undefined;
    } catch {
      return undefined; // no tracking entry: a database never upgraded
    }
  });
}

/** Paths a transaction may add: the package's own files, rpm's database, the tool's log and status. */
async function allowedNewPaths(rpmFile: string, server: FakeServer): Promise<(p: string) => boolean> {
  const list = await run('rpm', ['-qlp', '--dbpath', path.join(work, 'rpmdb-query'), rpmFile]);
  expect(list.code).toBe(0);
  const packaged = new Set(list.stdout.trim().split('\n'));
  const rel = (p: string) => '/' + path.relative(server.root, p);
  const toolFiles = new Set([rel(server.logFile), rel(server.stateDir), rel(server.statusFile)]);
  return (p) => packaged.has(p) || p.startsWith('/var/lib/rpm/') || p === '/var/lib/rpm' || toolFiles.has(p);
}

/** A TCP port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
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
    expect(await databaseVersion(suffix, ds)).toBeUndefined();
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
    expect(await databaseVersion(suffix, ds)).toBe(versionN);

    // dnf update: version N+1, whose one new step %posttrans applies.
    const before = listTree(server.root);
    const allowed = await allowedNewPaths(rpmNext, server);
    const upgrade = await rpmUpgrade(server.root, rpmNext);
    expect(upgrade.code).toBe(0);
    expect(packageLines(upgrade)).toEqual([expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: ca upgraded from ${versionN} to ${versionNext} \\(1 step\\(s\\), [0-9.]+ ?m?s\\)$`))]);
    expect(`${upgrade.stdout}${upgrade.stderr}`).not.toMatch(/not found|scriptlet failed|No such file/i);
    expect(await installedVersion(server.root, 'pki-db-upgrade')).toBe(`${versionNext}-1`);

    expect(await databaseVersion(suffix, ds)).toBe(versionNext);
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
    const server = fakeServer('server-down', { port: await closedPort(), baseDN: 'o=pki-tomcat-CA' });
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
    expect(await databaseVersion(suffix)).toBeUndefined();
    expect(readStatus(server)).toMatchObject({ lastRun: { result: 'skipped', mode: 'posttrans' }, pending: { packageVersion: versionNext } });

    // The documented way back: a manual run, which auto_upgrade does not affect.
    const manual = await inRoot(server.root, ['/usr/sbin/pki-db-upgrade', 'run', '--instance', INSTANCE]);
    expect(manual.code).toBe(0);
    expect(await databaseVersion(suffix)).toBe(versionNext);
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
    expect(await databaseVersion(suffix)).toBe(versionNext);
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
    const hierarchy = (p: string) => p.startsWith('/usr/') && fs.statSync(path.join(server.root, p)).isDirectory();
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
    const server = fakeServer('server-systemd', { port: await closedPort(), baseDN: 'o=pki-tomcat-CA' });
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

describe('the RPM package', () => {
  it('installs the bundle, the wrapper, the man page and the example configuration, and requires what its scriptlets run', async () => {
    const q = await run('rpm', ['-qp', '--dbpath', path.join(work, 'rpmdb-query'), '--qf', '[%{FILEMODES:perms} %{FILENAMES}\n]', rpmNext]);
    expect(q.code).toBe(0);
    const files = q.stdout.trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        '-rwxr-xr-x /usr/sbin/pki-db-upgrade',
        '-rw-r--r-- /usr/share/pki-db-upgrade/pki-db-upgrade.js',
        '-rw-r--r-- /usr/share/pki-db-upgrade/db-upgrade.conf',
        expect.stringMatching(/^-rw-r--r-- \/usr\/share\/man\/man8\/pki-db-upgrade\.8(\.gz)?$/),
        'drwxr-xr-x /var/lib/pki-db-upgrade',
        'drwxr-xr-x /etc/pki-db-upgrade',
      ]),
    );
    const info = await run('rpm', ['-qp', '--dbpath', path.join(work, 'rpmdb-query'), '--qf', '%{ARCH} %{VERSION}-%{RELEASE}\n[%{REQUIREFLAGS:deptype} %{REQUIRENEVRS}\n]', rpmNext]);
    const lines = info.stdout.trim().split('\n');
    expect(lines[0]).toBe(`noarch ${versionNext}-1`);
    // node (wrapper, %posttrans) at the version of package.json "engines"; coreutils: mkdir (%pre),
    // rm and timeout (%posttrans); keyctl for nuxwdog.
    const engines: string = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).engines.node;
    const node = `nodejs >= 1:${/^>=\s*([\d.]+)$/.exec(engines)?.[1]}`;
    expect(lines).toEqual(expect.arrayContaining([`manual ${node}`, `posttrans ${node}`, 'pre coreutils', 'posttrans coreutils', 'manual keyutils', 'manual coreutils']));
    expect(Object.keys(SCRIPTLET_COMMANDS).sort()).toEqual(['env', 'mkdir', 'node', 'rm', 'sh', 'timeout']);
  });

  it('declares what it bundles: bundled(npm(NAME)) = VERSION as in node_modules, a License of all their licenses, and ships each license text', async () => {
    const query = (qf: string) => run('rpm', ['-qp', '--dbpath', path.join(work, 'rpmdb-query'), '--qf', qf, rpmNext]);
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
    const q = await run('rpm', ['-qp', '--dbpath', path.join(work, 'rpmdb-query'), '--qf', '[%{FILEFLAGS:fflags} %{FILENAMES}\n]', rpmNext]);
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

  it('is rpmlint clean apart from the exceptions documented in packaging/pki-db-upgrade.rpmlintrc', async () => {
    // --ignore-unused-rpmlintrc: a distribution's rpmlint configuration (Fedora's) may already filter some.
    const lint = await run('rpmlint', ['-r', path.join(repo, 'packaging/pki-db-upgrade.rpmlintrc'), '--ignore-unused-rpmlintrc', rpmN, rpmNext], { env: { ...RPM_ENV, LC_ALL: 'C.UTF-8' } });
    expect(lint.stdout).toMatch(/2 packages and 0 specfiles checked; 0 errors, 0 warnings/);
    expect(lint.code).toBe(0);
  });
});
