/**
 * make bench-scale: the full upgrade of a CA database of 20,000, 100,000 and 1,000,000 certificate
 * records with the real upgrade steps (dist/pki-db-upgrade.js: the schema steps, the issuerName
 * backfill, the CA indexes and their index task, the issuerName requirement), on 389 DS with
 * durable transactions on, as production runs it. Never part of make test.
 *
 * For each N, on a 389 DS of its own (created, then removed, so that the entry caches are sized
 * for that N's two backends only):
 *  1. two copies of the same database, loaded fast: ca/create.ldif and the CA's certificate over
 *     LDAP (the harness loader), the indexes and VLV searches of a Dogtag release in cn=config, as
 *     pkispawn defines them (PKI_BENCH_SCALE_CA_CONFIG), exported by 389 DS, then that export and
 *     N-1 generated records imported offline (ns-slapd ldif2db, which builds those indexes), none
 *     with issuerName. Every record carries a real
 *     certificate of its own (the harness CA issues ~15,000 per second), as the harness writes them;
 *  2. the tool's full run on one copy: time, records per second, peak RSS, the backfill pass and
 *     the index build as the tool's log lines arrive, and the CPU time of ns-slapd and of the tool
 *     during the backfill pass (/proc/<pid>/stat utime + stime);
 *  3. the server's raw ceiling for the backfill's writes on the other copy (raw-modifies.ts: the
 *     same replace of issuerName, pre-encoded, one socket, 64 in flight), with its CPU split; before
 *     it, the backfill's search alone on that copy (what the server spends reading the records
 *     the backfill must read, which the ceiling does not);
 *  4. nothing to do: three more runs of the tool on the upgraded copy (median).
 *
 * Environment: PKI_BENCH_SCALE_SIZES (default "20000,100000,1000000"), PKI_BENCH_SCALE_PORT
 * (default PKI_TEST_PORT_BASE+100, else 19000: the tests use the base's first 90 ports, the meshes +60..+89), PKI_BENCH_DURABLE=off for the harness's setting,
 * PKI_BENCH_SCALE_CA_CONFIG (default 10.5.0: that release's ca/index.ldif and ca/vlv.ldif defined
 * before the import; RELEASE-indexes without the VLV searches; none for neither),
 * PKI_BENCH_SCALE_ENTRY_CACHE (default auto: 389 DS sizes its caches; fit: each copy's entry and
 * DN caches hold all of it while it is measured, entry-cache.ts), PKI_BENCH_KEEP=1 keeps the last
 * server and its files. Disk: see DISK_PER_RECORD; the bench
 * refuses to start when the temporary directory has less free space than its largest N needs.
 */
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, fsyncSync, openSync, promises as fsp, readFileSync, rmSync, statfsSync, writeSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInstance, removeInstance, restartInstance, startInstance, stopInstance, type DsInstance } from '../harness/dirsrv';
import { run } from '../harness/exec';
import { CertificateAuthority } from '../harness/certificates';
import { certRecordAttributes, certRecordDN, INSTANCE_ID, loadPkiDatabase, loadPkiSchema } from '../harness/pki-database';
import { applyFixtures } from '../harness/dogtag-release';
import { serviceEnvironment } from '../harness/service-environment';
import { int, median, sec, table } from './figures';
import { cacheFigures, entryCacheModeFromEnvironment, fittingSizes, sampledEntrySize, setCaches, type CacheFigures, type EntryCacheMode } from './entry-cache';
import { rawIssuerNameBackfill } from './raw-modifies';
import { cpuMs, watchedRun, type ToolRun } from './watched-run';
import { suffixExport } from '../../src/apply/database-backup';
import { systemClock } from '../../src/core/clock';
import type { AttributeMap } from '../../src/core/directory';
import { silentLogger } from '../../src/core/logger';
import { LdaptsSession } from '../../src/ldap/ldapts-session';
import { runningBackendTasks } from '../../src/ldap/ds-task';
import { BULK_DEFAULTS } from '../../src/apply/bulk-update';
import { certificateRepositoryDN, MISSING_ISSUER_NAME_FILTER } from '../../src/pki/ca-database';
import { ldifAdd } from '../../src/ldap/ldif';
import { DIRECT_CA_FACTS, FAKE_CA_ISSUER_DN } from '../support/pki-facts';

const ROOT = process.env.PKI_BENCH_REPO ?? path.resolve(__dirname, '..');
/** Copied at the start (main): a rebuild of dist/ during an hour-long run does not change what it measures. */
let MAIN_BUNDLE = path.join(ROOT, 'dist/pki-db-upgrade.js');
/**
 * Disk per record for one N (two copies: the generated LDIF files, the two databases with their
 * indexes, the transaction logs of durable transactions, the export): 0.70 GiB for the server at
 * 20,000 records with 10.5.0's indexes and VLV searches (36 KiB per record), with a margin.
 */
const DISK_PER_RECORD = 48 * 1024;
/**
 * The release whose CA configuration the copies get by default: the oldest the shipped steps bring
 * to 11.10.1 (docs/dogtag-databases.md), here holding records from before 10.3.3 without issuerName.
 */
const CA_CONFIG_RELEASE = '10.5.0';

const progress = (message: string) => process.stderr.write(`[bench-scale] ${new Date().toISOString().slice(11, 19)} ${message}\n`);

function slapdPid(ds: DsInstance): number {
  return Number(readFileSync(ds.pidFile, 'utf8').trim());
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * What cn=config holds for the CA's backend before the import, which then builds it: the indexes
 * and VLV searches of a Dogtag release (`ca/index.ldif`, `ca/vlv.ldif`), as pkispawn creates
 * them, or none at all (the worst case for the index build, and every lookup a scan).
 */
type CaConfig = { release: string; vlv: boolean } | 'none';

function caConfigFromEnvironment(): CaConfig {
  const value = process.env.PKI_BENCH_SCALE_CA_CONFIG ?? `${CA_CONFIG_RELEASE}`;
  if (value === 'none') return 'none';
  const m = /^(\d+\.\d+\.\d+)(-indexes)?$/.exec(value);
  if (!m) throw new Error(`PKI_BENCH_SCALE_CA_CONFIG must be a release of the fixtures (e.g. ${CA_CONFIG_RELEASE}), RELEASE-indexes (its attribute indexes only) or none; got "${value}"`);
  return { release: m[1], vlv: m[2] === undefined };
}

function describeCaConfig(config: CaConfig): string {
  if (config === 'none') return 'no index or VLV search defined before the upgrade (PKI_BENCH_SCALE_CA_CONFIG=none)';
  return `the indexes${config.vlv ? ' and VLV searches' : ''} of Dogtag ${config.release} (ca/index.ldif${config.vlv ? ', ca/vlv.ldif' : ''}) built by the import`;
}

async function defineCaIndexes(ds: DsInstance, copy: Copy, config: CaConfig): Promise<void> {
  if (config === 'none') return;
  const files = ['index.ldif', ...(config.vlv ? ['vlv.ldif'] : [])].map((f) => `releases/${config.release}/ca/${f}`);
  await applyFixtures(ds, files, { rootSuffix: copy.suffix, database: copy.backend, instanceId: INSTANCE_ID, caIssuerDN: FAKE_CA_ISSUER_DN });
}

/** A content record (ldif2db takes no changetype) of the harness's certificate record attributes. */
function recordLdif(suffix: string, cert: ReturnType<CertificateAuthority['issue']>, created: Date): string {
  const attributes: AttributeMap = {};
  for (const a of certRecordAttributes(cert, { withIssuerName: false, created })) attributes[a.type] = a.values as string[] | Buffer[];
  return ldifAdd(certRecordDN(suffix, cert.serial), attributes).replace('\nchangetype: add\n', '\n') + '\n';
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
}

const close = (out: WriteStream) => new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));

interface Copy {
  suffix: string;
  backend: string;
}

/**
 * Both copies: ca/create.ldif and the CA's certificate over LDAP, exported by 389 DS (its own
 * LDIF of the suffix entry and the containers), then imported offline with records 2..N appended.
 */
async function loadCopies(ds: DsInstance, dir: string, n: number, copies: Copy[], config: CaConfig): Promise<{ ms: number; generateMs: number; importMs: number[]; issuerName: string }> {
  const started = Date.now();
  const ca = new CertificateAuthority();
  const created = new Date();
  const exports: string[] = [];
  for (const c of copies) {
    await loadPkiDatabase(ds, { suffix: c.suffix, backendName: c.backend, certificates: 1, withoutIssuerNameRatio: 1, schema: false, ca, created });
    await defineCaIndexes(ds, c, config);
  }
  // 389 DS sizes the caches of a backend at start-up only: ldif2db into a backend created since
  // the last start runs at ~300 entries/s with the CPU idle (389ds/389-ds-base#6183; the fix is in
  // later 2.3 builds). One restart sizes them.
  await restartInstance(ds);
  const session = await LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
  try {
    for (const c of copies) {
      exports.push(await suffixExport({ ldap: session, suffix: c.suffix, backend: c.backend, policy: 'always', clock: systemClock, logger: silentLogger })!.take());
    }
  } finally {
    await session.close();
  }
  progress(`N=${n}: generating ${int.format(n - 1)} certificates and records for ${copies.length} copies`);
  const generateStarted = Date.now();
  const files = copies.map((c) => path.join(dir, `records-${c.backend}.ldif`));
  const outs = files.map((f) => createWriteStream(f, { mode: 0o644 }));
  for (let serial = 2n; serial <= BigInt(n); serial++) {
    const cert = ca.issue(serial);
    for (let i = 0; i < copies.length; i++) await write(outs[i], recordLdif(copies[i].suffix, cert, created));
  }
  await Promise.all(outs.map(close));
  const generateMs = Date.now() - generateStarted;
  await stopInstance(ds);
  const importMs: number[] = [];
  for (let i = 0; i < copies.length; i++) {
    progress(`N=${n}: importing ${copies[i].suffix} offline (ns-slapd ldif2db)`);
    const t = Date.now();
    await run('/usr/sbin/ns-slapd', ['ldif2db', '-D', ds.configDir, '-n', copies[i].backend, '-i', exports[i], '-i', files[i]], {
      env: { ...process.env, ...serviceEnvironment() },
      timeoutMs: 4 * 3600_000,
    });
    importMs.push(Date.now() - t);
  }
  for (const f of [...files, ...exports]) await fsp.rm(f, { force: true });
  await startInstance(ds);
  return { ms: Date.now() - started, generateMs, importMs, issuerName: ca.name.ldapString() };
}

// ---------------------------------------------------------------------------------------------
// One size

interface SizeFigures {
  n: number;
  load: Awaited<ReturnType<typeof loadCopies>>;
  run: ToolRun;
  backfillMs: number;
  backfillCpu: { slapd: number; tool: number };
  indexMs: number;
  /** What the CA could still do 5 s into the index build (one lookup, one write), if the build lasted that long. */
  duringBuild?: string;
  /** Runs after the first when it did not complete (the index step's wait ran out), and the first's exit. */
  continued: { ms: number; code: number | null }[];
  firstCode: number | null;
  /** The first run and those that completed it. */
  totalMs: number;
  rawMs: number;
  rawCpu: { slapd: number; client: number };
  /** The backfill's search alone on the ceiling's copy, before its writes: what the server spends reading. */
  searchMs: number;
  searchCpu: { slapd: number; client: number };
  noopMs: number;
  /** `node -e 0`, median of 3, timed as the runs are. */
  nodeStartMs: number;
  diskBytes: number;
  /** fsync/s of the disk (fsyncRate) before the tool's run and before the ceiling. */
  fsync: number[];
  /** The entry cache of the tool's copy after its run, and of the ceiling's copy after the ceiling. */
  caches: CacheFigures[];
}

const WATCH = {
  backfillStart: /applying 10\.3\.3\/01-IssuerNameBackfill/,
  backfillEnd: /issuerName backfill: [\d,]+ updated in/,
  // The run's index build, after its steps: one task for the CA indexes and the VLV index.
  indexStart: /index task on backend \S+ for /,
  indexEnd: /index build finished on backend /,
  last: /applying 11\.6\.0\/02-RequireIssuerName/,
};

/**
 * What a CA can still do while the index task holds its backend, 5 s into the build: one lookup
 * of a certificate record by serial number (as the CA's searches do) and one write (a request
 * entry being stored), each timed, with the write's result code.
 */
async function whatTheCaCanDo(ds: DsInstance, suffix: string, backend: string): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const session = await adminSession(ds);
  try {
    const t0 = performance.now();
    let lookup: string;
    try {
      const found = await session.search(`ou=certificateRepository,ou=ca,${suffix}`, { scope: 'one', filter: '(serialno=011)', attributes: ['cn'] });
      lookup = `lookup: ${found.length} found in ${(performance.now() - t0).toFixed(0)} ms`;
    } catch (err) {
      // The serialno index may be one of those being built: the lookup is then a scan of every record.
      lookup = `lookup: no answer after ${(performance.now() - t0).toFixed(0)} ms (${(err as Error).message.split('\n')[0].slice(0, 80)})`;
    }
    const t1 = performance.now();
    let write: string;
    try {
      await session.add(`cn=bench-probe-${Date.now()},ou=ca,${suffix}`, { objectClass: ['top', 'extensibleObject'], cn: 'bench-probe', description: 'written during the index build' });
      write = `write accepted in ${(performance.now() - t1).toFixed(0)} ms`;
    } catch (err) {
      write = `write refused in ${(performance.now() - t1).toFixed(0)} ms (${(err as { code?: number }).code ?? '?'}: ${(err as Error).message.split('\n')[0].slice(0, 60)})`;
    }
    // Only what was seen while the task still held the backend counts.
    if ((await runningBackendTasks(session, backend)).length === 0) return 'build ended before the probe';
    return `${lookup}; ${write}`;
  } finally {
    await session.close();
  }
}

async function withAdminSession<T>(ds: DsInstance, use: (session: LdaptsSession) => Promise<T>): Promise<T> {
  const session = await adminSession(ds);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

function describeCacheMode(mode: EntryCacheMode): string {
  return mode === 'fit'
    ? 'entry and DN caches sized to hold the copy measured (PKI_BENCH_SCALE_ENTRY_CACHE=fit)'
    : "389 DS's own cache sizes (nsslapd-cache-autosize, its default)";
}

/** Runs a command with its output thrown away; fails on a non-zero exit. */
function discarded(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

/**
 * What the disk allows at this moment: 512-byte appends, each fsynced, for 3 s in `dir` (the
 * server's file system). With durable transactions every write waits for one such fsync, and the
 * other test runs on the machine share the disk.
 */
function fsyncRate(dir: string): number {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w', 0o600);
  const block = Buffer.alloc(512, 0x78);
  const started = Date.now();
  let n = 0;
  try {
    while (Date.now() - started < 3000) {
      writeSync(fd, block);
      fsyncSync(fd);
      n++;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return (n * 1000) / (Date.now() - started);
}

async function duBytes(dir: string): Promise<number> {
  const r = await run('du', ['-sb', dir], { timeoutMs: 600_000 });
  return Number(r.stdout.split('\t')[0]);
}

/** Where the copy not being measured keeps its few entries meanwhile (cache mode fit). */
const IDLE_CACHES = { entryCacheBytes: 256 * 2 ** 20, dnCacheBytes: 32 * 2 ** 20 };

function adminSession(ds: DsInstance): Promise<LdaptsSession> {
  return LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
}

/** Reads a copy once, whole, the output discarded (at 1,000,000 records it is gigabytes): it is then in the caches, as far as they hold it. */
function readWhole(ds: DsInstance, suffix: string): Promise<void> {
  return discarded('ldapsearch', ['-LLL', '-x', '-H', ds.url, '-D', ds.rootDN, '-w', ds.rootPassword, '-E', 'pr=2000/noprompt', '-b', suffix, '(objectClass=*)', '*', '+']);
}

/**
 * The backfill's search (IssuerNameBackfill: its filter, its attribute, its page size), read to
 * the end and discarded: its time in ms. A copy that has no issuerName yet matches every record.
 */
async function backfillSearchAlone(ds: DsInstance, suffix: string, n: number): Promise<number> {
  return withAdminSession(ds, async (session) => {
    const t0 = performance.now();
    let read = 0;
    const stream = session.searchStream(certificateRepositoryDN(suffix), {
      scope: 'one',
      filter: MISSING_ISSUER_NAME_FILTER,
      attributes: ['userCertificate;binary'],
      binaryAttributes: ['userCertificate;binary'],
      pageSize: BULK_DEFAULTS.pageSize,
    });
    for await (const _ of stream) read++;
    // Every generated record, less the CA's own (the loader writes it with issuerName).
    if (read < n - 1) throw new Error(`the backfill's search read ${read} records of ${n}`);
    return performance.now() - t0;
  });
}

/** `work`'s result with the CPU time ns-slapd (`pid`) and this process spent meanwhile (ms). */
async function withCpu<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; cpu: { slapd: number; client: number } }> {
  const slapd0 = cpuMs(pid);
  const client0 = process.cpuUsage();
  const value = await work();
  const client = process.cpuUsage(client0);
  return { value, cpu: { slapd: cpuMs(pid) - slapd0, client: (client.user + client.system) / 1000 } };
}

async function measureSize(port: number, dir: string, n: number, durable: boolean, config: CaConfig, cacheMode: EntryCacheMode): Promise<SizeFigures> {
  const tag = n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);
  progress(`N=${n}: creating a 389 DS on 127.0.0.1:${port}`);
  const ds = await createInstance({ name: `scale${port}`, port, securePort: port + 1, root: path.join(dir, `ds${tag}`), durableTransactions: durable });
  let keep = false;
  try {
    const passwordFile = path.join(dir, 'password');
    await fsp.writeFile(passwordFile, `${ds.rootPassword}\n`, { mode: 0o600 });
    await loadPkiSchema(ds);
    const tool: Copy = { suffix: `o=scaletool${tag}`, backend: `scaletool${tag}` };
    const ceiling: Copy = { suffix: `o=scaleraw${tag}`, backend: `scaleraw${tag}` };
    const load = await loadCopies(ds, dir, n, [tool, ceiling], config);
    let fit: ReturnType<typeof fittingSizes> | undefined;
    if (cacheMode === 'fit') {
      // One copy's caches hold all of it while it is measured; the other's stay small meanwhile,
      // so that the server never needs room for both (24 GiB, about 7 GiB per million entries).
      const sizes = fittingSizes(n, await withAdminSession(ds, (s) => sampledEntrySize(s, tool.backend, tool.suffix)));
      await withAdminSession(ds, (s) => setCaches(s, [{ backend: tool.backend, ...sizes }, { backend: ceiling.backend, ...IDLE_CACHES }]));
      fit = sizes;
      progress(`N=${n}: loaded in ${sec(load.ms)} (generation ${sec(load.generateMs)}, imports ${load.importMs.map(sec).join(' + ')}); caches sized to hold the copy measured (${(fit.entryCacheBytes / 2 ** 30).toFixed(2)} GiB entry cache, ${(fit.dnCacheBytes / 2 ** 20).toFixed(0)} MiB DN cache); reading the tool's copy once`);
      await readWhole(ds, tool.suffix);
    } else {
      progress(`N=${n}: loaded in ${sec(load.ms)} (generation ${sec(load.generateMs)}, imports ${load.importMs.map(sec).join(' + ')}); reading both copies once`);
      // Both copies read once, whole, as make bench warms its copies.
      for (const c of [tool, ceiling]) await readWhole(ds, c.suffix);
    }

    const args = ['run', '--url', ds.url, '--base-dn', tool.suffix, '--password-file', passwordFile, ...DIRECT_CA_FACTS];
    // The first run keeps a log file (its progress can be followed there); the others do not.
    const logFile = path.join(dir, `tool-${tag}.log`);
    const fsyncBefore = fsyncRate(dir);
    progress(`N=${n}: the tool's full upgrade of ${tool.suffix} (log: ${logFile}; the disk did ${int.format(fsyncBefore)} fsync/s just before)`);
    let probe: Promise<string> | undefined;
    const r = await watchedRun(MAIN_BUNDLE, [...args, '--log-file', logFile], {
      rssFile: path.join(dir, 'rss'),
      watch: WATCH,
      slapdPid: slapdPid(ds),
      onWatched: (name) => void (name === 'indexStart' && (probe = whatTheCaCanDo(ds, tool.suffix, tool.backend))),
    });
    const duringBuild = await probe;
    if (r.at.backfillEnd === undefined) throw new Error(`the tool's run failed (exit ${r.code}) before the end of the backfill:\n${r.stderr.slice(-4000)}`);
    // The index build gives up when its task stops moving (index-builds.ts); 389 DS carries the
    // task on: a later run waits for it, recognises the finished build and clears the marks.
    const continued: ToolRun[] = [];
    while (r.code !== 0 && continued.length < 3) {
      progress(`N=${n}: the run ended with exit ${r.code} after the backfill (${r.stderr.trim().split('\n').slice(-1)[0]}); running the tool again`);
      const again = await watchedRun(MAIN_BUNDLE, args, { rssFile: path.join(dir, 'rss'), watch: {}, slapdPid: slapdPid(ds) });
      continued.push(again);
      if (again.code === 0) break;
    }
    if (r.code !== 0 && continued.at(-1)?.code !== 0) throw new Error(`the upgrade did not complete:\n${r.stderr.slice(-3000)}\n${continued.at(-1)?.stderr.slice(-3000)}`);
    if (r.code === 0 && r.at.indexEnd === undefined) throw new Error(`the tool's run did not log the index task:\n${r.stderr.slice(-4000)}`);
    const updated = /issuerName backfill: ([\d,]+) updated/.exec(r.stderr)![1].replace(/,/g, '');
    if (Number(updated) !== n) throw new Error(`the backfill updated ${updated} records, not ${n}`);
    const toolCache = await withAdminSession(ds, (s) => cacheFigures(s, tool.backend));

    if (fit) {
      // The tool's copy lets go of its memory (a restart gives it back to the system), then the
      // ceiling's copy gets the room and is read once, as the tool's was.
      await withAdminSession(ds, (s) => setCaches(s, [{ backend: tool.backend, ...IDLE_CACHES }]));
      await restartInstance(ds);
      await withAdminSession(ds, (s) => setCaches(s, [{ backend: ceiling.backend, ...fit! }]));
      progress(`N=${n}: reading the ceiling's copy once, its caches now sized to hold it`);
      await readWhole(ds, ceiling.suffix);
    }

    progress(`N=${n}: the backfill's search alone on ${ceiling.suffix} (same filter, attribute and page size), before its writes`);
    const pid = slapdPid(ds);
    const search = await withCpu(pid, () => backfillSearchAlone(ds, ceiling.suffix, n));

    progress(`N=${n}: the server's ceiling on ${ceiling.suffix}: the same modifications pre-encoded on one raw socket, 64 in flight`);
    const fsyncCeiling = fsyncRate(dir);
    const { value: rawMs, cpu: rawCpu } = await withCpu(pid, () => rawIssuerNameBackfill(ds, ceiling.suffix, n, load.issuerName));
    const ceilingCache = await withAdminSession(ds, (s) => cacheFigures(s, ceiling.backend));

    progress(`N=${n}: nothing to do on the upgraded database`);
    const noops: number[] = [];
    for (let i = 0; i < 3; i++) {
      const x = await watchedRun(MAIN_BUNDLE, args, { rssFile: path.join(dir, 'rss'), watch: {}, slapdPid: slapdPid(ds) });
      if (x.code !== 0 || !/nothing to do/.test(x.stderr)) throw new Error(`the second run did something:\n${x.stderr}`);
      noops.push(x.ms);
    }
    // What node itself takes to start and exit here: the floor of any run of the tool.
    const nodeStarts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await run(process.execPath, ['-e', '0']);
      nodeStarts.push(performance.now() - t0);
    }
    const diskBytes = await duBytes(ds.root);
    keep = !!process.env.PKI_BENCH_KEEP;
    const b0 = r.cpu.backfillStart ?? { slapd: 0, tool: 0 };
    const b1 = r.cpu.backfillEnd!;
    return {
      n,
      load,
      run: r,
      backfillMs: r.at.backfillEnd - (r.at.backfillStart ?? 0),
      backfillCpu: { slapd: b1.slapd - b0.slapd, tool: b1.tool - b0.tool },
      // The step's time: to the end of its task, or to the end of the run that completed it.
      indexMs: (r.at.indexEnd ?? r.ms + continued.reduce((t, c) => t + c.ms, 0)) - (r.at.indexStart ?? r.at.backfillEnd),
      duringBuild,
      continued: continued.map((c) => ({ ms: c.ms, code: c.code })),
      firstCode: r.code,
      totalMs: r.ms + continued.reduce((t, c) => t + c.ms, 0),
      rawMs,
      rawCpu,
      searchMs: search.value,
      searchCpu: search.cpu,
      noopMs: median(noops),
      nodeStartMs: median(nodeStarts),
      diskBytes,
      fsync: [fsyncBefore, fsyncCeiling],
      caches: [toolCache, ceilingCache],
    };
  } finally {
    if (keep) progress(`kept: server ${ds.url} in ${ds.root}`);
    else await removeInstance(ds).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------

const rate = (n: number, ms: number) => `${int.format((n * 1000) / ms)}/s`;
const share = (part: number, whole: number) => `${Math.round((100 * part) / whole)}%`;
const cores = (cpu: number, ms: number) => (cpu / ms).toFixed(2);

function report(figures: SizeFigures[], loads: string[]): string[][] {
  const head = ['full upgrade, real steps (one run per size)', ...figures.map((f) => `N = ${int.format(f.n)}`), 'target'];
  return [
    head,
    ['tool: whole run', ...figures.map((f) => sec(f.run.ms) + f.continued.map((c) => ` (exit ${f.firstCode}) + ${sec(c.ms)} (exit ${c.code})`).join('')), ''],
    ['tool: whole run, records per second; ms per 1,000 records', ...figures.map((f) => `${rate(f.n, f.totalMs)}; ${int.format((1000 * f.totalMs) / f.n)} ms`), 'linear in N'],
    ['backfill pass (log line to log line)', ...figures.map((f) => `${sec(f.backfillMs)}, ${rate(f.n, f.backfillMs)}`), ''],
    ['server ceiling: same writes pre-encoded, one raw socket, 64 in flight', ...figures.map((f) => `${sec(f.rawMs)}, ${rate(f.n, f.rawMs)}`), ''],
    ['backfill speed as a share of the ceiling', ...figures.map((f) => share(f.rawMs, f.backfillMs)), '≥ 90%'],
    ['CPU during the backfill: ns-slapd / tool (cores)', ...figures.map((f) => `${cores(f.backfillCpu.slapd, f.backfillMs)} / ${cores(f.backfillCpu.tool, f.backfillMs)}`), ''],
    ['CPU during the ceiling: ns-slapd / raw client (cores)', ...figures.map((f) => `${cores(f.rawCpu.slapd, f.rawMs)} / ${cores(f.rawCpu.client, f.rawMs)}`), ''],
    ['ns-slapd CPU per write: backfill / ceiling', ...figures.map((f) => `${((1000 * f.backfillCpu.slapd) / f.n).toFixed(0)} / ${((1000 * f.rawCpu.slapd) / f.n).toFixed(0)} µs`), ''],
    ["the backfill's search alone (its filter, attribute and pages), before the ceiling's writes", ...figures.map((f) => `${sec(f.searchMs)}, ${rate(f.n, f.searchMs)}`), ''],
    ['ns-slapd CPU per record: the search alone + a ceiling write = sum; in the backfill', ...figures.map((f) => {
      const per = (cpu: number) => Math.round((1000 * cpu) / f.n);
      return `${per(f.searchCpu.slapd)} + ${per(f.rawCpu.slapd)} = ${per(f.searchCpu.slapd) + per(f.rawCpu.slapd)}; ${per(f.backfillCpu.slapd)} µs`;
    }), ''],
    ['server doing the search and the writes in turn: N / (search + ceiling)', ...figures.map((f) => rate(f.n, f.searchMs + f.rawMs)), ''],
    ['backfill speed as a share of that', ...figures.map((f) => share(f.searchMs + f.rawMs, f.backfillMs)), '≥ 90% (bound)'],
    ['entry cache after the writes: records held of N; hit ratio (tool / ceiling)', ...figures.map((f) => f.caches.map((c) => `${share(Math.min(c.entries, f.n), f.n)}; ${c.entryHitRatio}%`).join(' / ')), ''],
    ['disk: fsync/s before the run / before the ceiling (3 s probe)', ...figures.map((f) => f.fsync.map((x) => int.format(x)).join(' / ')), ''],
    ['index build after the steps (one task: CA indexes and the VLV index)', ...figures.map((f) => sec(f.indexMs)), ''],
    ['5 s into the index build: a certificate lookup; a write', ...figures.map((f) => f.duringBuild ?? 'build shorter than 5 s'), ''],
    ['tool peak RSS', ...figures.map((f) => `${f.run.rssMiB.toFixed(0)} MiB`), '≤ 150 MiB, flat'],
    ['nothing to do (median of 3); node -e 0 on this machine', ...figures.map((f) => `${sec(f.noopMs)}; ${sec(f.nodeStartMs)}`), '≤ 0.2 s'],
    ['load: generate + import two copies offline', ...figures.map((f) => `${sec(f.load.generateMs)} + ${f.load.importMs.map(sec).join(' + ')}`), ''],
    ['disk of the server at the end (du)', ...figures.map((f) => `${(f.diskBytes / 2 ** 30).toFixed(2)} GiB`), ''],
    ['load average after this size', ...loads, ''],
  ];
}

async function main(): Promise<void> {
  const port = Number(process.env.PKI_BENCH_SCALE_PORT ?? (process.env.PKI_TEST_PORT_BASE ? Number(process.env.PKI_TEST_PORT_BASE) + 100 : 19000));
  const sizes = (process.env.PKI_BENCH_SCALE_SIZES ?? '20000,100000,1000000').split(',').map((s) => Number(s.trim()));
  const durable = process.env.PKI_BENCH_DURABLE !== 'off';
  const config = caConfigFromEnvironment();
  const cacheMode = entryCacheModeFromEnvironment();
  const tmp = os.tmpdir();
  const need = Math.max(...sizes) * DISK_PER_RECORD;
  const fs = statfsSync(tmp);
  const free = fs.bavail * fs.bsize;
  if (free < need) {
    process.stderr.write(
      `[bench-scale] refusing to start: ${tmp} has ${int.format(free / 2 ** 30)} GiB free, N=${int.format(Math.max(...sizes))} needs about ${int.format(need / 2 ** 30)} GiB (${DISK_PER_RECORD / 1024} KiB per record); free some space, set TMPDIR to a larger file system, or lower PKI_BENCH_SCALE_SIZES\n`,
    );
    process.exit(2);
  }
  const dir = await fsp.mkdtemp(path.join(tmp, 'pkidbu-scale-'));
  await fsp.chmod(dir, 0o755); // the server (user dirsrv when run as root) reads the import files
  const commit = (await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { allowFailure: true })).stdout.trim() || 'unknown';
  await fsp.copyFile(MAIN_BUNDLE, path.join(dir, 'pki-db-upgrade.js'));
  MAIN_BUNDLE = path.join(dir, 'pki-db-upgrade.js');
  progress(`sizes ${sizes.join(', ')}; the bundle of commit ${commit}${(await run('git', ['-C', ROOT, 'status', '--porcelain', 'src', 'upgrades'], { allowFailure: true })).stdout.trim() ? ' with changes not committed' : ''}; ${int.format(free / 2 ** 30)} GiB free in ${tmp}, the largest needs about ${int.format(need / 2 ** 30)} GiB; files in ${dir}; the CA databases: ${describeCaConfig(config)}; ${describeCacheMode(cacheMode)}`);
  const started = Date.now();
  const figures: SizeFigures[] = [];
  const loads: string[] = [];
  try {
    for (const [i, n] of sizes.entries()) {
      // A port pair of its own per size: the previous size's server may not have let go of its port yet.
      figures.push(await measureSize(port + 2 * i, dir, n, durable, config, cacheMode));
      loads.push(os.loadavg().map((l) => l.toFixed(1)).join(' '));
      // Each size's figures as soon as they are known: an hour-long run that fails later keeps them.
      progress(`figures so far:\n${table(report(figures, loads))}`);
    }
  } finally {
    if (!process.env.PKI_BENCH_KEEP) await fsp.rm(dir, { recursive: true, force: true });
  }
  const cpu = os.cpus();
  const rows = report(figures, loads);
  const machine = `${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${int.format(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}, ${durable ? 'durable transactions on (as production)' : 'durable transactions off (PKI_BENCH_DURABLE=off)'}; the CA databases: ${describeCaConfig(config)}; ${describeCacheMode(cacheMode)}`;
  process.stdout.write(`\nMachine: ${machine}; the bundle of commit ${commit}; bench run time ${sec(Date.now() - started)}\n\n${table(rows)}\n`);
}

main().catch((err) => {
  process.stderr.write(`[bench-scale] failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
