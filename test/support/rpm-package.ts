/**
 * The package as the RPM tests and benches build it (`make rpm`: version N with the real steps,
 * N+1 with one fixture step more), and a Dogtag-style server inside a root it is installed into:
 * one instance whose CA database is on a real 389 DS, its password in password.conf owned by the
 * PKI user, as pkispawn leaves it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DsInstance } from '../harness/dirsrv';
import { withLdap } from '../harness/test-env';
import { fakePkiIn, type FakePki } from './fake-pki';
import { run } from './rpm-root';

/** The checkout; PKI_BENCH_REPO for a bench bundle, which runs from dist/. */
export const REPO = process.env.PKI_BENCH_REPO ?? path.resolve(__dirname, '../..');
export const INSTANCE = 'pki-tomcat';
/** pkiuser on Fedora: owner of the instance and of password.conf. */
export const PKI_UID = 17;

/** Version N: package.json's. */
export const VERSION_N: string = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
/** Version N+1: the next minor version. */
export const VERSION_NEXT = VERSION_N.replace(/^(\d+)\.(\d+)\..*$/, (_, major, minor) => `${major}.${Number(minor) + 1}.0`);

/** A new upgrades folder `dir` of links: the real steps, plus the fixture step as version `next` if given. */
export function upgradesFolder(dir: string, next?: string): string {
  fs.mkdirSync(dir);
  for (const v of fs.readdirSync(path.join(REPO, 'upgrades'))) {
    if (fs.statSync(path.join(REPO, 'upgrades', v)).isDirectory()) fs.symlinkSync(path.join(REPO, 'upgrades', v), path.join(dir, v));
  }
  // Links keep each step's source, hence its checksum, identical to the real one.
  if (next) fs.symlinkSync(path.join(REPO, 'test/fixtures/upgrades/rpm-next/next'), path.join(dir, next));
  return dir;
}

export interface BuiltPackage {
  srpm: string;
  rpm: string;
}

/** `make rpm` of `version` around `upgrades`, into `outdir`: the source RPM and the RPM. */
export async function makeRpm(version: string, upgrades: string, outdir: string): Promise<BuiltPackage> {
  // -o node_modules/.installed: never let a nested make run `npm ci` under the running tests.
  const r = await run('make', ['-s', '--no-print-directory', '-o', 'node_modules/.installed', 'rpm', `RPM_VERSION=${version}`, 'RPM_RELEASE=1', `RPM_UPGRADES=${upgrades}`, `RPM_OUTDIR=${outdir}`], {
    cwd: REPO,
    env: { ...process.env } as Record<string, string>,
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`make rpm ${version} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  const [srpm, rpm] = r.stdout.trim().split('\n').slice(-2);
  const expected = [`pki-db-upgrade-${version}-1.src.rpm`, `pki-db-upgrade-${version}-1.noarch.rpm`];
  if (path.basename(srpm) !== expected[0] || path.basename(rpm) !== expected[1]) throw new Error(`make rpm ${version} printed ${srpm}, ${rpm}; expected ${expected.join(', ')}`);
  return { srpm, rpm };
}

/** Versions N (the real steps) and N+1 (one fixture step more) of the package, built in `work`. */
export async function makeRpmsNAndNext(work: string): Promise<{ packageN: BuiltPackage; packageNext: BuiltPackage }> {
  const rpms = path.join(work, 'rpms');
  const packageN = await makeRpm(VERSION_N, upgradesFolder(path.join(work, 'upgrades-n')), rpms);
  const packageNext = await makeRpm(VERSION_NEXT, upgradesFolder(path.join(work, 'upgrades-next'), VERSION_NEXT), rpms);
  return { packageN, packageNext };
}

export interface PkiServer extends FakePki {
  csCfg: string;
  /** What %pre leaves for %posttrans (install or upgrade). */
  marker: string;
  password: string;
}

/**
 * One Dogtag-style instance in the root `root` whose CA database is `baseDN` on 127.0.0.1:`port`,
 * with the password in password.conf (owned by the PKI user, 0600, old mtime) and the instance's
 * log folder.
 */
export function pkiServerIn(root: string, db: { port: number; baseDN: string; backend?: string; password: string }): PkiServer {
  const pki = fakePkiIn(root, { port: db.port, baseDN: db.baseDN, database: db.backend, instanceId: INSTANCE }, INSTANCE);
  fs.writeFileSync(pki.passwordConf, `internal=nss-db-secret\ninternaldb=${db.password}\nreplicationdb=replication-secret\n`, { mode: 0o600 });
  fs.chownSync(pki.passwordConf, PKI_UID, PKI_UID);
  fs.utimesSync(pki.passwordConf, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
  fs.chownSync(pki.instanceDir, PKI_UID, PKI_UID);
  fs.mkdirSync(path.dirname(pki.logFile), { recursive: true });
  fs.chownSync(path.dirname(pki.logFile), PKI_UID, PKI_UID);
  return { ...pki, csCfg: path.join(pki.instanceDir, 'ca/CS.cfg'), marker: path.join(root, 'var/lib/pki-db-upgrade/rpm-transaction'), password: db.password };
}

/** Everything about a file an upgrade must not change. */
export function fileState(file: string) {
  const st = fs.statSync(file);
  return { bytes: fs.readFileSync(file).toString('base64'), mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, ino: st.ino };
}

/** The database version recorded in cn=dbUpgrade, or undefined for a database never upgraded. */
export async function databaseVersion(ds: DsInstance, baseDN: string): Promise<string | undefined> {
  return withLdap(ds, async (c) => {
    try {
      const { searchEntries } = await c.search(`cn=dbUpgrade,${baseDN}`, { scope: 'base', attributes: ['pkiDbUpgradeVersion'] });
      return String(searchEntries[0]?.pkiDbUpgradeVersion ?? '') || undefined;
    } catch {
      return undefined; // no tracking entry: a database never upgraded
    }
  });
}

/** `rpm -qp ARGS FILE` (package files only: a query database of its own beside it). */
export function queryPackage(file: string, args: string[]) {
  return run('rpm', ['-qp', '--dbpath', path.join(path.dirname(file), 'rpmdb-query'), ...args, file]);
}

/**
 * Paths a transaction may add to the root of `server`: the package's own files, the tool's log,
 * status and code cache, and what `managerState` accepts (the package manager's own database and logs).
 */
export async function allowedNewPaths(rpmFile: string, server: PkiServer, managerState: (p: string) => boolean): Promise<(p: string) => boolean> {
  const list = await queryPackage(rpmFile, ['-l']);
  if (list.code !== 0) throw new Error(`rpm -qlp ${rpmFile} failed: ${list.stderr}`);
  const packaged = new Set(list.stdout.trim().split('\n'));
  const rel = (p: string) => '/' + path.relative(server.root, p);
  const toolFiles = new Set([rel(server.logFile), rel(server.stateDir), rel(server.statusFile)]);
  // The code cache of the bundle, which the first run as root writes in the packaged folder.
  const codeCache = /^\/var\/cache\/pki-db-upgrade\/[0-9a-f]{64}-node\d+\.\d+\.\d+\.v8cache$/;
  return (p) => packaged.has(p) || toolFiles.has(p) || codeCache.test(p) || managerState(p);
}
