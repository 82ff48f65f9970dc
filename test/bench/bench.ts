/**
 * make bench: figures of the bundled tool on a real 389 DS of its own (never part of make test).
 *
 *  1. issuerName backfill of N certificate records (N = 20,000 and 100,000, none with issuerName):
 *     the tool (a bundle of the tracking step and the real backfill step) against ldapmodify
 *     applying the same modifications from one LDIF in one process, on the same server, each on
 *     its own copy of the same database (loaded over LDAP, then the server restarted so that 389 DS
 *     autosizes the entry caches as on a PKI server);
 *  2. the tool's peak RSS during that run;
 *  3. "nothing to do" on the upgraded database: a second run of the tool, and the backfill's own
 *     re-check (its filter, DN only) as ldapsearch;
 *  4. the server's ceiling for the same writes: pre-encoded on one raw socket, 64 in flight
 *     (raw-modifies.ts), so the tool's pass can be read as a share of what the server can take;
 *  5. issue 2's figures: no-op run of dist/pki-db-upgrade.js against `node -e 0` + one ldapsearch
 *     (direct mode, and the start-time run in instance mode by LDAPI), and the bundle size.
 *
 * Environment: PKI_BENCH_PORT (default PKI_TEST_PORT_BASE+30, else 18930: below the ephemeral
 * range), PKI_BENCH_SIZES (default "20000,100000"), PKI_BENCH_ROUNDS (default 3),
 * PKI_BENCH_KEEP=1 keeps the server and files, PKI_BENCH_ONLY=noop measures the no-op run alone
 * (make bench-noop).
 */
import { spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdtempSync, promises as fsp, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend, createInstance, killInstance, restartInstance, type DsInstance } from '../harness/dirsrv';
import { connect } from '../harness/ldap';
import { loadPkiDatabase, loadPkiSchema } from '../harness/pki-database';
import { serviceEnvironment } from '../harness/service-environment';
import { int, median, sec, table } from './figures';
import { rawIssuerNameBackfill } from './raw-modifies';
import { suffixExport } from '../../src/apply/database-backup';
import { systemClock } from '../../src/core/clock';
import { silentLogger } from '../../src/core/logger';
import { LdaptsSession } from '../../src/ldap/ldapts-session';
import { fakePkiIn, writeToolConfig } from '../support/fake-pki';
import { DIRECT_CA_FACTS } from '../support/pki-facts';

const ROOT = process.env.PKI_BENCH_REPO ?? path.resolve(__dirname, '..');
const MAIN_BUNDLE = path.join(ROOT, 'dist/pki-db-upgrade.js');
const BENCH_BUNDLE = path.join(ROOT, 'dist/bench-backfill.js');
const PEAK_RSS = path.join(ROOT, 'test/bench/peak-rss.cjs');
const MISSING_FILTER = '(&(objectclass=certificateRecord)(|(!(issuerName=*))(issuerName=)))';

interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
}

async function mustSucceed(what: string, p: Promise<Timed>): Promise<Timed> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}${r.stdout.slice(-1000)}`);
  return r;
}

const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);

// ---------------------------------------------------------------------------------------------
// Databases

interface BenchDatabase {
  suffix: string;
  backend: string;
}

/**
 * The ldapmodify input: the same replace of issuerName the tool makes, for every record; or
 * (issuerName undefined) the deletion of issuerName that puts a copy back for the next round.
 */
async function modificationsFile(dir: string, n: number, db: BenchDatabase, issuerName: string | undefined): Promise<string> {
  const file = path.join(dir, `${issuerName === undefined ? 'reset' : 'backfill'}-${db.backend}.ldif`);
  const change = issuerName === undefined ? 'delete: issuerName\n-\n' : `replace: issuerName\nissuerName: ${issuerName}\n-\n`;
  const out = createWriteStream(file);
  for (let serial = 1; serial <= n; serial++) {
    const ok = out.write(`dn: cn=${serial},ou=certificateRepository,ou=ca,${db.suffix}\nchangetype: modify\n${change}\n`);
    if (!ok) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Measurements

interface SizeFigures {
  n: number;
  rounds: number;
  loadMs: number;
  toolMs: number;
  toolPassMs?: number;
  ldapmodifyMs: number;
  toolRunsMs: number[];
  ldapmodifyRunsMs: number[];
  peakRssMiB: number;
  rawMs: number;
  noopMs: number;
  recheckMs: number;
  /** The backup a run takes before its first data step (an export task), median of 3, and its file. */
  backupMs: number;
  backupBytes: number;
}

/** The OpenLDAP client options that bind to `ds` as Directory Manager. */
function simpleBind(ds: DsInstance): string[] {
  return ['-x', '-H', ds.url, '-D', ds.rootDN, '-w', ds.rootPassword];
}

function cliArgs(ds: DsInstance, suffix: string, passwordFile: string): string[] {
  return ['run', '--url', ds.url, '--base-dn', suffix, '--password-file', passwordFile, ...DIRECT_CA_FACTS];
}

async function countLacking(ds: DsInstance, suffix: string): Promise<number> {
  const r = await mustSucceed(
    'ldapsearch',
    timed('ldapsearch', ['-LLL', ...simpleBind(ds), '-E', 'pr=2000/noprompt', '-b', `ou=certificateRepository,ou=ca,${suffix}`, '-s', 'one', MISSING_FILTER, '1.1']),
  );
  return (r.stdout.match(/^dn: /gm) ?? []).length;
}

async function measureSize(ds: DsInstance, dir: string, passwordFile: string, n: number): Promise<SizeFigures> {
  const tag = n >= 1000 ? `${Math.round(n / 1000)}k` : String(n);
  const tool: BenchDatabase = { suffix: `o=benchtool${tag}`, backend: `benchtool${tag}` };
  const baseline: BenchDatabase = { suffix: `o=benchmod${tag}`, backend: `benchmod${tag}` };
  // Loaded over LDAP with the harness loader (12 adds in flight): 389 DS's import task runs at a
  // few hundred entries per second on this kind of machine, slower than adds.
  let loadMs = 0;
  let issuerName = '';
  for (const db of [tool, baseline]) {
    progress(`N=${n}: loading ${db.suffix} (${n} records without issuerName)`);
    const loaded = await loadPkiDatabase(ds, { suffix: db.suffix, backendName: db.backend, certificates: n, withoutIssuerNameRatio: 1, schema: false });
    loadMs = Math.max(loadMs, loaded.elapsedMs);
    issuerName = loaded.issuerName;
  }
  // 389 DS sizes the entry cache of a backend created while it runs at its minimum (512 KB, a
  // few dozen entries); at start-up it divides the cache among all backends, as a PKI server's
  // backends have it. So every round starts on a freshly started server: that also undoes what
  // the previous round's 2 × N rewrites left behind (the server got slower with each full pass
  // over the repository: 12 s, then 18 s for the same 100,000 writes), which no real upgrade
  // starts from.
  const restartAndWarm = async (round: number) => {
    progress(`N=${n}: restarting the server for round ${round + 1} (entry caches autosized at start-up)`);
    await restartInstance(ds);
    for (const db of [tool, baseline]) {
      const lacking = await countLacking(ds, db.suffix);
      if (lacking !== n) throw new Error(`${db.suffix}: expected ${n} records without issuerName, found ${lacking}`);
      // Whichever side runs first after the restart must not pay for reading the database into
      // the caches: read every record of both copies once, whole.
      await mustSucceed(
        'ldapsearch (warm-up)',
        timed('ldapsearch', ['-LLL', ...simpleBind(ds), '-E', 'pr=2000/noprompt', '-b', db.suffix, '(objectClass=*)', '*', '+']),
      );
    }
  };
  const modifyFile = await modificationsFile(dir, n, baseline, issuerName);
  const resetFiles = [await modificationsFile(dir, n, tool, undefined), await modificationsFile(dir, n, baseline, undefined)];

  // Rounds in alternating order. The table gives the best time of each side (the one least
  // disturbed by whatever else the machine was doing) and the median of the per-round ratios.
  const rounds = Math.max(1, Number(process.env.PKI_BENCH_ROUNDS ?? 3));
  const toolRuns: { ms: number; passMs?: number; rssMiB: number }[] = [];
  const modRuns: number[] = [];
  const runLdapmodify = async () => {
    progress(`N=${n}: ldapmodify applying ${n} modifications from one LDIF`);
    const r = await mustSucceed('ldapmodify', timed('ldapmodify', [...simpleBind(ds), '-f', modifyFile]));
    modRuns.push(r.ms);
  };
  const runTool = async () => {
    progress(`N=${n}: the tool's backfill`);
    const rssFile = path.join(dir, `rss-${n}`);
    const r = await mustSucceed(
      'the tool',
      timed(process.execPath, ['--require', PEAK_RSS, BENCH_BUNDLE, ...cliArgs(ds, tool.suffix, passwordFile)], { PEAK_RSS_FILE: rssFile }),
    );
    const pass = /issuerName backfill: [\d,]+ updated in (\d+) (s|min)/.exec(r.stderr);
    toolRuns.push({
      ms: r.ms,
      passMs: pass ? Number(pass[1]) * (pass[2] === 'min' ? 60_000 : 1000) : undefined,
      rssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024,
    });
  };
  for (let round = 0; round < rounds; round++) {
    if (round > 0) {
      progress(`N=${n}: putting both copies back for round ${round + 1}`);
      for (const f of resetFiles) await mustSucceed('ldapmodify (reset)', timed('ldapmodify', [...simpleBind(ds), '-f', f]));
      await mustSucceed('ldapdelete', timed('ldapdelete', ['-x', '-r', '-H', ds.url, '-D', ds.rootDN, '-w', ds.rootPassword, `cn=dbUpgrade,${tool.suffix}`]));
    }
    await restartAndWarm(round);
    if (round % 2 === 0) {
      await runLdapmodify();
      await runTool();
    } else {
      await runTool();
      await runLdapmodify();
    }
    for (const db of [tool, baseline]) {
      const lacking = await countLacking(ds, db.suffix);
      if (lacking !== 0) throw new Error(`${db.suffix}: ${lacking} records still lack issuerName after the backfill`);
    }
  }
  const bestTool = toolRuns.reduce((a, b) => (b.ms < a.ms ? b : a));

  // The server's ceiling for these writes, on the baseline copy put back as it was.
  progress(`N=${n}: the server's ceiling: the same modifications pre-encoded on one raw socket, 64 in flight`);
  await mustSucceed('ldapmodify (reset)', timed('ldapmodify', [...simpleBind(ds), '-f', resetFiles[1]]));
  await restartInstance(ds);
  if ((await countLacking(ds, baseline.suffix)) !== n) throw new Error(`${baseline.suffix}: not put back for the ceiling measurement`);
  const rawMs = await rawIssuerNameBackfill(ds, baseline.suffix, n, issuerName);
  if ((await countLacking(ds, baseline.suffix)) !== 0) throw new Error(`${baseline.suffix}: the raw modifies left records without issuerName`);

  progress(`N=${n}: nothing to do on the upgraded database`);
  const noops: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await mustSucceed('the no-op run', timed(process.execPath, [BENCH_BUNDLE, ...cliArgs(ds, tool.suffix, passwordFile)]));
    if (!/nothing to do/.test(r.stderr)) throw new Error(`second run did something:\n${r.stderr}`);
    noops.push(r.ms);
  }
  const rechecks: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    await countLacking(ds, tool.suffix);
    rechecks.push(Date.now() - started);
  }
  progress(`N=${n}: the backup before data steps (389 DS export task of the suffix)`);
  const backups: number[] = [];
  let backupBytes = 0;
  const session = await LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
  try {
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const file = await suffixExport({ ldap: session, suffix: tool.suffix, backend: tool.backend, policy: 'always', clock: systemClock, logger: silentLogger })!.take();
      backups.push(Date.now() - started);
      backupBytes = statSync(file).size;
      await fsp.rm(file, { force: true });
    }
  } finally {
    await session.close();
  }
  if (!process.env.PKI_BENCH_KEEP) for (const f of [modifyFile, ...resetFiles]) await fsp.rm(f, { force: true });
  return {
    backupMs: median(backups),
    backupBytes,
    n,
    loadMs,
    rounds,
    toolMs: bestTool.ms,
    toolPassMs: bestTool.passMs,
    ldapmodifyMs: Math.min(...modRuns),
    toolRunsMs: toolRuns.map((r) => r.ms),
    ldapmodifyRunsMs: modRuns,
    peakRssMiB: Math.max(...toolRuns.map((r) => r.rssMiB)),
    rawMs,
    noopMs: median(noops),
    recheckMs: median(rechecks),
  };
}

const NOOP_ROUNDS = 21;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function measureNoop(ds: DsInstance, passwordFile: string) {
  const suffix = 'o=benchnoop';
  await createBackend(ds, suffix, 'benchnoop');
  // As the RPM installs it: root's code cache folder (packaging/code-cache.mjs), which the first
  // run after an install or upgrade fills; the runs without it are a first run's (or not root's).
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'pkidbu-codecache-'));
  chmodSync(cacheDir, 0o700);
  const cached = { PKI_DB_UPGRADE_CODE_CACHE: cacheDir };
  const uncached = { PKI_DB_UPGRADE_CODE_CACHE: path.join(cacheDir, 'none') };
  await mustSucceed('first run of the bundle', timed(process.execPath, [MAIN_BUNDLE, ...cliArgs(ds, suffix, passwordFile)], cached));
  const tool: number[] = [];
  const toolUncached: number[] = [];
  const node: number[] = [];
  const search: number[] = [];
  const loaded: number[] = [];
  const loadedUncached: number[] = [];
  const noop = async (env: NodeJS.ProcessEnv) => {
    const r = await mustSucceed('no-op run', timed(process.execPath, [MAIN_BUNDLE, ...cliArgs(ds, suffix, passwordFile)], env));
    if (!/nothing to do/.test(r.stderr)) throw new Error(`no-op run did something:\n${r.stderr}`);
    return r.ms;
  };
  // The run the start-time drop-in makes at every PKI server start: instance mode, root by LDAPI
  // with SASL EXTERNAL (no password), its log and status files in a tree of its own (--root).
  const tree = mkdtempSync(path.join(os.tmpdir(), 'pkidbu-noop-tree-'));
  const pki = fakePkiIn(tree, { host: '127.0.0.1', port: ds.port, baseDN: suffix, database: 'benchnoop' }, 'pki-tomcat');
  writeToolConfig(pki, { ldapi_socket: ds.ldapiPath });
  const startRun = async () => {
    const r = await mustSucceed('start-time run', timed(process.execPath, [MAIN_BUNDLE, 'run', '--root', tree, '--mode', 'start'], cached));
    if (!/up to date/.test(r.stdout)) throw new Error(`start-time run did something:\n${r.stdout}${r.stderr}`);
    return r.ms;
  };
  const start: number[] = [];
  // Interleaved rounds: the figures are tens of milliseconds, and the machine's noise is of that order.
  for (let i = 0; i < NOOP_ROUNDS; i++) {
    // What bounds the ratio from below: node's start with the bundle read, compiled and its
    // modules initialised, and nothing run (--version prints a line and exits).
    loaded.push((await mustSucceed('the bundle --version', timed(process.execPath, [MAIN_BUNDLE, '--version'], cached))).ms);
    loadedUncached.push((await mustSucceed('the bundle --version', timed(process.execPath, [MAIN_BUNDLE, '--version'], uncached))).ms);
    tool.push(await noop(cached));
    toolUncached.push(await noop(uncached));
    start.push(await startRun());
    node.push((await mustSucceed('node -e 0', timed(process.execPath, ['-e', '0']))).ms);
    search.push((await mustSucceed('ldapsearch', timed('ldapsearch', ['-LLL', ...simpleBind(ds), '-b', suffix, '-s', 'base', '1.1']))).ms);
  }
  rmSync(cacheDir, { recursive: true, force: true });
  rmSync(tree, { recursive: true, force: true });
  return {
    toolMs: median(tool),
    startMs: median(start),
    toolUncachedMs: median(toolUncached),
    nodeMs: median(node),
    ldapsearchMs: median(search),
    loadedMs: median(loaded),
    loadedUncachedMs: median(loadedUncached),
    bundleBytes: statSync(MAIN_BUNDLE).size,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const rate = (n: number, ms: number) => `${int.format((n * 1000) / ms)}/s`;

/** What the server's allocator is: the harness starts it with the packaged unit's LD_PRELOAD. */
function allocator(): string {
  const preload = serviceEnvironment().LD_PRELOAD;
  return preload ? `started as dirsrv@.service does (LD_PRELOAD=${path.basename(preload)})` : 'glibc malloc (no LD_PRELOAD in the packaged unit)';
}

async function machine(ds: DsInstance, durable: boolean): Promise<string> {
  const cpu = os.cpus();
  const vendor = await connect(ds.url, ds.rootDN, ds.rootPassword).then(async (c) => {
    try {
      const { searchEntries } = await c.search('', { scope: 'base', attributes: ['vendorVersion'] });
      return String(searchEntries[0].vendorVersion);
    } finally {
      await c.unbind();
    }
  });
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${int.format(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}, ${vendor}, ${allocator()}, ${durable ? 'durable transactions on (as production)' : 'durable transactions off (PKI_BENCH_DURABLE=off)'}; load average at the end ${load}`;
}

async function main(): Promise<void> {
  const base = Number(process.env.PKI_BENCH_PORT ?? (process.env.PKI_TEST_PORT_BASE ? Number(process.env.PKI_TEST_PORT_BASE) + 30 : 18930));
  const sizes = (process.env.PKI_BENCH_SIZES ?? '20000,100000').split(',').map((s) => Number(s.trim()));
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pkidbu-bench-'));
  await fsp.chmod(dir, 0o755); // the server (user dirsrv when run as root) reads the import files
  const passwordFile = path.join(dir, 'password');
  progress(`creating a 389 DS on 127.0.0.1:${base} (files in ${dir})`);
  // Durable transactions as production runs them; PKI_BENCH_DURABLE=off for the harness's setting.
  const durable = process.env.PKI_BENCH_DURABLE !== 'off';
  const ds = await createInstance({ name: `bench${base}`, port: base, securePort: base + 1, root: path.join(dir, 'ds'), durableTransactions: durable });
  try {
    await fsp.writeFile(passwordFile, `${ds.rootPassword}\n`, { mode: 0o600 });
    await loadPkiSchema(ds);
    const figures: SizeFigures[] = [];
    // make bench-noop: the no-op table alone (PKI_BENCH_ONLY=noop).
    const noopOnly = process.env.PKI_BENCH_ONLY === 'noop';
    if (!noopOnly) for (const n of sizes) figures.push(await measureSize(ds, dir, passwordFile, n));
    progress('no-op run of the bundle');
    const noop = await measureNoop(ds, passwordFile);

    const header = ['issuerName backfill (best of rounds)', ...figures.map((f) => `N = ${int.format(f.n)} (${f.rounds} rounds)`), 'target'];
    const rows = [
      header,
      ['tool: whole run (pass alone)', ...figures.map((f) => `${sec(f.toolMs)} (${f.toolPassMs !== undefined ? sec(f.toolPassMs) : '?'})`), ''],
      ['tool: records per second', ...figures.map((f) => rate(f.n, f.toolMs)), ''],
      ['ldapmodify, one LDIF, one process', ...figures.map((f) => `${sec(f.ldapmodifyMs)}, ${rate(f.n, f.ldapmodifyMs)}`), ''],
      ['tool speed / ldapmodify speed (best / best)', ...figures.map((f) => `${(f.ldapmodifyMs / f.toolMs).toFixed(2)}×`), '≥ 1.5×'],
      [
        'same, median of the rounds\' ratios',
        ...figures.map((f) => `${median(f.toolRunsMs.map((t, i) => f.ldapmodifyRunsMs[i] / t)).toFixed(2)}×`),
        '≥ 1.5×',
      ],
      ['server ceiling: same writes pre-encoded, one raw socket, 64 in flight', ...figures.map((f) => `${sec(f.rawMs)}, ${rate(f.n, f.rawMs)}`), ''],
      ['tool speed (whole run) as a share of the ceiling', ...figures.map((f) => `${Math.round((100 * f.rawMs) / f.toolMs)}%`), ''],
      ['every round: tool / ldapmodify', ...figures.map((f) => f.toolRunsMs.map((t, i) => `${sec(t)} / ${sec(f.ldapmodifyRunsMs[i])}`).join('; ')), ''],
      ['tool peak RSS (highest of rounds)', ...figures.map((f) => `${f.peakRssMiB.toFixed(0)} MiB`), '≤ 150 MiB, flat'],
      ['second run: nothing to do', ...figures.map((f) => sec(f.noopMs)), 'same order as a no-op run'],
      ['backfill filter re-check (ldapsearch, DN only)', ...figures.map((f) => sec(f.recheckMs)), ''],
      ['backup before data steps: export task (median of 3), LDIF size', ...figures.map((f) => `${sec(f.backupMs)}, ${int.format(f.backupBytes / 2 ** 20)} MiB`), ''],
      ['(loading one copy over LDAP, for reference)', ...figures.map((f) => sec(f.loadMs)), ''],
    ];
    const ratio = (msTaken: number) => `${(msTaken / (noop.nodeMs + noop.ldapsearchMs)).toFixed(2)}×`;
    const noopRows = [
      ['no-op run of dist/pki-db-upgrade.js', 'value'],
      [`bundle: no-op run, the code cache of root as installed (median of ${NOOP_ROUNDS})`, ms(noop.toolMs)],
      ['node -e 0 + one ldapsearch (medians)', `${ms(noop.nodeMs + noop.ldapsearchMs)} (${ms(noop.nodeMs)} + ${ms(noop.ldapsearchMs)})`],
      ['ratio', ratio(noop.toolMs)],
      [`start-time run (instance mode, --mode start, root by LDAPI), with the cache (median of ${NOOP_ROUNDS}); ratio`, `${ms(noop.startMs)}; ${ratio(noop.startMs)}`],
      ['without the code cache (a first run, or not root): no-op run; ratio', `${ms(noop.toolUncachedMs)}; ${ratio(noop.toolUncachedMs)}`],
      [`bundle loaded, nothing run (--version, median of ${NOOP_ROUNDS}): with the cache / without`, `${ms(noop.loadedMs)} / ${ms(noop.loadedUncachedMs)}`],
      ['floor of the ratio: (--version + one ldapsearch) / (node -e 0 + one ldapsearch), with the cache', ratio(noop.loadedMs + noop.ldapsearchMs)],
      ['bundle size', `${int.format(noop.bundleBytes / 1024)} KiB (${int.format(noop.bundleBytes)} bytes)`],
    ];
    process.stdout.write(`\nMachine: ${await machine(ds, durable)}\n\n${noopOnly ? '' : `${table(rows)}\n\n`}${table(noopRows)}\n`);
  } finally {
    if (process.env.PKI_BENCH_KEEP) progress(`kept: server ${ds.url} in ${dir}`);
    else {
      await killInstance(ds).catch(() => undefined);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
}

main().catch((err) => {
  process.stderr.write(`[bench] failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
