import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPassword, readRootOnlyPasswordFile, type PasswordRequest, type PasswordSourceDeps } from '../../src/auth/password-sources';

function deps(have: { keyring?: string; option?: string; configured?: string; prompt?: string }) {
  const asked: string[] = [];
  const d: PasswordSourceDeps = {
    readKeyring: (tag) => (asked.push(`keyring ${tag}`), have.keyring ? { found: true, password: have.keyring } : { found: false, reason: 'no key' }),
    readOptionFile: (f) => (asked.push(`option ${f}`), have.option ?? ''),
    readConfiguredFile: (f) => (asked.push(`configured ${f}`), have.configured ?? ''),
    prompt: async () => (asked.push('prompt'), have.prompt ?? ''),
  };
  return { d, asked };
}
const req = (over: Partial<PasswordRequest> = {}): PasswordRequest => ({
  instanceId: 'pki-tomcat',
  key: 'internaldb',
  useKeyring: true,
  mayPrompt: false,
  ...over,
});

describe('password sources, in order', () => {
  it('--password-file wins and nothing else is asked', async () => {
    const { d, asked } = deps({ option: 'A', keyring: 'B' });
    const r = await findPassword(req({ passwordFileOption: '/p', configuredPasswordFile: '/c', mayPrompt: true }), d);
    expect(r.found).toEqual({ password: 'A', source: 'password-file option', detail: '/p' });
    expect(asked).toEqual(['option /p']);
  });

  it('then the keyring tag <instanceId>/<key>, then the configured file, then the prompt', async () => {
    let { d, asked } = deps({ keyring: 'B', configured: 'C' });
    expect((await findPassword(req({ configuredPasswordFile: '/c' }), d)).found?.source).toBe('keyring');
    expect(asked).toEqual(['keyring pki-tomcat/internaldb']);

    ({ d, asked } = deps({ configured: 'C' }));
    expect((await findPassword(req({ configuredPasswordFile: '/c', mayPrompt: true }), d)).found).toMatchObject({ password: 'C', source: 'configured password file' });
    expect(asked).toEqual(['keyring pki-tomcat/internaldb', 'configured /c']);

    ({ d, asked } = deps({ prompt: 'D' }));
    expect((await findPassword(req({ mayPrompt: true }), d)).found).toMatchObject({ password: 'D', source: 'terminal prompt' });
    expect(asked).toEqual(['keyring pki-tomcat/internaldb', 'prompt']);
  });

  it('never prompts when not interactive, and says what it tried', async () => {
    const { d, asked } = deps({ prompt: 'D' });
    const r = await findPassword(req({ useKeyring: false }), d);
    expect(r.found).toBeUndefined();
    expect(asked).toEqual([]);
    expect(r.tried).toEqual(['keyring: disabled by use_keyring = false', 'password_file: not set in db-upgrade.conf', 'terminal prompt: not interactive']);
  });
});

describe('the configured password file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-pw-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes the <key>= line of a password.conf-style file, else the first line', () => {
    const a = path.join(dir, 'a');
    fs.writeFileSync(a, 'internal=x\ninternaldb=s3cret\n', { mode: 0o600 });
    expect(readRootOnlyPasswordFile(a, 'internaldb')).toBe('s3cret');
    const b = path.join(dir, 'b');
    fs.writeFileSync(b, 'just=this one\n', { mode: 0o600 });
    expect(readRootOnlyPasswordFile(b, 'internaldb')).toBe('just=this one');
  });

  it('is refused when group or others may read it', () => {
    const c = path.join(dir, 'c');
    fs.writeFileSync(c, 'pw\n', { mode: 0o640 });
    fs.chmodSync(c, 0o640);
    expect(() => readRootOnlyPasswordFile(c, 'internaldb')).toThrow(/accessible by group or others \(mode 0640\)/);
  });
});
