/**
 * Real 389 Directory Server instances for tests: create, start, stop, kill, remove.
 *
 * Each instance lives in its own self-contained root directory (test/harness/README.md, "Choices":
 * dscreate once per instance, then ns-slapd directly): we copy /usr/share/dirsrv and /etc/dirsrv/{config,schema} into $ROOT, rewrite
 * $ROOT/share/dirsrv/inf/defaults.inf so every path points under $ROOT with with_systemd = 0, and run
 * dscreate with PREFIX=$ROOT. Nothing is written to /etc, /var or /run, systemd is never involved,
 * and removing an instance is `rm -rf $ROOT`. The server is started directly with
 * `ns-slapd -D <configDir> -i <pidfile>`, with the LD_PRELOAD of the packaged unit (jemalloc, see
 * service-environment.ts), and listens on 127.0.0.1 only.
 *
 * $ROOT must stay short (<= 60 chars) because the LDAPI unix socket path lives under it and
 * sun_path is limited to 108 bytes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'ldapts';
import { run, tail } from './exec';
import { RESULT, addIfMissing, connect, escapeDNValue, resultCode, withClient } from './ldap';
import { ensureDirsrvInstalled } from './packages';
import { serviceEnvironment } from './service-environment';
import { AbortPoll, pollUntil } from './wait';

export interface DsInstance {
  name: string;
  root: string;
  port: number;
  securePort: number;
  /** The loopback address it listens on (127.0.0.1 unless created with another). */
  host: string;
  /** ldap://<host>:port */
  url: string;
  /** LDAPI socket; root (uid 0) autobinds there as cn=Directory Manager via SASL EXTERNAL. */
  ldapiPath: string;
  rootDN: 'cn=Directory Manager';
  rootPassword: string;
  /** $ROOT/etc/dirsrv/slapd-<name> (dse.ldif, schema/, NSS db) */
  configDir: string;
  errorLog: string;
  accessLog: string;
  pidFile: string;
  /**
   * Set when 389 DS's own TLS is on (dirsrv-tls.ts): the PEM of the CA that issued its certificate
   * (what a test gives the tool as ca_file or --ca-file), LDAPS on securePort, StartTLS on port.
   */
  tls?: { caFile: string; ldapsUrl: string; startTlsUrl: string };
}

export const ROOT_DN = 'cn=Directory Manager' as const;
/** Loopback-only throw-away servers: a fixed password keeps PKI_TEST_KEEP=1 debugging simple. */
export const DEFAULT_ROOT_PASSWORD = 'Secret.123';
/** Written into every instance root so a later run (or `harness stop --root`) can find it. */
export const INSTANCE_FILE = 'pkidbu-instance.json';
const MAX_ROOT_LENGTH = 60;
const SYSTEM_SHARE = '/usr/share/dirsrv';
const SYSTEM_ETC = '/etc/dirsrv';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Diagnostics

/** Last lines of the instance's errors log, for every error message the harness throws. */
export function errorLogTail(ds: DsInstance, lines = 15): string {
  try {
    return tail(readFileSync(ds.errorLog, 'utf8'), lines);
  } catch (err) {
    return `(cannot read ${ds.errorLog}: ${(err as Error).message})`;
  }
}

/** "instance a (ldap://127.0.0.1:38910, errors log ...):\n<last lines>" */
export function describeInstance(ds: DsInstance): string {
  return `instance ${ds.name} (${ds.url}, root ${ds.root}); last lines of ${ds.errorLog}:\n${errorLogTail(ds)}`;
}

// ---------------------------------------------------------------------------------------------
// Process state

/** The pid in the instance's pid file, if any (it may be stale: see isSlapdPid). */
export function readPid(ds: DsInstance): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(ds.pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` is a live ns-slapd (checking the command line guards against pid reuse). */
export function isSlapdPid(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('ns-slapd')) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // State field after "(comm)": Z = zombie, already dead for our purposes.
    return !/\)\s+Z\s/.test(stat);
  } catch {
    return false;
  }
}

export async function isRunning(ds: DsInstance): Promise<boolean> {
  const pid = readPid(ds);
  return pid !== undefined && isSlapdPid(pid);
}

async function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// Creation

interface RunAs {
  user: string;
  group: string;
  uid: number;
  gid: number;
}

/**
 * As root, 389 DS refuses nothing but runs best as the packaged `dirsrv` user (test/harness/README.md,
 * "Choices": root vs non-root); as a normal user the server simply runs as that user.
 */
async function runAsIdentity(): Promise<RunAs> {
  if (process.getuid?.() === 0) {
    const uid = Number((await run('id', ['-u', 'dirsrv'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'dirsrv'])).stdout.trim());
    const group = (await run('id', ['-gn', 'dirsrv'])).stdout.trim();
    return { user: 'dirsrv', group, uid, gid };
  }
  const info = os.userInfo();
  const group = (await run('id', ['-gn'])).stdout.trim();
  return { user: info.username, group, uid: info.uid, gid: info.gid };
}

/** Paths of defaults.inf that must move under $ROOT. {instance_name} is expanded by lib389. */
function defaultsOverrides(root: string, who: RunAs): Record<string, string> {
  const inst = 'slapd-{instance_name}';
  return {
    with_systemd: '0',
    data_dir: `${root}/share`,
    system_schema_dir: `${root}/share/dirsrv/schema`,
    sysconf_dir: `${root}/etc`,
    initconfig_dir: `${root}/etc/default`,
    config_dir: `${root}/etc/dirsrv/${inst}`,
    schema_dir: `${root}/etc/dirsrv/${inst}/schema`,
    cert_dir: `${root}/etc/dirsrv/${inst}`,
    tmpfiles_d: `${root}/etc/tmpfiles.d`,
    local_state_dir: `${root}/var`,
    run_dir: `${root}/run/dirsrv`,
    ldapi: `${root}/run/${inst}.socket`,
    pid_file: `${root}/run/dirsrv/${inst}.pid`,
    inst_dir: `${root}/lib/dirsrv/${inst}`,
    lock_dir: `${root}/run/lock/dirsrv/${inst}`,
    log_dir: `${root}/var/log/dirsrv/${inst}`,
    access_log: `${root}/var/log/dirsrv/${inst}/access`,
    audit_log: `${root}/var/log/dirsrv/${inst}/audit`,
    error_log: `${root}/var/log/dirsrv/${inst}/errors`,
    security_log: `${root}/var/log/dirsrv/${inst}/security`,
    db_dir: `${root}/var/lib/dirsrv/${inst}/db`,
    db_home_dir: `${root}/var/lib/dirsrv/${inst}/db`,
    backup_dir: `${root}/var/lib/dirsrv/${inst}/bak`,
    ldif_dir: `${root}/var/lib/dirsrv/${inst}/ldif`,
    user: who.user,
    group: who.group,
  };
}

export function rewriteDefaultsInf(text: string, overrides: Record<string, string>): string {
  let out = text;
  for (const [key, value] of Object.entries(overrides)) {
    const re = new RegExp(`^${key}\\s*=.*$`, 'm');
    if (!re.test(out)) throw new Error(`defaults.inf has no "${key}" line; unsupported 389 DS version?`);
    out = out.replace(re, `${key} = ${value}`);
  }
  return out;
}

/**
 * Sets one attribute of one entry in dse.ldif text (the server must be stopped). Replaces an
 * existing value or appends the attribute to the entry; a missing entry is left alone and
 * reported by returning false (e.g. no cn=bdb entry on an LMDB server).
 */
export function setDseAttribute(ldif: string, dn: string, attr: string, value: string): { ldif: string; found: boolean } {
  const blocks = ldif.split(/\n\n/);
  const dnLine = `dn: ${dn}`.toLowerCase();
  let found = false;
  const out = blocks.map((block) => {
    const lines = block.split('\n');
    if (lines[0].toLowerCase() !== dnLine) return block;
    found = true;
    const idx = lines.findIndex((l) => l.toLowerCase().startsWith(`${attr.toLowerCase()}:`));
    if (idx >= 0) lines[idx] = `${attr}: ${value}`;
    else lines.push(`${attr}: ${value}`);
    return lines.join('\n');
  });
  return { ldif: out.join('\n\n'), found };
}

function instancePaths(root: string, name: string) {
  const inst = `slapd-${name}`;
  return {
    configDir: `${root}/etc/dirsrv/${inst}`,
    errorLog: `${root}/var/log/dirsrv/${inst}/errors`,
    accessLog: `${root}/var/log/dirsrv/${inst}/access`,
    pidFile: `${root}/run/dirsrv/${inst}.pid`,
    ldapiPath: `${root}/run/${inst}.socket`,
  };
}

export interface CreateOptions {
  /**
   * Instance name: letters, digits, '-' and '_' (389 DS rule). Make it unique on the machine (e.g.
   * include the port): see removeStatsSemaphore.
   */
  name: string;
  port: number;
  /** LDAPS once TLS is on (dirsrv-tls.ts); free in any case (dscreate checks it). */
  securePort: number;
  /** Default: <tmpdir>/pkidbu-<name>-<random> */
  root?: string;
  /** Loopback address to listen on (default 127.0.0.1): three servers on 127.0.0.1/2/3 are three hosts. */
  host?: string;
  rootPassword?: string;
  /** Start after creation (default true). */
  start?: boolean;
  /**
   * fsync every transaction, as production runs (default false: tests write faster without;
   * benchmarks measure with it, docs/benchmarks.md).
   */
  durableTransactions?: boolean;
}

/** Creates (and by default starts) a fresh instance. Fails if `root` already exists. */
export async function createInstance(opts: CreateOptions): Promise<DsInstance> {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.name)) throw new Error(`invalid instance name "${opts.name}"`);
  const root = path.resolve(opts.root ?? path.join(os.tmpdir(), `pkidbu-${opts.name}-${randomBytes(3).toString('hex')}`));
  if (root.length > MAX_ROOT_LENGTH) {
    throw new Error(`instance root "${root}" is ${root.length} chars; keep it <= ${MAX_ROOT_LENGTH} (LDAPI socket path limit)`);
  }
  const host = opts.host ?? '127.0.0.1';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) throw new Error(`instance ${opts.name}: ${host} is not a loopback address (127.0.0.0/8)`);
  for (const port of [opts.port, opts.securePort]) {
    if (!(await portIsFree(port, host))) {
      throw new Error(`cannot create instance ${opts.name}: ${host}:${port} is already in use`);
    }
  }
  await ensureDirsrvInstalled();
  if (existsSync(root) && (await fsp.readdir(root)).length > 0) {
    throw new Error(`cannot create instance ${opts.name}: ${root} exists and is not empty`);
  }

  const ds: DsInstance = {
    name: opts.name,
    root,
    port: opts.port,
    securePort: opts.securePort,
    host,
    url: `ldap://${host}:${opts.port}`,
    rootDN: ROOT_DN,
    rootPassword: opts.rootPassword ?? DEFAULT_ROOT_PASSWORD,
    ...instancePaths(root, opts.name),
  };

  const who = await runAsIdentity();
  await prepareRoot(root, who);
  await runDscreate(ds);
  await tuneDse(ds, opts.durableTransactions ?? false);
  await fsp.writeFile(path.join(root, INSTANCE_FILE), JSON.stringify(ds, null, 2) + '\n');
  if (opts.start !== false) await startInstance(ds);
  return ds;
}

async function prepareRoot(root: string, who: RunAs): Promise<void> {
  await fsp.mkdir(root, { recursive: true, mode: 0o755 });
  // The server user must be able to traverse into $ROOT even when we are root and it is dirsrv.
  await fsp.chmod(root, 0o755);
  await fsp.mkdir(`${root}/share`, { recursive: true });
  await fsp.cp(SYSTEM_SHARE, `${root}/share/dirsrv`, { recursive: true });
  await copySystemEtc(root);
  const infPath = `${root}/share/dirsrv/inf/defaults.inf`;
  const defaults = await fsp.readFile(infPath, 'utf8');
  await fsp.writeFile(infPath, rewriteDefaultsInf(defaults, defaultsOverrides(root, who)));

  // Directories the running server writes to (pid file, LDAPI socket, logs, database).
  const owned = ['run', 'run/dirsrv', 'run/lock', 'run/lock/dirsrv', 'var', 'var/log', 'var/log/dirsrv', 'var/lib', 'var/lib/dirsrv'];
  for (const d of ['etc/default', 'etc/tmpfiles.d', 'lib/dirsrv', ...owned]) {
    await fsp.mkdir(`${root}/${d}`, { recursive: true, mode: 0o755 });
  }
  if (process.getuid?.() === 0) {
    for (const d of owned) await fsp.chown(`${root}/${d}`, who.uid, who.gid);
  }
}

/**
 * Stand-ins for /etc/dirsrv/{config,schema} files, used only when that directory is unreadable:
 * Debian installs it 0750 dirsrv:dirsrv, so a non-root user cannot copy it. An empty collation list
 * and no certificate mapping are fine for plain-LDAP test servers.
 */
const ETC_FALLBACKS: Record<string, string> = {
  'config/certmap.conf': 'certmap default default\n',
  'config/slapd-collations.conf': '# no collations (harness stand-in: /etc/dirsrv was unreadable)\n',
  'config/ldap-agent.conf': '',
  'schema/99user.ldif': 'dn: cn=schema\n',
};

async function copySystemEtc(root: string): Promise<void> {
  for (const sub of ['config', 'schema']) {
    const target = `${root}/etc/dirsrv/${sub}`;
    await fsp.mkdir(target, { recursive: true });
    try {
      await fsp.cp(`${SYSTEM_ETC}/${sub}`, target, { recursive: true });
      continue;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    }
    for (const [rel, text] of Object.entries(ETC_FALLBACKS)) {
      if (rel.startsWith(`${sub}/`)) await fsp.writeFile(`${root}/etc/dirsrv/${rel}`, text);
    }
  }
}

async function runDscreate(ds: DsInstance): Promise<void> {
  const inf = [
    '[general]',
    'full_machine_name = localhost',
    'start = False',
    '[slapd]',
    `instance_name = ${ds.name}`,
    `port = ${ds.port}`,
    `secure_port = ${ds.securePort}`,
    'self_sign_cert = False',
    `root_dn = ${ds.rootDN}`,
    `root_password = ${ds.rootPassword}`,
    '',
  ].join('\n');
  const infFile = path.join(ds.root, 'dscreate.inf');
  await fsp.writeFile(infFile, inf, { mode: 0o600 });
  try {
    await run('dscreate', ['from-file', infFile], { env: { ...process.env, PREFIX: ds.root }, timeoutMs: 180_000 });
  } catch (err) {
    throw new Error(`dscreate failed for ${describeInstance(ds)}\n${(err as Error).message}`);
  }
}

/**
 * Edits dse.ldif before the first start: listen on loopback only, and (tests, unless `durable`) do
 * not fsync every transaction, for faster writes (test/harness/README.md, "Choices";
 * docs/reliability.md, "Limits": durability is the server's).
 */
async function tuneDse(ds: DsInstance, durable: boolean): Promise<void> {
  const dse = `${ds.configDir}/dse.ldif`;
  let text = await fsp.readFile(dse, 'utf8');
  text = setDseAttribute(text, 'cn=config', 'nsslapd-listenhost', ds.host).ldif;
  // LDAPI is on with root autobind by dscreate's defaults; make it explicit and independent of them.
  text = setDseAttribute(text, 'cn=config', 'nsslapd-ldapilisten', 'on').ldif;
  text = setDseAttribute(text, 'cn=config', 'nsslapd-ldapifilepath', ds.ldapiPath).ldif;
  text = setDseAttribute(text, 'cn=config', 'nsslapd-ldapiautobind', 'on').ldif;
  text = setDseAttribute(text, 'cn=config', 'nsslapd-ldapimaprootdn', ds.rootDN).ldif;
  text = setDseAttribute(text, 'cn=bdb,cn=config,cn=ldbm database,cn=plugins,cn=config', 'nsslapd-db-durable-transaction', durable ? 'on' : 'off').ldif;
  // writeFile on the existing file keeps its owner (dirsrv) and mode (0600).
  await fsp.writeFile(dse, text);
}

// ---------------------------------------------------------------------------------------------
// Start / stop

/** Starts the server and waits until its root DSE answers on host:port. */
export async function startInstance(ds: DsInstance): Promise<void> {
  if (await isRunning(ds)) return;
  await fsp.rm(ds.pidFile, { force: true });
  // Only log lines written by this start count when looking for a fatal startup error.
  const logOffset = await fsp.stat(ds.errorLog).then((st) => st.size).catch(() => 0);
  try {
    // ns-slapd forks into the background once its configuration is read; a non-zero exit here
    // means it refused to start (bad config, port in use, ...).
    // With the environment of the packaged unit (jemalloc preloaded), as systemd would start it.
    await run('/usr/sbin/ns-slapd', ['-D', ds.configDir, '-i', ds.pidFile], {
      timeoutMs: START_TIMEOUT_MS,
      env: { ...process.env, ...serviceEnvironment() },
    });
  } catch (err) {
    throw new Error(`ns-slapd did not start: ${(err as Error).message}\n${describeInstance(ds)}`);
  }
  await pollUntil(
    async () => {
      const pid = readPid(ds);
      if (pid !== undefined && !isSlapdPid(pid)) throw new AbortPoll(`ns-slapd (pid ${pid}) exited during startup`);
      if (pid === undefined) {
        // The daemon can die before writing its pid file; its last words are in the errors log.
        const fresh = await readFrom(ds.errorLog, logOffset);
        if (/ - (CRIT|EMERG) - /.test(fresh)) throw new AbortPoll('ns-slapd reported a fatal error during startup');
      }
      return rootDseAnswers(ds);
    },
    {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 100,
      what: `instance ${ds.name} to answer on ${ds.url}`,
      describe: () => describeInstance(ds),
    },
  );
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const buf = await fsp.readFile(file);
    return buf.subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

async function rootDseAnswers(ds: DsInstance): Promise<boolean> {
  const client = await connect(ds.url, undefined, undefined, 2_000);
  try {
    const { searchEntries } = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['vendorVersion'] });
    return searchEntries.length === 1;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function signalAndWait(ds: DsInstance, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  const pid = readPid(ds);
  if (pid === undefined || !isSlapdPid(pid)) return;
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
  await pollUntil(async () => !isSlapdPid(pid), {
    timeoutMs,
    intervalMs: 50,
    what: `instance ${ds.name} (pid ${pid}, port ${ds.port}) to exit after ${signal}`,
    describe: () => describeInstance(ds),
  });
  // A dead daemon stays a zombie until init reaps it (in containers that can take seconds), and
  // ns-slapd refuses to start while the pid in its lock file "exists" (kill(pid, 0) succeeds on
  // zombies). The zombie holds no socket or file, so dropping the stale lock is safe and fast.
  await fsp.rm(`${ds.root}/run/lock/dirsrv/slapd-${ds.name}/server/${pid}`, { force: true });
}

/** Graceful stop (SIGTERM); 389 DS takes a few seconds to flush and close its databases. */
export async function stopInstance(ds: DsInstance): Promise<void> {
  await signalAndWait(ds, 'SIGTERM', STOP_TIMEOUT_MS);
}

/** Immediate stop (SIGKILL). Fine for throw-away data; the next start runs database recovery. */
export async function killInstance(ds: DsInstance): Promise<void> {
  await signalAndWait(ds, 'SIGKILL', 10_000);
  await fsp.rm(ds.pidFile, { force: true });
}

export async function restartInstance(ds: DsInstance): Promise<void> {
  await stopInstance(ds);
  await startInstance(ds);
}

/** Kills the server (if running) and deletes its whole root. */
export async function removeInstance(ds: DsInstance): Promise<void> {
  await killInstance(ds);
  await fsp.rm(ds.root, { recursive: true, force: true });
  await removeStatsSemaphore(ds);
}

/**
 * The one file 389 DS keeps outside $ROOT: a POSIX semaphore /dev/shm/sem.slapd-<name>.stats, named
 * after the instance only. A stale one owned by another user (e.g. dirsrv from a root run) makes
 * the next instance of that name die at startup with EMERG "Failed to delete old semaphore"; hence
 * harness instance names include their port, and removal deletes the semaphore (best effort).
 */
async function removeStatsSemaphore(ds: DsInstance): Promise<void> {
  await fsp.rm(`/dev/shm/sem.slapd-${ds.name}.stats`, { force: true }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Finding instances on disk (CLI `stop --root`, cleanup of a previous run)

export async function loadInstance(root: string): Promise<DsInstance> {
  const file = path.join(root, INSTANCE_FILE);
  try {
    return { host: '127.0.0.1', ...(JSON.parse(await fsp.readFile(file, 'utf8')) as Omit<DsInstance, 'host'>) } as DsInstance;
  } catch (err) {
    throw new Error(`no harness instance in ${root} (${file}: ${(err as Error).message})`);
  }
}

/** Instance roots at most `depth` levels below `dir` (recognised by their INSTANCE_FILE). */
export async function findInstances(dir: string, depth = 2): Promise<DsInstance[]> {
  const found: DsInstance[] = [];
  if (existsSync(path.join(dir, INSTANCE_FILE))) {
    try {
      found.push(await loadInstance(dir));
    } catch {
      /* half-written instance: ignore */
    }
    return found;
  }
  if (depth === 0) return found;
  let entries: string[] = [];
  try {
    entries = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return found;
  }
  for (const e of entries) found.push(...(await findInstances(path.join(dir, e), depth - 1)));
  return found;
}

/**
 * Kills harness instances left by an earlier run that occupy any of `ports`. Looks in
 * <tmpdir>/pkidbu-* (where the harness puts its roots) and in `extraDirs`.
 */
export async function killStaleInstances(ports: number[], extraDirs: string[] = []): Promise<DsInstance[]> {
  const tmp = os.tmpdir();
  const dirs = [...extraDirs];
  for (const e of await fsp.readdir(tmp).catch(() => [] as string[])) {
    if (e.startsWith('pkidbu-')) dirs.push(path.join(tmp, e));
  }
  const killed: DsInstance[] = [];
  for (const dir of dirs) {
    for (const ds of await findInstances(dir)) {
      if ((ports.includes(ds.port) || ports.includes(ds.securePort)) && (await isRunning(ds))) {
        await killInstance(ds);
        killed.push(ds);
      }
    }
  }
  return killed;
}

// ---------------------------------------------------------------------------------------------
// Backends

function suffixEntry(suffix: string): Record<string, string[]> {
  const rdn = suffix.split(/(?<!\\),/)[0];
  const [attr, ...rest] = rdn.split('=');
  const value = rest.join('=').replace(/\\(.)/g, '$1');
  switch (attr.trim().toLowerCase()) {
    case 'o':
      return { objectClass: ['top', 'organization'], o: [value] };
    case 'ou':
      return { objectClass: ['top', 'organizationalUnit'], ou: [value] };
    case 'dc':
      return { objectClass: ['top', 'domain'], dc: [value] };
    case 'cn':
      return { objectClass: ['top', 'nsContainer'], cn: [value] };
    default:
      throw new Error(`unsupported suffix RDN "${rdn}" (use o=, ou=, dc= or cn=)`);
  }
}

export function backendDN(backendName: string): string {
  return `cn=${escapeDNValue(backendName)},cn=ldbm database,cn=plugins,cn=config`;
}

export function mappingTreeDN(suffix: string): string {
  return `cn=${escapeDNValue(suffix)},cn=mapping tree,cn=config`;
}

/**
 * Creates a database (backend), its mapping tree node and the suffix entry, all over LDAP while
 * the server runs. Takes well under a second, so every test can have a suffix of its own.
 * Re-running it for an existing suffix is harmless.
 */
export async function createBackend(ds: DsInstance, suffix: string, backendName: string): Promise<void> {
  if (!/^[A-Za-z0-9_-]+$/.test(backendName)) throw new Error(`invalid backend name "${backendName}"`);
  try {
    await withClient(ds, async (c) => {
      await addIfMissing(c, backendDN(backendName), {
        objectClass: ['top', 'extensibleObject', 'nsBackendInstance'],
        cn: [backendName],
        'nsslapd-suffix': [suffix],
      });
      await addIfMissing(c, mappingTreeDN(suffix), {
        objectClass: ['top', 'extensibleObject', 'nsMappingTree'],
        cn: [suffix],
        'nsslapd-state': ['backend'],
        'nsslapd-backend': [backendName],
      });
      // The new backend may need a moment before it accepts writes.
      await pollUntil(
        async () => {
          try {
            await addIfMissing(c, suffix, suffixEntry(suffix));
            return true;
          } catch (err) {
            if (resultCode(err) === RESULT.noSuchObject || resultCode(err) === RESULT.unwillingToPerform) return false;
            throw err;
          }
        },
        { timeoutMs: 10_000, intervalMs: 50, what: `suffix entry ${suffix} on ${ds.name}` },
      );
    });
  } catch (err) {
    throw new Error(`createBackend(${suffix}, ${backendName}) failed: ${(err as Error).message}\n${describeInstance(ds)}`);
  }
}

/** Deletes a backend and its mapping tree node (and so all entries under the suffix). */
export async function deleteBackend(ds: DsInstance, suffix: string, backendName: string): Promise<void> {
  await withClient(ds, async (c) => {
    await deleteSubtree(c, mappingTreeDN(suffix));
    // The backend's config entry has children (indexes, monitor, ...): delete leaves first.
    await deleteSubtree(c, backendDN(backendName));
  });
}

async function deleteSubtree(c: Client, base: string): Promise<void> {
  let dns: string[];
  try {
    const { searchEntries } = await c.search(base, { scope: 'sub', filter: '(|(objectClass=*)(objectClass=ldapSubEntry))', attributes: ['1.1'] });
    dns = searchEntries.map((e) => e.dn);
  } catch (err) {
    if (resultCode(err) === RESULT.noSuchObject) return;
    throw err;
  }
  const depth = (dn: string) => dn.split(/(?<!\\),/).length;
  dns.sort((x, y) => depth(y) - depth(x));
  for (const dn of dns) {
    try {
      await c.del(dn);
    } catch (err) {
      if (resultCode(err) !== RESULT.noSuchObject) throw err;
    }
  }
}
