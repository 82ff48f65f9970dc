/**
 * The pieces of issue 12 that need no server: which db-upgrade.conf keys an untrusted file may
 * set, how text from outside is escaped, how the log is opened in a folder someone else owns, and
 * which peer URLs may carry a password.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseToolConfig, ROOT_ONLY_KEYS } from '../../src/config/tool-config';
import { openForAppend } from '../../src/files/safe-append';
import { escapeControl, escapeTerminal } from '../../src/logging/escape';
import { checkPeerTransport, hostPortOf } from '../../src/ldap/peer-transport';
import { SecretDestinationError } from '../../src/core/errors';
import { silentLogger } from '../../src/core/logger';
import { InstancePasswords } from '../../src/auth/instance-password';

describe('db-upgrade.conf not owned by root alone', () => {
  const text = ['auto_upgrade = false', 'log_file = /etc/passwd', 'password_file = /etc/shadow', 'ldapi_socket = /tmp/x.socket', 'ca_file = /tmp/ca.pem', 'client_cert_file = /tmp/c.pem', 'client_key_file = /tmp/c.key', 'trusted_servers = 127.0.0.2:389', 'operation_timeout = 5'].join('\n');

  it('keeps the keys that cannot steer root and ignores, with a warning each, those that could', () => {
    const config = parseToolConfig(text, '/etc/pki/x/db-upgrade.conf', 'the file belongs to uid 65534 with mode 0660');
    expect(config).toMatchObject({ autoUpgrade: false, operationTimeoutSec: 5, trustedServers: [] });
    expect([config.logFile, config.passwordFile, config.ldapiSocket, config.caFile]).toEqual([undefined, undefined, undefined, undefined]);
    expect(config.warnings).toEqual(ROOT_ONLY_KEYS.map((k) => `/etc/pki/x/db-upgrade.conf: ${k} ignored: the file belongs to uid 65534 with mode 0660; only a file root alone controls may set it (e.g. /etc/pki-db-upgrade/<instance>.conf)`));
  });

  it('takes every key from a file root alone controls', () => {
    const config = parseToolConfig(text, '/etc/pki/x/db-upgrade.conf');
    expect(config).toMatchObject({ logFile: '/etc/passwd', passwordFile: '/etc/shadow', trustedServers: ['127.0.0.2:389'], warnings: [] });
    expect(config).toMatchObject({ clientCertFile: '/tmp/c.pem', clientKeyFile: '/tmp/c.key', clientCertSetting: '/etc/pki/x/db-upgrade.conf' });
  });

  it('refuses a trusted_servers entry that is not host:port', () => {
    expect(() => parseToolConfig('trusted_servers = ldap://x', '/c')).toThrow('trusted_servers = ldap://x is not a list of host:port');
  });
});

describe('escapeControl', () => {
  it('makes control characters visible and indents what follows a newline', () => {
    expect(escapeControl('a\u001b[2Jb\rc\u0007')).toBe('a\\x1b[2Jb\\x0dc\\x07');
    expect(escapeControl('no such entry\nevil::0:0:root:/root:/bin/bash')).toBe('no such entry\n  evil::0:0:root:/root:/bin/bash');
    expect(escapeControl('the fact\n  → the hint')).toBe('the fact\n  → the hint');
  });

  it('keeps a report\'s own lines (escapeTerminal)', () => {
    expect(escapeTerminal('Line one\nLine \u001b]0;two\n')).toBe('Line one\nLine \\x1b]0;two\n');
  });
});

describe('openForAppend', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-append-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates the file with the mode asked for, and missing folders inside trusted ones', () => {
    const file = path.join(dir, 'a/b/x.log');
    fs.closeSync(openForAppend(file, 0o640));
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  it('refuses a symbolic link, a second hard link, and a file of another owner', () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'keep\n');
    fs.symlinkSync(victim, path.join(dir, 'link.log'));
    fs.linkSync(victim, path.join(dir, 'hard.log'));
    fs.writeFileSync(path.join(dir, 'theirs.log'), '');
    fs.chownSync(path.join(dir, 'theirs.log'), 65534, 65534);
    expect(() => openForAppend(path.join(dir, 'link.log'), 0o640)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(() => openForAppend(path.join(dir, 'hard.log'), 0o640)).toThrow('has 2 hard links');
    expect(() => openForAppend(path.join(dir, 'theirs.log'), 0o640)).toThrow('belongs to uid 65534, not root');
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep\n');
  });

  it('writes and creates nothing below a folder another user may change, but writes in it', () => {
    const theirs = path.join(dir, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o770 });
    fs.chownSync(theirs, 65534, 65534);
    expect(() => openForAppend(path.join(theirs, 'sub/x.log'), 0o640)).toThrow(`${theirs} may be changed by uid 65534, not by root alone`);
    expect(fs.existsSync(path.join(theirs, 'sub'))).toBe(false);
    fs.closeSync(openForAppend(path.join(theirs, 'x.log'), 0o640)); // its own folder may be the user's
  });
});

describe('peer URLs', () => {
  it('gives host:port for trusted_servers, whatever the scheme', () => {
    expect(['ldap://CA2.example.com:389', 'ldaps://ca2.example.com', 'ldap+starttls://[::1]:3389'].map(hostPortOf)).toEqual(['ca2.example.com:389', 'ca2.example.com:636', '[::1]:3389']);
  });

  it('lets a password cross plain LDAP only on loopback', () => {
    expect(() => checkPeerTransport('ldap://[::1]:389')).not.toThrow();
    expect(() => checkPeerTransport('ldap://localhost:389')).not.toThrow();
    expect(() => checkPeerTransport('ldap://10.0.0.1:389')).toThrow('in the clear');
    expect(() => checkPeerTransport('ldaps://10.0.0.1:636')).not.toThrow();
  });
});

describe('where a password may go', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-dest-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const passwords = (owner: { uid: number; gid: number }, trustedServers: string[] = []) =>
    new InstancePasswords({
      instanceId: 'pki-tomcat',
      passwordConf: path.join(dir, 'password.conf'),
      owner,
      trustedServers,
      stateDir: path.join(dir, 'state'),
      useKeyring: true,
      mayPrompt: false,
      restore: false,
      logger: silentLogger,
      deps: { readKeyring: () => ({ found: true, password: 'from-root-keyring' }), readOptionFile: () => '', readConfiguredFile: () => '', prompt: async () => '' },
    });
  const fromPkiUser = { file: '/etc/pki/pki-tomcat/ca/CS.cfg', rootControlled: false };

  it('a root-held password (keyring) goes only to servers root named, replication peers included', async () => {
    const p = passwords({ uid: 17, gid: 17 }, ['ds1.example.com:636']);
    await p.get('internaldb');
    expect(() => p.checkDestination('internaldb', 'DS1.example.com:636', fromPkiUser)).not.toThrow();
    expect(() => p.checkDestination('internaldb', 'ds1.example.com:636', { file: '/etc/pki/pki-tomcat/ca/CS.cfg', rootControlled: true })).not.toThrow();
    expect(() => p.checkDestination('internaldb', '127.0.0.2:389', fromPkiUser)).toThrow(SecretDestinationError);
    expect(() => p.checkDestination('internaldb', 'ca2.example.com:636', { file: 'a replication agreement', rootControlled: false })).toThrow(
      'is not sent to ca2.example.com:636: that server is named by a replication agreement, which the PKI user (uid 17) can change',
    );
  });

  it('when root itself is the PKI user (a root-owned instance), nothing is held back', async () => {
    const p = passwords({ uid: 0, gid: 0 });
    await p.get('internaldb');
    expect(() => p.checkDestination('internaldb', '127.0.0.2:389', fromPkiUser)).not.toThrow();
  });
});
