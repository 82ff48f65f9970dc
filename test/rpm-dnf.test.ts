/**
 * The package as users get it: from a repository, through the real dnf, into an installroot, its
 * Requires resolved from that repository by a stand-in for the system packages whose payload is
 * the host's node and shell (test/support/dnf-root.ts). rpm chroots into the root for the
 * scriptlets, so %posttrans really runs the bundle with that node.
 *
 * Each test installs version N or N+1 into a root of its own whose /etc/pki/pki-tomcat points at
 * a CA database of its own (records without issuerName, as older releases wrote them) in this
 * file's 389 DS (the upgrade changes cn=schema, which all suffixes of a server share: not the
 * run's shared server), then checks the database over LDAP, the package's line in dnf's output
 * and the files in the root. (The package installed with rpm alone: rpm-package.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeInstance, type DsInstance } from './harness/dirsrv';
import { loadPkiDatabase, type LoadResult } from './harness/pki-database';
import { entryExists, ownInstance, uniqueSuffix } from './harness/test-env';
import { certificateRecords } from './support/certificate-records';
import { snapshot } from './support/directory-snapshot';
import { buildSystemStub, createRepository, dnf, installedPackages, packageManagerState, SYSTEM_STUB, type LocalRepository } from './support/dnf-root';
import { readStatus } from './support/fake-pki';
import { defaultDbPath, inRoot, installedVersion, listTree, packageLines } from './support/rpm-root';
import { allowedNewPaths, databaseVersion, fileState, INSTANCE, makeRpmsNAndNext, pkiServerIn, queryPackage, VERSION_N, VERSION_NEXT, type BuiltPackage, type PkiServer } from './support/rpm-package';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let work: string;
let ds: DsInstance | undefined;
let packageN: BuiltPackage;
let packageNext: BuiltPackage;
let stub: string;
let repository: LocalRepository;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-dnf-'));
  // The server starts while the packages build.
  const server = ownInstance('dnf', 26);
  server.catch(() => undefined); // awaited below
  ({ packageN, packageNext } = await makeRpmsNAndNext(work));
  stub = await buildSystemStub(work);
  repository = await createRepository(path.join(work, 'repository'), [packageN.rpm, packageNext.rpm, stub]);
  ds = await server;
}, 240_000);

afterAll(async () => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (ds) await removeInstance(ds);
});

interface Installation {
  root: string;
  server: PkiServer;
  db: LoadResult;
  backendName: string;
}

/**
 * An empty root but for one Dogtag-style instance whose CA database, a suffix of its own on this
 * file's server, is as an old release left it: untracked, some records without issuerName.
 */
async function emptyRootWithCaDatabase(name: string): Promise<Installation> {
  const { suffix, backendName } = uniqueSuffix('dnf');
  const db = await loadPkiDatabase(ds!, { suffix, backendName, certificates: 12 });
  expect(db.withoutIssuerName.length).toBeGreaterThan(0);
  const root = path.join(work, name);
  fs.mkdirSync(root);
  return { root, server: pkiServerIn(root, { port: ds!.port, baseDN: suffix, backend: backendName, password: ds!.rootPassword }), db, backendName };
}

/** issuerName of every certificate record, by serial. */
async function issuerNames(db: LoadResult): Promise<Map<string, string | undefined>> {
  return new Map([...(await certificateRecords(ds!, db.suffix))].map(([serial, r]) => [serial, r.issuerName]));
}

/** The records as loaded: issuerName on all but those written without it. */
async function expectIssuerNamesAsLoaded(db: LoadResult): Promise<void> {
  const names = await issuerNames(db);
  expect(names.size).toBe(db.certificates);
  expect([...names].filter(([, name]) => name === undefined).map(([serial]) => serial).sort()).toEqual([...db.withoutIssuerName].sort());
}

/** What an upgrade could have written: every entry of the suffix, the schema's CSN, the indexes. */
const databaseSnapshot = (at: Installation) => snapshot(ds!, at.db.suffix, at.backendName, { ownServer: true });

/**
 * `version` installed by dnf into a new root, and the database upgraded to it by the installed
 * tool, run by hand inside the root: the root's paths before, the database after.
 */
async function installedAndUpgradedByHand(name: string, version: string): Promise<{ at: Installation; before: Set<string>; database: string }> {
  const at = await emptyRootWithCaDatabase(name);
  const before = listTree(at.root);
  expect((await dnfOn(at, 'install', `pki-db-upgrade-${version}`)).code).toBe(0);
  const manual = await inRoot(at.root, ['/usr/sbin/pki-db-upgrade', 'run', '--instance', INSTANCE]);
  expect(manual.stderr).toMatch(new RegExp(`ca upgraded from \\(untracked\\) to ${escape(version)}`));
  expect(manual.code).toBe(0);
  expect(await databaseVersion(ds!, at.db.suffix)).toBe(version);
  return { at, before, database: databaseSnapshot(at) };
}

const dnfOn = (at: Installation, ...args: string[]) => dnf(repository, at.root, args);
const installed = (at: Installation) => installedVersion(at.root, 'pki-db-upgrade', defaultDbPath());

describe('the RPM installed from a repository with real dnf', () => {
  it('dnf install resolves what the package requires from the repository, and a first installation upgrades nothing', async () => {
    const at = await emptyRootWithCaDatabase('install');
    const install = await dnfOn(at, 'install', 'pki-db-upgrade');
    expect(install.code).toBe(0);
    // dnf chose the stand-in for nodejs, coreutils, keyutils and /bin/sh from the repository.
    expect(install.stdout).toMatch(new RegExp(`Installing dependencies:\\n ${SYSTEM_STUB} `));
    expect(packageLines(install)).toEqual([
      "pki-db-upgrade: installed; PKI databases are not upgraded on a first installation: run 'pki-db-upgrade status', then 'pki-db-upgrade run'",
    ]);
    expect(await installedPackages(at.root)).toEqual([`pki-db-upgrade-${VERSION_NEXT}-1`, `${SYSTEM_STUB}-1-1`].sort());

    expect(await databaseVersion(ds!, at.db.suffix)).toBeUndefined();
    await expectIssuerNamesAsLoaded(at.db);
    expect(fs.existsSync(at.server.statusFile)).toBe(false);
    expect(fs.existsSync(at.server.marker)).toBe(false);
    // The package's files are in the root, and its command runs there with the root's node.
    for (const file of ['usr/sbin/pki-db-upgrade', 'usr/share/pki-db-upgrade/pki-db-upgrade.js', 'usr/bin/node']) expect({ file, there: fs.existsSync(path.join(at.root, file)) }).toEqual({ file, there: true });
    const version = await inRoot(at.root, ['/usr/sbin/pki-db-upgrade', '--version']);
    expect(version.stdout).toMatch(new RegExp(`^pki-db-upgrade ${escape(VERSION_NEXT)} \\(`));
  });

  it('dnf upgrade to N+1: %posttrans runs the bundle with the node inside the root, which upgrades the database: its version, issuerName on every record', async () => {
    const at = await emptyRootWithCaDatabase('upgrade');
    expect((await dnfOn(at, 'install', `pki-db-upgrade-${VERSION_N}`)).code).toBe(0);
    expect(await installed(at)).toBe(`${VERSION_N}-1`);
    const passwordBefore = fileState(at.server.passwordConf);
    const before = listTree(at.root);
    const allowed = await allowedNewPaths(packageNext.rpm, at.server, packageManagerState());

    // No systemd in the root (rpm runs the scriptlet chrooted there): the tool runs under timeout,
    // as in a container, not in a transient unit of the host's systemd.
    expect(fs.existsSync(path.join(at.root, 'run/systemd/system'))).toBe(false);
    const upgrade = await dnfOn(at, 'upgrade');
    expect(upgrade.code).toBe(0);
    expect(packageLines(upgrade)).toEqual([expect.stringMatching(new RegExp(`^pki-db-upgrade: ${INSTANCE}: ca upgraded from \\(untracked\\) to ${escape(VERSION_NEXT)} \\(\\d+ step\\(s\\), [0-9.]+ ?m?s\\); backup taken first: \\S+\\.ldif; indexes built: acmeAccountId, acmeAuthorizationId, acmeAuthorizationWildcard and 31 more$`))]);
    expect(`${upgrade.stdout}${upgrade.stderr}`).not.toMatch(/scriptlet failed|not found|No such file/i);
    expect(await installed(at)).toBe(`${VERSION_NEXT}-1`);

    // The database, read over LDAP: at N+1, N+1's own step applied, every record with its issuer.
    expect(await databaseVersion(ds!, at.db.suffix)).toBe(VERSION_NEXT);
    expect(await entryExists(ds!, `ou=nextPackage,${at.db.suffix}`)).toBe(true);
    expect(new Set((await issuerNames(at.db)).values())).toEqual(new Set([at.db.issuerName]));

    // The run that did it is the tool's inside the root: its log and status are the root's.
    expect(fs.readFileSync(at.server.logFile, 'utf8')).toMatch(new RegExp(`pki-db-upgrade ${escape(VERSION_NEXT)} run: instance ${INSTANCE}, mode posttrans`));
    expect(readStatus(at.server).lastRun).toMatchObject({ mode: 'posttrans', result: 'upgraded', exitCode: 0, packageVersion: VERSION_NEXT });
    expect(fileState(at.server.passwordConf)).toEqual(passwordBefore);
    expect(fs.existsSync(at.server.marker)).toBe(false);
    expect([...listTree(at.root)].filter((p) => !before.has(p) && !allowed(p))).toEqual([]);
  });

  it('dnf reinstall with the database up to date: %posttrans runs the tool, which finds nothing to do and writes nothing', async () => {
    const { at, database } = await installedAndUpgradedByHand('reinstall', VERSION_N);

    const reinstall = await dnfOn(at, 'reinstall', 'pki-db-upgrade');
    expect(reinstall.code).toBe(0);
    expect(packageLines(reinstall)).toEqual([`pki-db-upgrade: ${INSTANCE}: ca up to date at ${VERSION_N}`]);
    expect(await installed(at)).toBe(`${VERSION_N}-1`);
    expect(databaseSnapshot(at)).toBe(database);
    expect(readStatus(at.server).lastRun).toMatchObject({ mode: 'posttrans', result: 'up-to-date', exitCode: 0, packageVersion: VERSION_N });
    expect(readStatus(at.server).lastRun.databases).toEqual([expect.objectContaining({ subsystem: 'ca', result: 'up-to-date', steps: [] })]);
    expect(fs.existsSync(at.server.marker)).toBe(false);
  });

  it('dnf downgrade to N under a database at N+1: the transaction succeeds, the tool refuses to touch the database and says why', async () => {
    const { at, database } = await installedAndUpgradedByHand('downgrade', VERSION_NEXT);

    const downgrade = await dnfOn(at, 'downgrade', 'pki-db-upgrade');
    expect(downgrade.code).toBe(0);
    expect(packageLines(downgrade)).toEqual([
      expect.stringMatching(
        new RegExp(`^pki-db-upgrade: ${INSTANCE}: database left as it is: ca: the database is at version ${escape(VERSION_NEXT)}, newer than this package \\(${escape(VERSION_N)}\\); refusing to touch it → .*upgrade it again \\(dnf upgrade pki-\\*\\).*; see /var/log/pki/${INSTANCE}/db-upgrade\\.log$`),
      ),
    ]);
    expect(await installed(at)).toBe(`${VERSION_N}-1`);
    expect(databaseSnapshot(at)).toBe(database);
    expect(await databaseVersion(ds!, at.db.suffix)).toBe(VERSION_NEXT);
    // Nothing is owed to the database by an older package: no upgrade pending.
    const status = readStatus(at.server);
    expect(status.lastRun).toMatchObject({ mode: 'posttrans', result: 'database-newer', packageVersion: VERSION_N });
    expect(status.pending).toBeUndefined();
  });

  it("dnf remove takes the package and what it alone needed, leaves what docs/rpm.md says it leaves, and does not touch the database", async () => {
    const { at, before, database } = await installedAndUpgradedByHand('remove', VERSION_N);
    fs.writeFileSync(path.join(at.root, `etc/pki-db-upgrade/${INSTANCE}.conf`), 'connect_timeout = 20\n');
    const packaged = (await queryPackage(packageN.rpm, ['-l'])).stdout.trim().split('\n');

    const remove = await dnfOn(at, 'remove', 'pki-db-upgrade');
    expect(remove.code).toBe(0);
    expect(remove.stdout).toMatch(new RegExp(`Removing unused dependencies:\\n ${SYSTEM_STUB} `));
    expect(packageLines(remove)).toEqual([]);
    expect(await installedPackages(at.root)).toEqual([]);
    expect(databaseSnapshot(at)).toBe(database);

    // Files only: the folders that hold what stays (or rpm's and dnf's own state) stay with it.
    const state = packageManagerState();
    const isFile = (p: string) => !fs.lstatSync(path.join(at.root, p)).isDirectory();
    const left = [...listTree(at.root)].filter((p) => !before.has(p) && !state(p) && isFile(p));
    expect(left.sort()).toEqual([`/etc/pki-db-upgrade/${INSTANCE}.conf`, `/var/lib/pki-db-upgrade/${INSTANCE}/status.json`, `/var/log/pki/${INSTANCE}/db-upgrade.log`].sort());
    expect(packaged.filter((p) => fs.existsSync(path.join(at.root, p)) && !['/etc/pki-db-upgrade', '/var/lib/pki-db-upgrade'].includes(p))).toEqual([]);
  });
});
