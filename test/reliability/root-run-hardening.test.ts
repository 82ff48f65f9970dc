/**
 * Issue 12: nothing the PKI user controls may steer root. Each case is a reproducer from the
 * security review, tried as the attacker would: the instance and log folders belong to uid 65534
 * (the PKI user here), and every attacker action (symlinks, planted files, swaps in a loop) runs as
 * that uid through setpriv. The tool runs as root (--mode posttrans, as dnf runs it), against the
 * real 389 DS or a fake LDAP server on 127.0.0.2 (a server of the attacker's choosing, which
 * records every bind). Victims are files in throw-away folders, never real system files.
 *
 * Each case checks that the attack does no harm: the victim files keep their bytes, no secret
 * reaches the fake server, and the run ends by itself within its documented bound.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../harness/dirsrv';
import { standalone, uniqueSuffix } from '../harness/test-env';
import { MAIN_BUNDLE, runCli, type CliResult } from '../support/bundle';
import { createFakePki, csCfgText, removeFakePkis, type CsCfgOptions, type FakePki } from '../support/fake-pki';
import { agreementUrl, parseAgreement } from '../../src/converge/agreements';
import { DirectoryEntry } from '../../src/core/directory';
import { LdaptsSession } from '../../src/ldap/ldapts-session';
import { checkPeerTransport } from '../../src/ldap/peer-transport';
import { FakeLdapServer, type FakeLdapOptions } from './support/fake-ldap';

const PKI_USER = { uid: 65534, gid: 65534 };
const SECRET = `Root-Only-${randomBytes(6).toString('hex')}`;
const ATTACKER_PASSWORD = 'attacker-knows-this';
const ESC = '\u001b';
const ds = () => standalone();

let victims: string;
let victimFiles: Record<string, string>;
let secretFile: string;
const attackers: ChildProcess[] = [];

/** A throw-away folder of root's files standing for /root/.bashrc, /etc/passwd, a shadow-like file. */
beforeAll(() => {
  victims = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-victims-'));
  fs.chmodSync(victims, 0o755); // the attacker may name these files, not write them
  victimFiles = {
    bashrc: path.join(victims, 'bashrc'),
    passwd: path.join(victims, 'passwd'),
  };
  fs.writeFileSync(victimFiles.bashrc, '# root bashrc\n', { mode: 0o644 });
  fs.writeFileSync(victimFiles.passwd, 'root:x:0:0:root:/root:/bin/bash\n', { mode: 0o644 });
  secretFile = path.join(victims, 'shadow');
  fs.writeFileSync(secretFile, `internaldb=${SECRET}\n`, { mode: 0o600 });
});
/** Ends the attacker loops this case started (before looking at what they left). */
async function stopAttackers(): Promise<void> {
  await Promise.all(
    attackers.splice(0).map((a) => {
      const ended = new Promise((r) => a.once('close', r));
      // The whole process group: a loop's mv or ln still running after its shell died would
      // change the tree while the test reads it.
      try {
        process.kill(-a.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      return a.exitCode !== null || a.signalCode !== null ? undefined : ended;
    }),
  );
}
afterEach(() => stopAttackers());
afterAll(() => {
  fs.rmSync(victims, { recursive: true, force: true });
  removeFakePkis();
});

/** Bytes, mode and owner of every file in the victims' folder: they must never change. */
function victimState(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(victims).sort()) {
    const p = path.join(victims, name);
    const st = fs.lstatSync(p);
    out[name] = `${st.mode.toString(8)} ${st.uid} ${st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : 'not a file'}`;
  }
  return out;
}

/** Runs `script` as the PKI user (uid 65534), to completion. */
function asPkiUser(script: string): void {
  const r = spawnSync('setpriv', [`--reuid=${PKI_USER.uid}`, `--regid=${PKI_USER.gid}`, '--clear-groups', 'sh', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`attacker script failed (${r.status}): ${r.stderr}`);
}

/** Starts `script` as the PKI user in the background (killed after the case). */
function asPkiUserInLoop(script: string): void {
  const child = spawn('setpriv', [`--reuid=${PKI_USER.uid}`, `--regid=${PKI_USER.gid}`, '--clear-groups', 'sh', '-c', script], { stdio: 'ignore', detached: true });
  attackers.push(child);
}

/** A fake instance laid out as on a real Dogtag host: instance and log folders 0770 of the PKI user, CS.cfg 0660 of it. */
function hostileTree(cs: CsCfgOptions): FakePki {
  const pki = createFakePki(cs);
  fs.chmodSync(pki.root, 0o755);
  const csCfg = path.join(pki.instanceDir, 'ca/CS.cfg');
  for (const p of [pki.instanceDir, path.dirname(csCfg)]) {
    fs.chownSync(p, PKI_USER.uid, PKI_USER.gid);
    fs.chmodSync(p, 0o770);
  }
  fs.chownSync(csCfg, PKI_USER.uid, PKI_USER.gid);
  fs.chmodSync(csCfg, 0o660);
  const logDir = path.dirname(pki.logFile);
  fs.mkdirSync(logDir, { recursive: true });
  fs.chownSync(logDir, PKI_USER.uid, PKI_USER.gid);
  fs.chmodSync(logDir, 0o770);
  return pki;
}

/** Root's own settings for the instance: /etc/pki-db-upgrade/<instance>.conf, in a folder only root can change. */
function writeRootConfig(pki: FakePki, text: string): string {
  const file = path.join(pki.root, 'etc/pki-db-upgrade', `${pki.name}.conf`);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, text, { mode: 0o644 });
  return file;
}

/** What the PKI user writes into its own folder (files then belong to uid 65534). */
function plant(file: string, text: string): void {
  asPkiUser(`umask 007; printf '%s' '${text.replace(/'/g, `'\\''`)}' > '${file}'`);
}

async function realDatabase(): Promise<string> {
  const { suffix, backendName } = uniqueSuffix('harden');
  await createBackend(ds(), suffix, backendName);
  return suffix;
}

/** Runs `use` with a fake LDAP server on 127.0.0.2 (the attacker's choice of server), closed afterwards. */
async function withFakeServer(options: Partial<FakeLdapOptions>, use: (server: FakeLdapServer, port: number) => Promise<void>): Promise<void> {
  const server = new FakeLdapServer({ host: '127.0.0.2', afterBind: 'error', ...options });
  try {
    await use(server, await server.start());
  } finally {
    await server.close();
  }
}

/**
 * The tool as %posttrans runs it. DRY_RUN: the same run (log, password, connection) reading the
 * real 389 DS but writing nothing to it, so these cases never touch the cn=schema other test files
 * on the shared server compare.
 */
function posttrans(pki: FakePki, ...more: string[]): Promise<CliResult> {
  const dryRun = more[0] === DRY_RUN;
  return runCli(MAIN_BUNDLE, [...(dryRun ? ['dry-run'] : []), '--root', pki.root, '--mode', 'posttrans', ...more.slice(dryRun ? 1 : 0)], { timeoutMs: 60_000 });
}
const DRY_RUN = 'dry-run';

/** A file's text; '' for one that went away between the listing and the read. */
function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Every file of the tree that holds `text` (the fake tree must hold no root secret after a run). */
function filesHolding(dir: string, text: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && readIfThere(p).includes(text)) found.push(p);
  }
  return found;
}

describe('High: root writes attacker text into any file (the log)', () => {
  it('a symlink db-upgrade.log -> a root file, with shell text in CS.cfg basedn: the link is not followed; the run logs to stderr', async () => {
    const before = victimState();
    const pki = hostileTree({ port: ds().port, baseDN: 'o=x$(id>pwned)' });
    plant(pki.passwordConf, `internaldb=${ds().rootPassword}\n`);
    asPkiUser(`ln -s '${victimFiles.bashrc}' '${pki.logFile}'`);
    const result = await posttrans(pki);
    expect(result.signal).toBeNull();
    expect(result.stderr).toContain(`warning: cannot write the log file ${pki.logFile} (ELOOP)`);
    expect(victimState()).toEqual(before);
    expect(fs.readlinkSync(pki.logFile)).toBe(victimFiles.bashrc);
  });

  it('log_file in the PKI user\'s db-upgrade.conf (a passwd-like file, an ld.so.preload in a missing folder) is ignored, even with auto_upgrade = false', async () => {
    const before = victimState();
    const preload = path.join(victims, 'etc/ld.so.preload');
    for (const target of [victimFiles.passwd, preload]) {
      const pki = hostileTree({ port: ds().port, baseDN: await realDatabase() });
      plant(pki.passwordConf, `internaldb=${ds().rootPassword}\n`);
      plant(pki.toolConfig, `log_file = ${target}\nauto_upgrade = false\n`);
      const result = await posttrans(pki);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('skipped: auto_upgrade = false');
      const log = fs.readFileSync(pki.logFile, 'utf8');
      expect(log).toContain(`${pki.toolConfig}: log_file ignored: the file belongs to uid ${PKI_USER.uid} with mode 0660`);
    }
    expect(victimState()).toEqual(before);
    expect(fs.existsSync(path.dirname(preload))).toBe(false);
  });

  it('a root-owned file renamed into db-upgrade.conf (its own log, holding "log_file = ..." from a server message) sets no root-only key', async () => {
    const before = victimState();
    await withFakeServer({ errorMessage: `nope\nlog_file = ${victimFiles.passwd}\npassword_file = ${secretFile}\ntrusted_servers = 127.0.0.2:389` }, async (server, port) => {
      const pki = hostileTree({ host: '127.0.0.2', port, baseDN: 'o=pki-tomcat-CA' });
      plant(pki.passwordConf, `internaldb=${ATTACKER_PASSWORD}\n`);
      await posttrans(pki);
      expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`\n  log_file = ${victimFiles.passwd}`);
      // Root's file, one link, mode 0640: moved by the PKI user, which owns both folders.
      asPkiUser(`mv '${pki.logFile}' '${pki.toolConfig}'; rm -f '${pki.passwordConf}'`);
      expect(fs.statSync(pki.toolConfig).uid).toBe(0);
      await posttrans(pki);
      const log = fs.readFileSync(pki.logFile, 'utf8');
      expect(log).toContain(`${pki.toolConfig}: log_file ignored: ${pki.instanceDir} may be changed by uid ${PKI_USER.uid}, not by root alone`);
      expect(log).toContain(`${pki.toolConfig}: password_file ignored`);
      expect(server.passwords()).toEqual([ATTACKER_PASSWORD]);
    });
    expect(victimState()).toEqual(before);
  });

  it('server error text with a forged passwd line and terminal escapes reaches the log and the console escaped', async () => {
    await withFakeServer({ errorMessage: `nope\nevil::0:0:root:/root:/bin/bash\n${ESC}[2J${ESC}]0;owned\u0007` }, async (server, port) => {
      const pki = hostileTree({ host: '127.0.0.2', port, baseDN: 'o=pki-tomcat-CA' });
      plant(pki.passwordConf, `internaldb=${ATTACKER_PASSWORD}\n`);
      const result = await posttrans(pki);
      const console = result.stdout + result.stderr;
      const log = fs.readFileSync(pki.logFile, 'utf8');
      for (const text of [console, log]) {
        expect(text).toContain('\\x1b[2J');
        expect(text).not.toContain(ESC);
        expect(text).not.toContain('\u0007');
        expect(text).not.toMatch(/^evil::0:0/m);
      }
      expect(server.passwords()).toEqual([ATTACKER_PASSWORD]); // its own password.conf: may go where its CS.cfg says
    });
  });

  it('a hard link db-upgrade.log -> a root file is refused (one link only), the file is untouched', async () => {
    const before = victimState();
    const pki = hostileTree({ port: ds().port, baseDN: await realDatabase() });
    plant(pki.passwordConf, `internaldb=${ds().rootPassword}\n`);
    // fs.protected_hardlinks=1 (this machine) stops uid 65534 linking a root file; where it is 0
    // the PKI user can, so root makes the link here on its behalf.
    if (fs.readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8').trim() === '0') asPkiUser(`ln '${victimFiles.bashrc}' '${pki.logFile}'`);
    else fs.linkSync(victimFiles.bashrc, pki.logFile);
    const result = await posttrans(pki, DRY_RUN);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`cannot write the log file ${pki.logFile} (${pki.logFile} has 2 hard links)`);
    expect(victimState()).toEqual(before);
  });

  it('race: the PKI user keeps swapping db-upgrade.log for a symlink to a root file during five runs; no byte reaches the victim', async () => {
    const before = victimState();
    const pki = hostileTree({ port: ds().port, baseDN: await realDatabase() });
    plant(pki.passwordConf, `internaldb=${ds().rootPassword}\n`);
    expect((await posttrans(pki, DRY_RUN)).code).toBe(0); // the real log exists, root's
    const dir = path.dirname(pki.logFile);
    asPkiUserInLoop(`cd '${dir}'; while :; do mv -f db-upgrade.log keep 2>/dev/null; ln -sf '${victimFiles.bashrc}' db-upgrade.log; mv -f keep db-upgrade.log 2>/dev/null; done`);
    for (let i = 0; i < 5; i++) {
      const result = await posttrans(pki, DRY_RUN);
      expect(result.signal).toBeNull();
    }
    await stopAttackers();
    expect(victimState()).toEqual(before);
  });
});

describe('High: the PKI user chooses which root secret is read and where it is sent', () => {
  it('password_file in its db-upgrade.conf naming a root-only file, CS.cfg naming 127.0.0.2: ignored, nothing sent', async () => {
    await withFakeServer({}, async (server, port) => {
      const pki = hostileTree({ host: '127.0.0.2', port, baseDN: 'o=pki-tomcat-CA' });
      plant(pki.toolConfig, `password_file = ${secretFile}\nuse_keyring = false\n`);
      const result = await posttrans(pki);
      expect(result.code).toBe(2);
      expect(fs.readFileSync(pki.logFile, 'utf8')).toContain('password_file ignored');
      expect(server.passwords()).toEqual([]);
      expect(filesHolding(pki.root, SECRET)).toEqual([]);
    });
  });

  it('password.conf as a symlink to a root-only file is not followed, also when swapped in during the runs', async () => {
    await withFakeServer({}, async (server, port) => {
      const pki = hostileTree({ host: '127.0.0.2', port, baseDN: 'o=pki-tomcat-CA' });
      plant(pki.toolConfig, 'use_keyring = false\n');
      asPkiUser(`ln -s '${secretFile}' '${pki.passwordConf}'`);
      const planted = await posttrans(pki);
      expect(planted.code).toBe(2);
      expect(planted.stderr).toContain(`${pki.passwordConf} is a symbolic link; it is not followed`);
      asPkiUserInLoop(`cd '${pki.instanceDir}'; while :; do printf 'internaldb=${ATTACKER_PASSWORD}\\n' > pw.tmp; mv -f pw.tmp password.conf; ln -sf '${secretFile}' password.conf; done`);
      for (let i = 0; i < 5; i++) await posttrans(pki);
      await stopAttackers();
      expect(server.passwords().filter((p) => p !== ATTACKER_PASSWORD)).toEqual([]);
      expect(filesHolding(pki.root, SECRET)).toEqual([]);
    });
  });

  describe('the kernel keyring (root\'s, nuxwdog)', () => {
    const tags: string[] = [];
    const addKey = (tag: string, secret: string) => {
      const add = spawnSync('keyctl', ['padd', 'user', tag, '@u'], { input: secret, encoding: 'utf8' });
      expect(add.status).toBe(0);
      tags.push(tag);
    };
    afterAll(() => {
      for (const tag of tags) spawnSync('keyctl', ['purge', 'user', tag]);
    });

    it('CS.cfg instanceId naming another instance\'s tag: the tag comes from the folder name, nothing is sent', async () => {
      const other = `pkidbu-other-${randomBytes(4).toString('hex')}`;
      addKey(`${other}/internaldb`, SECRET);
      await withFakeServer({}, async (server, port) => {
        const pki = hostileTree({ host: '127.0.0.2', port, baseDN: 'o=pki-tomcat-CA', instanceId: other });
        const result = await posttrans(pki);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain(`no key "${pki.name}/internaldb" in the user keyring`);
        expect(server.passwords()).toEqual([]);
      });
    });

    it('the instance\'s own key goes neither to the server its CS.cfg names, nor into a password.conf it could keep (run and status)', async () => {
      await withFakeServer({}, async (server, port) => {
        const pki = hostileTree({ host: '127.0.0.2', port, baseDN: 'o=pki-tomcat-CA' });
        addKey(`${pki.name}/internaldb`, SECRET);
        // The hard-link attack on a restored password.conf, tried all along the run.
        const kept = path.join(path.dirname(pki.logFile), 'kept');
        asPkiUserInLoop(`while :; do ln '${pki.passwordConf}' '${kept}' 2>/dev/null; done`);
        const run = await posttrans(pki);
        await stopAttackers();
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(`is not sent to 127.0.0.2:${port}: that server is named by ${path.join(pki.instanceDir, 'ca/CS.cfg')}, which the PKI user (uid ${PKI_USER.uid}) can change`);
        expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`${pki.passwordConf} not restored: the PKI user (uid ${PKI_USER.uid}) cannot read the keyring`);
        const status = await runCli(MAIN_BUNDLE, ['status', '--root', pki.root, '--instance', pki.name], { timeoutMs: 60_000 });
        expect(status.stdout).toContain('is not sent to 127.0.0.2');
        expect(server.passwords()).toEqual([]);
        expect(fs.existsSync(kept)).toBe(false);
        expect(filesHolding(pki.root, SECRET)).toEqual([]);
      });
    });

    it('the same key reaches the real 389 DS (a dry-run binds and reads) once root names it in trusted_servers of /etc/pki-db-upgrade/<instance>.conf', async () => {
      const pki = hostileTree({ port: ds().port, baseDN: await realDatabase() });
      addKey(`${pki.name}/internaldb`, ds().rootPassword);
      writeRootConfig(pki, `trusted_servers = 127.0.0.1:${ds().port}\nldapi_socket = /nonexistent/slapd.socket\n`);
      const result = await posttrans(pki, DRY_RUN);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/ca: dry-run, \d+ step\(s\) would be applied/); // bound and read with that key
      expect(fs.existsSync(pki.passwordConf)).toBe(false);
      expect(filesHolding(pki.root, ds().rootPassword)).toEqual([]);
    });
  });
});

describe('Medium: no server can hold dnf (bounded time)', () => {
  it('a plain server that accepts the bind and never answers again: the run stops itself after operation_timeout (exit 4)', async () => {
    await withFakeServer({ afterBind: 'hang' }, async (server, port) => {
      const pki = hostileTree({ host: '127.0.0.2', port, baseDN: 'o=pki-tomcat-CA' });
      plant(pki.passwordConf, `internaldb=${ATTACKER_PASSWORD}\n`);
      plant(pki.toolConfig, 'operation_timeout = 2\n');
      const result = await posttrans(pki);
      expect({ code: result.code, signal: result.signal }).toEqual({ code: 4, signal: null });
      expect(result.stderr).toContain(`389 DS at ldap://127.0.0.2:${port} did not answer`);
      expect(result.stderr).toContain('within 2 s (operation_timeout)');
    });
  });

  it('an ldapi_socket the PKI user made (named even in root\'s own configuration) is not used', async () => {
    const pki = hostileTree({ port: ds().port, baseDN: await realDatabase() });
    plant(pki.passwordConf, `internaldb=${ds().rootPassword}\n`);
    const socket = path.join(path.dirname(pki.logFile), 'slapd-evil.socket');
    asPkiUserInLoop(`exec ${process.execPath} -e "require('net').createServer(() => {}).listen('${socket}')"`);
    for (let i = 0; i < 200 && !fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
    writeRootConfig(pki, `ldapi_socket = ${socket}\n`);
    const result = await posttrans(pki, DRY_RUN);
    expect(result.code).toBe(0);
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`LDAPI socket ${socket} not used: it belongs to uid ${PKI_USER.uid}, neither root nor dirsrv`);
  });
});

describe('Medium: no Directory Manager password in cleartext to replication peers', () => {
  let tlsDir: string;
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => {
    tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-peertls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(tlsDir, 'key.pem'), '-out', path.join(tlsDir, 'cert.pem'),
    ], { stdio: 'ignore' });
    key = fs.readFileSync(path.join(tlsDir, 'key.pem'));
    cert = fs.readFileSync(path.join(tlsDir, 'cert.pem'));
  });
  afterAll(() => fs.rmSync(tlsDir, { recursive: true, force: true }));

  const agreement = (transport: string, host: string, port: number) =>
    parseAgreement(new DirectoryEntry('cn=to-peer,cn=replica,cn=config', { cn: 'to-peer', nsDS5ReplicaHost: host, nsDS5ReplicaPort: String(port), nsDS5ReplicaTransportInfo: transport }));

  it('a StartTLS (TLS) agreement: the bind arrives only after StartTLS, verified against the CA', async () => {
    const server = new FakeLdapServer({ host: '127.0.0.1', afterBind: 'error', tls: { key, cert } });
    const port = await server.start();
    try {
      const url = agreementUrl(agreement('TLS', '127.0.0.1', port));
      const session = await LdaptsSession.open({ url, credentials: { kind: 'simple', bindDN: 'cn=Directory Manager', password: SECRET }, tlsOptions: { ca: cert }, connectTimeoutMs: 5000 });
      await session.close();
      expect(server.binds).toEqual([{ dn: 'cn=Directory Manager', password: SECRET, tls: true }]);
    } finally {
      await server.close();
    }
  });

  it('a StartTLS agreement to a server that does not speak TLS, or whose certificate does not verify: no bind at all', async () => {
    const plain = new FakeLdapServer({ host: '127.0.0.1', afterBind: 'error' }); // answers StartTLS with an error
    const untrusted = new FakeLdapServer({ host: '127.0.0.1', afterBind: 'error', tls: { key, cert } });
    try {
      for (const server of [plain, untrusted]) {
        const url = agreementUrl(agreement('TLS', '127.0.0.1', await server.start()));
        await expect(LdaptsSession.open({ url, credentials: { kind: 'simple', bindDN: 'cn=Directory Manager', password: SECRET }, connectTimeoutMs: 5000 })).rejects.toThrow();
        expect(server.binds).toEqual([]);
      }
    } finally {
      await plain.close();
      await untrusted.close();
    }
  });

  it('an SSL agreement connects with LDAPS', async () => {
    const server = new FakeLdapServer({ host: '127.0.0.1', afterBind: 'error', tls: { key, cert }, ldaps: true });
    const port = await server.start();
    try {
      const url = agreementUrl(agreement('SSL', '127.0.0.1', port));
      expect(url).toBe(`ldaps://127.0.0.1:${port}`);
      const session = await LdaptsSession.open({ url, credentials: { kind: 'simple', bindDN: 'cn=Directory Manager', password: SECRET }, tlsOptions: { ca: cert }, connectTimeoutMs: 5000 });
      await session.close();
      expect(server.binds).toEqual([{ dn: 'cn=Directory Manager', password: SECRET, tls: true }]);
    } finally {
      await server.close();
    }
  });

  it('a plain LDAP agreement to another host is refused before any connection; on loopback it stays on this host', () => {
    expect(() => checkPeerTransport(agreementUrl(agreement('LDAP', 'ca2.example.com', 389)))).toThrow('the bind password is not sent to ldap://ca2.example.com:389 in the clear');
    expect(() => checkPeerTransport(agreementUrl(agreement('LDAP', '127.0.0.1', 389)))).not.toThrow();
    expect(() => checkPeerTransport(agreementUrl(agreement('TLS', 'ca2.example.com', 389)))).not.toThrow();
  });
});

describe('the tree itself', () => {
  it('CS.cfg planted as a symlink to a root file is refused, not read', async () => {
    const pki = hostileTree({ port: ds().port, baseDN: 'o=x' });
    const csCfg = path.join(pki.instanceDir, 'ca/CS.cfg');
    fs.writeFileSync(path.join(victims, 'cs-like'), csCfgText({ port: ds().port, baseDN: 'o=victim' }), { mode: 0o600 });
    asPkiUser(`rm -f '${csCfg}'; ln -s '${path.join(victims, 'cs-like')}' '${csCfg}'`);
    const result = await posttrans(pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${csCfg} is a symbolic link; it is not followed`);
  });
});
