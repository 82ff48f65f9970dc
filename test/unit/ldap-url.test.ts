/**
 * The URLs a direct run accepts (--url). A URL the tool cannot connect to is a usage error (exit
 * 2) found before the run takes its lock: nothing is left behind under /var/lib/pki-db-upgrade.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT_ENV } from '../../src/config/paths';
import { ConfigError } from '../../src/core/errors';
import { checkLdapUrl, connectUrl, hostOf, ldapiSocketPath } from '../../src/ldap/ldap-url';
import { MAIN_BUNDLE, runCli } from '../support/bundle';
import { tempDir } from '../support/temp-dir';

describe('checkLdapUrl', () => {
  it.each([
    'ldap://127.0.0.1:389',
    'ldap://localhost:389/',
    'ldaps://ca1.example.com:636',
    'ldap+starttls://127.0.0.1:14936',
    'ldap://[::1]:389',
    'ldapi://%2Frun%2Fslapd-pki-tomcat.socket',
  ])('accepts %s', (url) => {
    expect(() => checkLdapUrl(url)).not.toThrow();
  });

  it.each([
    ['http://127.0.0.1:389', 'is not an LDAP URL'],
    ['127.0.0.1:389', 'is not an LDAP URL'],
    ['ldap://127.0.0.1:99999', 'does not parse'],
    ['ldap://', 'names no host'],
    ['ldap://cn=Directory%20Manager:secret@127.0.0.1:389', 'carries credentials in the URL'],
    ['ldap://127.0.0.1:389/o=pki-tomcat-CA', 'has a DN, attributes or a filter after the host'],
    ['ldap://127.0.0.1:389/??sub?(objectClass=*)', 'has a DN, attributes or a filter after the host'],
    ['ldapi://run/slapd-X.socket', 'does not name a socket path'],
    ['ldapi://%E0%A4%A', 'does not name a socket path'],
  ])('refuses %s: %s', (url, why) => {
    let error: unknown;
    try {
      checkLdapUrl(url);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(why);
  });
});

describe('what a connection makes of a URL', () => {
  it('connects ldap+starttls:// as ldap:// (StartTLS comes after)', () => {
    expect(connectUrl('ldap+starttls://h:1')).toBe('ldap://h:1');
    expect(connectUrl('ldaps://h:1')).toBe('ldaps://h:1');
  });
  it('names the host without the brackets of IPv6', () => {
    expect(hostOf('ldap+starttls://ca1.example.com:389')).toBe('ca1.example.com');
    expect(hostOf('ldaps://[::1]:636')).toBe('::1');
  });
  it('decodes the socket path of ldapi://', () => {
    expect(ldapiSocketPath('ldapi://%2Frun%2Fslapd-X.socket/')).toBe('/run/slapd-X.socket');
  });
});

describe('a direct run given a malformed --url', () => {
  it('exits 2 with the reason and a hint, and leaves no lock folder', async () => {
    const root = tempDir('pkidbu-url-');
    const passwordFile = path.join(root, 'pw');
    fs.writeFileSync(passwordFile, 'unused\n', { mode: 0o600 });
    const r = await runCli(MAIN_BUNDLE, ['--url', 'ldap://127.0.0.1:389/o=pki-tomcat-CA', '--base-dn', 'o=pki-tomcat-CA', '--password-file', passwordFile], {
      env: { [ROOT_ENV]: root }, // where the direct lock's folder would be made
    });
    expect({ code: r.code, stderr: r.stderr.trim() }).toEqual({
      code: 2,
      stderr: expect.stringMatching(/^error: "ldap:\/\/127\.0\.0\.1:389\/o=pki-tomcat-CA" has a DN, attributes or a filter after the host\n\s*→ name only the server/),
    });
    const stateDir = path.join(root, 'var/lib/pki-db-upgrade');
    expect(fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : []).toEqual([]);
  });
});
