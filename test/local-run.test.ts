/**
 * The fully automated local run (RPM %posttrans) and its manual form, end to end: the bundled file
 * is spawned against the harness's real 389 DS, with a fake /etc/pki tree (--root) whose CS.cfg
 * points at a database of the test's own.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createBackend } from './harness/dirsrv';
import { standalone, uniqueSuffix } from './harness/test-env';
import { collect, fixtureBundle, MAIN_BUNDLE, runCli, startCli } from './support/bundle';
import { addSubsystem, createFakePki, passwordFromConfigFile, readStatus, removeFakePkis, waitForFile, writeToolConfig, type CsCfgOptions, type FakePki } from './support/fake-pki';
import { closedLoopbackPort, listenOnLoopback } from './support/ports';

const bundle = MAIN_BUNDLE; // the real upgrades, package 11.10.1
let controlled: string; // package 2.0.0: tracking schema + a step the test steers (sleep, fail)

beforeAll(() => {
  controlled = fixtureBundle('local-run');
});
afterAll(() => removeFakePkis());

/** Runs the bundled file; `ms` is how long it took. A run still going after 40 s is killed. */
async function runTool(file: string, args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const result = await runCli(file, args, { env, timeoutMs: 40_000 });
  return { ...result, ms: Date.now() - started };
}

function startTool(file: string, args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const child = startCli(file, args, env);
  return { child, done: collect(child, 40_000).then((r) => ({ ...r, ms: Date.now() - started })) };
}

const ds = () => standalone();

/** Resolves once the child has written `text` to stderr. */
function untilStderrShows(child: ChildProcess, text: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`"${text}" not on stderr within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** A fake instance whose CA database is a fresh backend on the standalone server. */
async function instanceWithDatabase(extra: Partial<CsCfgOptions> = {}): Promise<FakePki> {
  const { suffix, backendName } = uniqueSuffix('lr');
  await createBackend(ds(), suffix, backendName);
  return createFakePki({ port: ds().port, baseDN: suffix, ...extra });
}

/** The CA subsystem's base DN, from its CS.cfg. */
function caBaseDN(pki: FakePki): string {
  return /^internaldb.basedn=(.*)$/m.exec(fs.readFileSync(path.join(pki.instanceDir, 'ca/CS.cfg'), 'utf8'))![1];
}

const posttrans = (pki: FakePki, ...more: string[]) => ['--root', pki.root, '--mode', 'posttrans', ...more];

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('password.conf restored for the run', () => {
  it('exists with mode 0600 and the PKI user as owner while the upgrade runs, never in ps, and is removed after success', async () => {
    const pki = await instanceWithDatabase();
    fs.chownSync(pki.instanceDir, 4321, 4322); // the PKI user owns the instance folder
    // A password the PKI user holds anyway (its own file): restoring it gives that user nothing new.
    writeToolConfig(pki, { ldapi_socket: '/nonexistent/slapd.socket', use_keyring: false });
    const own = path.join(pki.root, 'pki-user.pass');
    fs.writeFileSync(own, `${ds().rootPassword}\n`, { mode: 0o600 });
    fs.chownSync(own, 4321, 4322);
    const started = path.join(pki.root, 'step-started');
    const run = startTool(controlled, posttrans(pki, '--password-file', own), { PKI_TEST_STEP_STARTED_FILE: started, PKI_TEST_STEP_SLEEP_MS: '1500' });
    await waitForFile(started);

    const st = fs.statSync(pki.passwordConf);
    expect(st.mode & 0o777).toBe(0o600);
    expect([st.uid, st.gid]).toEqual([4321, 4322]);
    expect(fs.readFileSync(pki.passwordConf, 'utf8')).toBe(`internaldb=${ds().rootPassword}\n`);
    // Our run and any child of it (other test runs on the machine may pass this harness password
    // on their own command lines, so only our processes are looked at), arguments and environment.
    const ps = execFileSync('ps', ['-e', 'ww', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => { const [pid, ppid] = line.trim().split(/\s+/).map(Number); return pid === run.child.pid || ppid === run.child.pid; });
    expect(ps).toEqual([expect.stringContaining(`${process.execPath} ${controlled} --root ${pki.root} --mode posttrans --password-file ${own}`)]);
    expect(ps.join('\n')).not.toContain(ds().rootPassword);
    const withEnvironment = execFileSync('ps', ['e', 'ww', '-o', 'args=', '-p', String(run.child.pid)], { encoding: 'utf8' });
    expect(withEnvironment).toContain('PKI_TEST_STEP_SLEEP_MS=1500');
    expect(withEnvironment).not.toContain(ds().rootPassword);

    const result = await run.done;
    expect(result.code).toBe(0);
    expect(fs.existsSync(pki.passwordConf)).toBe(false);
    expect(fs.readdirSync(pki.instanceDir).filter((f) => f.includes('password'))).toEqual([]);
    // posttrans: exactly one line for dnf
    expect((result.stdout + result.stderr).trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^pki-db-upgrade: ${pki.name}: ca upgraded from \\(untracked\\) to 2\\.0\\.0 \\(3 step\\(s\\)`)),
    ]);

    const log = fs.readFileSync(pki.logFile, 'utf8');
    expect(mode(pki.logFile)).toBe(0o640);
    expect(log).not.toContain(ds().rootPassword);
    expect(log).toMatch(new RegExp(`==== pki-db-upgrade 2\\.0\\.0 run: instance ${pki.name}, mode posttrans, host .+, pid ${run.child.pid}`));
    expect(log).toContain(`restored ${pki.passwordConf} for this run (mode 0600, owner 4321:4322)`);
    expect(log).toMatch(/done 2\.0\.0\/01-ControlledStep in \d+\.\d\d s/);
    expect(log).toMatch(/==== finished in [\d.]+ s: ca upgraded from \(untracked\) to 2\.0\.0/);

    const status = readStatus(pki);
    expect(status.lastRun).toMatchObject({ result: 'upgraded', exitCode: 0, mode: 'posttrans', logFile: pki.logFile });
    expect(status.lastRun.databases[0].steps.map((s: { id: string }) => s.id)).toEqual(['10.0.0/01-TrackingSchema', '10.0.0/02-TrackingAudit', '2.0.0/01-ControlledStep']);
    expect(status.pending).toBeUndefined();
  });

  it('is removed after a failed step, and the failure is in the status file and the one console line', async () => {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds());
    const result = await runTool(controlled, posttrans(pki), { PKI_TEST_STEP_FAIL: '1' });
    expect(result.code).toBe(1);
    expect(fs.existsSync(pki.passwordConf)).toBe(false);
    const lines = (result.stdout + result.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('database upgrade did not complete: ca: step 2.0.0/01-ControlledStep failed: the test asked this step to fail');
    expect(lines[0]).toContain(`see ${pki.logFile}`);
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain('removed the restored');
    const status = readStatus(pki);
    expect(status.lastRun.result).toBe('failed');
    expect(status.pending.reason).toContain('2.0.0/01-ControlledStep failed');
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)('is removed when the run is stopped by %s, and the status file says interrupted', async (signal, code) => {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds());
    const started = path.join(pki.root, 'step-started');
    const run = startTool(controlled, posttrans(pki), { PKI_TEST_STEP_STARTED_FILE: started, PKI_TEST_STEP_SLEEP_MS: '20000' });
    await waitForFile(started);
    expect(fs.existsSync(pki.passwordConf)).toBe(true);
    run.child.kill(signal);
    const result = await run.done;
    expect(result.code).toBe(code);
    expect(result.ms).toBeLessThan(15000);
    expect(fs.existsSync(pki.passwordConf)).toBe(false);
    expect(fs.existsSync(path.join(pki.stateDir, 'password-conf.marker.json'))).toBe(false);
    const log = fs.readFileSync(pki.logFile, 'utf8');
    expect(log).toContain(`interrupted by ${signal}`);
    // The run's closing line, as every run has: the last line of the log.
    expect(log.trim().split('\n').at(-1)).toMatch(new RegExp(`INFO  ==== INTERRUPTED \\(exit ${code}\\) in [\\d.]+ m?s: interrupted by ${signal}; the database stays at the last completed step`));
    expect(readStatus(pki).lastRun).toMatchObject({ result: 'interrupted', exitCode: code });
    expect(fs.existsSync(path.join(pki.stateDir, 'run.lock'))).toBe(false); // released on the way out
    // the lock went with it: the next run starts at once
    const again = await runTool(controlled, posttrans(pki));
    expect(again.code).toBe(0);
  });

  it('an existing password.conf is used and never modified (bytes, mode, owner, mtime)', async () => {
    const pki = await instanceWithDatabase();
    writeToolConfig(pki, { ldapi_socket: '/nonexistent/slapd.socket' });
    const content = `internal=nss-db-password\ninternaldb=${ds().rootPassword}\nreplicationdb=12345\n`;
    fs.writeFileSync(pki.passwordConf, content, { mode: 0o640 });
    fs.chmodSync(pki.passwordConf, 0o640);
    fs.chownSync(pki.passwordConf, 4321, 4322);
    fs.chownSync(pki.instanceDir, 4321, 4322); // the PKI user's, as on a real host
    const old = new Date('2020-01-02T03:04:05Z');
    fs.utimesSync(pki.passwordConf, old, old);
    const before = fs.statSync(pki.passwordConf);

    const result = await runTool(bundle, ['--root', pki.root]);
    expect(result.code).toBe(0);
    const after = fs.statSync(pki.passwordConf);
    expect(fs.readFileSync(pki.passwordConf, 'utf8')).toBe(content);
    expect([after.mode, after.uid, after.gid, after.mtimeMs, after.ino]).toEqual([before.mode, before.uid, before.gid, before.mtimeMs, before.ino]);
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`database password "internaldb" read from ${pki.passwordConf}`);
    // interactive: one line per step on the console
    expect(result.stderr).toMatch(/applying 10\.0\.0\/01-TrackingSchema/);
    expect(result.stderr).toMatch(/done 10\.3\.0\/01-CertProfileSchema in/);
  });
});

describe('password sources', () => {
  it('reads the nuxwdog keyring tag <instance folder>/internaldb (keyctl), not CS.cfg instanceId', async () => {
    const pki = await instanceWithDatabase({ instanceId: `other-${randomBytes(4).toString('hex')}` });
    const instanceId = pki.name;
    writeToolConfig(pki, { ldapi_socket: '/nonexistent/slapd.socket' });
    const add = spawnSync('keyctl', ['padd', 'user', `${instanceId}/internaldb`, '@u'], { input: ds().rootPassword, encoding: 'utf8' });
    expect(add.status).toBe(0);
    try {
      // the root from the environment, as the RPM chroot test sets it
      const result = await runTool(bundle, ['--mode', 'posttrans'], { PKI_DB_UPGRADE_ROOT: pki.root });
      expect(result.code).toBe(0);
      const log = fs.readFileSync(pki.logFile, 'utf8');
      expect(log).toContain(`database password "internaldb" taken from the keyring (${instanceId}/internaldb)`);
      expect(log).not.toContain(ds().rootPassword);
      expect(fs.existsSync(pki.passwordConf)).toBe(false);
    } finally {
      spawnSync('keyctl', ['purge', 'user', `${instanceId}/internaldb`]);
    }
  });

  it('--password-file is used; without any source posttrans fails with exit 2 and never prompts', async () => {
    const pki = await instanceWithDatabase();
    writeToolConfig(pki, { ldapi_socket: '/nonexistent/slapd.socket', use_keyring: false });
    const none = await runTool(bundle, posttrans(pki));
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no database password "internaldb"');
    expect(none.stderr).toContain('terminal prompt: not interactive');

    const file = path.join(pki.root, 'pw');
    fs.writeFileSync(file, `${ds().rootPassword}\n`, { mode: 0o600 });
    const ok = await runTool(bundle, ['--root', pki.root, '--password-file', file]);
    expect(ok.code).toBe(0);
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`taken from the password-file option (${file})`);
  });

  it('refuses a configured password_file readable by others', async () => {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds());
    fs.chmodSync(path.join(pki.root, 'root-only.pass'), 0o644);
    const result = await runTool(bundle, posttrans(pki));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is accessible by group or others (mode 0644)');
  });
});

describe('authentication order', () => {
  it('uses LDAPI with SASL EXTERNAL as root when the socket exists: no password needed, none restored', async () => {
    const pki = await instanceWithDatabase({ authType: 'SslClientAuth', host: 'localhost' });
    writeToolConfig(pki, { ldapi_socket: ds().ldapiPath, use_keyring: false });
    const result = await runTool(bundle, ['--root', pki.root, '--verbose']);
    expect(result.code).toBe(0);
    const log = fs.readFileSync(pki.logFile, 'utf8');
    expect(log).toContain(`connected by LDAPI ${ds().ldapiPath} (SASL EXTERNAL as root)`);
    expect(log).not.toContain('database password');
    expect(readStatus(pki).lastRun.databases[0].url).toMatch(/^ldapi:\/\//);
    // Recorded under the name 389 DS gives itself in cn=config, as a run over TCP records it.
    const history = await runTool(bundle, ['history', '--root', pki.root, '--json']);
    expect(history.code).toBe(0);
    const { databases } = JSON.parse(history.stdout) as { databases: { records: { server: string }[] }[] };
    const servers = new Set(databases.flatMap((d) => d.records.map((r) => r.server)));
    expect([...servers]).toEqual([`localhost:${ds().port}`]);
  });

  it('skips an LDAPI socket whose server is not the one in CS.cfg', async () => {
    const closedPort = await closedLoopbackPort();
    const pki = createFakePki({ port: closedPort, baseDN: 'o=elsewhere', host: 'localhost' });
    writeToolConfig(pki, { ldapi_socket: ds().ldapiPath, use_keyring: false, connect_timeout: 2 });
    const result = await runTool(bundle, ['--root', pki.root, '--verbose']);
    expect(result.code).toBe(2); // on to BasicAuth, which has no password
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`serves ports ${ds().port}/${ds().securePort}, not ${closedPort}: not this database's server`);
  });
});

describe('instances and subsystems', () => {
  it('upgrades every subsystem database of an instance under one lock; two subsystems naming one database count once', async () => {
    const pki = await instanceWithDatabase();
    const kra = uniqueSuffix('lrkra');
    await createBackend(ds(), kra.suffix, kra.backendName);
    addSubsystem(pki, 'kra', { port: ds().port, baseDN: kra.suffix });
    const ca = caBaseDN(pki);
    addSubsystem(pki, 'ocsp', { port: ds().port, baseDN: ca }); // shares the CA's database
    passwordFromConfigFile(pki, ds());
    const result = await runTool(bundle, posttrans(pki));
    expect(result.code).toBe(0);
    expect(readStatus(pki).lastRun.databases.map((d: { subsystem: string; result: string }) => `${d.subsystem} ${d.result}`)).toEqual([
      'ca upgraded',
      'kra upgraded',
    ]);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('without --instance every instance under the root is run; status shows each', async () => {
    const a = await instanceWithDatabase();
    passwordFromConfigFile(a, ds());
    const second = uniqueSuffix('lrb');
    await createBackend(ds(), second.suffix, second.backendName);
    const bDir = path.join(a.root, 'etc/pki/pki-b');
    fs.mkdirSync(path.join(bDir, 'ca'), { recursive: true });
    fs.writeFileSync(path.join(bDir, 'ca/CS.cfg'), fs.readFileSync(path.join(a.instanceDir, 'ca/CS.cfg'), 'utf8').replace(/^internaldb.basedn=.*$/m, `internaldb.basedn=${second.suffix}`));
    fs.copyFileSync(a.toolConfig, path.join(bDir, 'db-upgrade.conf'));
    fs.mkdirSync(path.join(a.root, 'etc/pki/not-an-instance')); // no subsystem: ignored
    const result = await runTool(bundle, posttrans(a));
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^pki-db-upgrade: ${a.name}: ca upgraded`)), expect.stringMatching(/^pki-db-upgrade: pki-b: ca upgraded/)]));
    const status = await runTool(bundle, ['status', '--root', a.root]);
    expect(status.stdout).toMatch(new RegExp(`Instance: +${a.name} `));
    expect(status.stdout).toMatch(/Instance: +pki-b /);
    expect(status.stdout.match(/Pending: +none, the database is up to date/g)).toHaveLength(2);
  });
});

describe('lock', () => {
  it('two concurrent runs: one upgrades, the other exits 3 naming the holder pid; --wait waits for it', async () => {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds());
    const started = path.join(pki.root, 'step-started');
    const release = path.join(pki.root, 'step-release');
    // The first holds the lock inside its step until the test releases it, however slow the others start.
    const first = startTool(controlled, posttrans(pki), { PKI_TEST_STEP_STARTED_FILE: started, PKI_TEST_STEP_RELEASE_FILE: release });
    await waitForFile(started);
    const second = await runTool(controlled, posttrans(pki));
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`another pki-db-upgrade run holds the lock of instance ${pki.name}: pid ${first.child.pid} (posttrans run since`);
    const third = startTool(controlled, ['--root', pki.root, '--wait', '30']);
    await untilStderrShows(third.child, `waiting up to 30 s for pid ${first.child.pid}`);
    fs.writeFileSync(release, '');
    const waiting = await third.done;
    expect((await first.done).code).toBe(0);
    expect(waiting.code).toBe(0);
    expect(waiting.stderr).toContain(`waiting up to 30 s for pid ${first.child.pid}`);
    expect(waiting.stderr).toContain('up to date at 2.0.0');
  });

  /** A posttrans run (password.conf restored from the config's password_file) killed -9 inside a step. */
  async function killedMidStep() {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds());
    const started = path.join(pki.root, 'step-started');
    const victim = startTool(controlled, posttrans(pki), { PKI_TEST_STEP_STARTED_FILE: started, PKI_TEST_STEP_SLEEP_MS: '20000' });
    await waitForFile(started);
    victim.child.kill('SIGKILL');
    await victim.done;
    return { pki, victim };
  }

  it('after kill -9 the next run takes the lock over at once and removes the leftover password.conf', async () => {
    const { pki, victim } = await killedMidStep();
    expect(fs.existsSync(pki.passwordConf)).toBe(true); // SIGKILL cannot be cleaned up after...
    expect(fs.existsSync(path.join(pki.stateDir, 'run.lock'))).toBe(true);

    const next = await runTool(controlled, posttrans(pki));
    expect(next.code).toBe(0);
    expect(next.ms).toBeLessThan(10000);
    expect(fs.existsSync(pki.passwordConf)).toBe(false); // ...but the next run removes it
    const log = fs.readFileSync(pki.logFile, 'utf8');
    expect(log).toContain(`taking over the lock left by pid ${victim.child.pid}`);
    expect(log).toContain(`removed ${pki.passwordConf} left behind by an interrupted run (pid ${victim.child.pid}`);
  });

  it('a leftover marker never removes a password.conf the administrator put back', async () => {
    const { pki, victim } = await killedMidStep();
    fs.rmSync(pki.passwordConf);
    fs.writeFileSync(pki.passwordConf, `internaldb=${ds().rootPassword}\n`, { mode: 0o600 }); // the admin's own
    const next = await runTool(controlled, posttrans(pki));
    expect(next.code).toBe(0);
    expect(fs.readFileSync(pki.passwordConf, 'utf8')).toBe(`internaldb=${ds().rootPassword}\n`);
  });
});

describe('389 DS not running during %posttrans', () => {
  it('exits 4 within the connect timeout with one clear line, records a pending upgrade that status shows', async () => {
    const closedPort = await closedLoopbackPort();
    const pki = createFakePki({ port: closedPort, baseDN: 'o=nowhere' });
    passwordFromConfigFile(pki, ds(), { connect_timeout: 3 });
    // The host's 389 DS instance for that port, as /etc/dirsrv says: the hint names its unit.
    fs.mkdirSync(path.join(pki.root, 'etc/dirsrv/slapd-pki-ds'), { recursive: true });
    fs.writeFileSync(path.join(pki.root, 'etc/dirsrv/slapd-pki-ds/dse.ldif'), `dn: cn=config\ncn: config\nnsslapd-port: ${closedPort}\n`);
    const result = await runTool(bundle, posttrans(pki));
    expect(result.code).toBe(4);
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`start the 389 DS of ${pki.name} (systemctl start dirsrv@pki-ds), then run pki-db-upgrade again`);
    expect(result.ms).toBeLessThan(3000 + 2000);
    const lines = (result.stdout + result.stderr).trim().split('\n');
    expect(lines).toEqual([expect.stringContaining(`389 DS at ldap://127.0.0.1:${closedPort} refused the connection`)]);
    expect(lines[0]).toContain('upgrade pending');
    expect(fs.existsSync(pki.passwordConf)).toBe(false);

    const status = await runTool(bundle, ['status', '--root', pki.root]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Last run: +\S+ server-down \(posttrans, package 11\.10\.1, exit 4\)/);
    expect(status.stdout).toMatch(/Upgrade: +PENDING since \S+ \(package 11\.10\.1\): ca: 389 DS at ldap:\/\/127\.0\.0\.1:\d+ refused/);
    expect(status.stdout).toContain('live state unavailable');
    expect(status.stdout).toContain(`Log:         ${pki.logFile}`);
  });

  it('exits 4 within the connect timeout when the server accepts but never answers', async () => {
    const silent = net.createServer(() => undefined); // accepts, never replies
    const port = await listenOnLoopback(silent);
    try {
      const pki = createFakePki({ port, baseDN: 'o=nowhere' });
      passwordFromConfigFile(pki, ds(), { connect_timeout: 2 });
      const result = await runTool(bundle, posttrans(pki));
      expect(result.code).toBe(4);
      expect(result.ms).toBeLessThan(2000 + 2500);
      expect(result.stderr).toContain('did not answer within 2 s');
    } finally {
      silent.close();
    }
  });
});

describe('a package older than the database (dnf downgrade)', () => {
  it('leaves the database as it is (exit 2), says this server ran the newer package, and owes nothing: no pending upgrade in the status', async () => {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds());
    expect((await runTool(bundle, posttrans(pki))).code).toBe(0);

    // The package goes back to 2.0.0 (the controlled bundle): its %posttrans runs.
    const down = await runTool(controlled, posttrans(pki));
    expect(down.code).toBe(2);
    expect((down.stdout + down.stderr).trim()).toMatch(
      new RegExp(`^pki-db-upgrade: ${pki.name}: database left as it is: ca: the database is at version 11\\.10\\.1, newer than this package \\(2\\.0\\.0\\); refusing to touch it → this server \\(localhost:${ds().port}\\) itself recorded package 11\\.10\\.1 \\(its last run \\S+\\): the package was downgraded since; upgrade it again`),
    );
    expect(readStatus(pki)).toMatchObject({ lastRun: { result: 'database-newer', exitCode: 2 } });
    expect(readStatus(pki).pending).toBeUndefined();
    const status = await runTool(controlled, ['status', '--root', pki.root]);
    expect(status.stdout).toMatch(/Last run: +\S+ database-newer \(posttrans, package 2\.0\.0, exit 2\)/);
    expect(status.stdout).toMatch(/Upgrade: +nothing pending after the last run/);
  });
});

describe('db-upgrade.conf', () => {
  it('auto_upgrade = false: the posttrans run skips and logs why; a manual run still upgrades', async () => {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds(), { auto_upgrade: false });
    const skipped = await runTool(bundle, posttrans(pki));
    expect(skipped.code).toBe(0);
    expect(skipped.stdout.trim()).toBe(
      `pki-db-upgrade: ${pki.name}: skipped: auto_upgrade = false in ${pki.toolConfig}; run "pki-db-upgrade --instance ${pki.name}" to upgrade`,
    );
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`skipped: auto_upgrade = false in ${pki.toolConfig}`);
    expect(readStatus(pki)).toMatchObject({ lastRun: { result: 'skipped' }, pending: { reason: expect.stringContaining('auto_upgrade = false') } });

    const manual = await runTool(bundle, ['--root', pki.root, '--instance', pki.name]);
    expect(manual.code).toBe(0);
    expect(readStatus(pki).lastRun.result).toBe('upgraded');
    expect(readStatus(pki).pending).toBeUndefined();
  });

  it('an unwritable log path falls back to stderr and the run still completes', async () => {
    const pki = await instanceWithDatabase();
    passwordFromConfigFile(pki, ds(), { log_file: '/proc/pki-db-upgrade-test/db-upgrade.log' });
    const result = await runTool(bundle, posttrans(pki));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: cannot write the log file /proc/pki-db-upgrade-test/db-upgrade.log');
    expect(result.stderr).toContain('==== pki-db-upgrade 11.10.1 run');
    expect(result.stderr).not.toContain(ds().rootPassword);
  });

  it('a bad value is a configuration error (exit 2) naming the key', async () => {
    const pki = await instanceWithDatabase();
    writeToolConfig(pki, { auto_upgrade: 'maybe' });
    const result = await runTool(bundle, posttrans(pki));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${pki.toolConfig}: auto_upgrade = maybe is not true or false`);
  });
});
