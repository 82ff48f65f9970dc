/**
 * The token password of the instance's NSS database, which SslClientAuth needs to use the subsystem
 * certificate's key (src/auth/client-certificate.ts): the key `internal`, from password.conf's
 * `internal=` line as Tomcat reads it, else from the password sources, the keyring tag
 * `<instance>/internal` first, as nuxwdog keeps it. The bind over TLS is tested on the real
 * server (test/client-certificate.test.ts, with password.conf).
 */
import fs from 'node:fs';
import path from 'node:path';
import { INTERNAL_TOKEN_KEY } from '../../src/auth/client-certificate';
import { InstancePasswords } from '../../src/auth/instance-password';
import type { PasswordSourceDeps } from '../../src/auth/password-sources';
import { silentLogger } from '../../src/core/logger';
import { tempDir } from '../support/temp-dir';

function passwordsIn(dir: string, keyring: Record<string, string>) {
  const asked: string[] = [];
  const deps: PasswordSourceDeps = {
    readKeyring: (tag) => (asked.push(tag), tag in keyring ? { found: true, password: keyring[tag] } : { found: false, reason: `no key "${tag}"` }),
    readOptionFile: () => '',
    readConfiguredFile: () => '',
    prompt: async () => '',
  };
  const passwords = new InstancePasswords({
    instanceId: 'pki-tomcat',
    passwordConf: path.join(dir, 'password.conf'),
    owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    trustedServers: [],
    stateDir: path.join(dir, 'state'),
    useKeyring: true,
    mayPrompt: false,
    restore: false,
    logger: silentLogger,
    deps,
  });
  return { passwords, asked };
}

describe('the NSS token password (internal) for SslClientAuth', () => {
  it("is password.conf's internal= line when it has one, and the keyring is not asked", async () => {
    const dir = tempDir('pkidbu-token-');
    fs.writeFileSync(path.join(dir, 'password.conf'), 'internaldb=bind-password\ninternal=token-password\n', { mode: 0o600 });
    const { passwords, asked } = passwordsIn(dir, { 'pki-tomcat/internal': 'from-keyring' });
    expect(await passwords.get(INTERNAL_TOKEN_KEY)).toBe('token-password');
    expect(passwords.sourceOf(INTERNAL_TOKEN_KEY)).toBe(`${path.join(dir, 'password.conf')} (internal=)`);
    expect(asked).toEqual([]);
  });

  it('is taken from the keyring tag <instance>/internal when password.conf lacks it, not from the bind password', async () => {
    const dir = tempDir('pkidbu-token-');
    fs.writeFileSync(path.join(dir, 'password.conf'), 'internaldb=bind-password\n', { mode: 0o600 });
    const { passwords, asked } = passwordsIn(dir, { 'pki-tomcat/internal': 'from-keyring', 'pki-tomcat/internaldb': 'bind-from-keyring' });
    expect(await passwords.get(INTERNAL_TOKEN_KEY)).toBe('from-keyring');
    expect(asked).toEqual(['pki-tomcat/internal']);
    expect(passwords.sourceOf(INTERNAL_TOKEN_KEY)).toBe('the keyring (pki-tomcat/internal)');
  });

  it('is refused with the sources tried when neither has it', async () => {
    const dir = tempDir('pkidbu-token-');
    const { passwords } = passwordsIn(dir, {});
    await expect(passwords.get(INTERNAL_TOKEN_KEY)).rejects.toThrow(/no database password "internal" for instance pki-tomcat: .*password\.conf does not exist, and no password source had it/);
  });
});
