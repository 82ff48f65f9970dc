/**
 * What the PKI user's CS.cfg may say about the client certificate (SslClientAuth): where its NSS
 * database is (only the instance's own, under either name pkispawn gives it) and its nickname (on
 * the internal token only: an HSM's key cannot be exported).
 */
import { checkNssDatabaseDir, internalNickname } from '../../src/auth/client-certificate';
import { systemPaths } from '../../src/config/paths';
import { ClientCertificateError } from '../../src/core/errors';

describe('the NSS database CS.cfg names (jss.configDir)', () => {
  const paths = systemPaths('/');
  const location = { dir: paths.nssDatabase('pki-tomcat'), names: paths.nssDatabaseNames('pki-tomcat') };
  const check = (configured?: string) => checkNssDatabaseDir({ location, configured, csFile: '/etc/pki/pki-tomcat/ca/CS.cfg' });

  it('is /etc/pki/<instance>/alias when CS.cfg does not say, or says it under either name (sql:, a final slash)', () => {
    for (const configured of [undefined, '/etc/pki/pki-tomcat/alias', '/var/lib/pki/pki-tomcat/alias/', 'sql:/var/lib/pki/pki-tomcat/alias']) expect(check(configured)).toBe('/etc/pki/pki-tomcat/alias');
  });

  it('refuses any other folder, another instance\'s, and a way around with ..', () => {
    for (const configured of ['/etc/dirsrv/slapd-pki', '/etc/pki/other/alias', '/etc/pki/pki-tomcat/alias/../../nssdb', '/etc/pki/nssdb', 'alias']) {
      expect(() => check(configured)).toThrow(ClientCertificateError);
    }
    expect(() => check('/etc/dirsrv/slapd-pki')).toThrow('jss.configDir "/etc/dirsrv/slapd-pki" is not the instance\'s NSS database (/etc/pki/pki-tomcat/alias or /var/lib/pki/pki-tomcat/alias)');
  });

  it('below a test root: the root\'s folders, and the host\'s names as CS.cfg writes them', () => {
    const under = systemPaths('/tmp/tree');
    const loc = { dir: under.nssDatabase('x'), names: under.nssDatabaseNames('x') };
    expect(checkNssDatabaseDir({ location: loc, configured: '/var/lib/pki/x/alias', csFile: 'CS.cfg' })).toBe('/tmp/tree/etc/pki/x/alias');
    expect(checkNssDatabaseDir({ location: loc, configured: '/tmp/tree/var/lib/pki/x/alias', csFile: 'CS.cfg' })).toBe('/tmp/tree/etc/pki/x/alias');
  });
});

describe('the nickname (clientCertNickname)', () => {
  it('on the internal token, with or without its name', () => {
    expect(internalNickname('subsystemCert cert-pki-ca', 'CS.cfg')).toBe('subsystemCert cert-pki-ca');
    expect(internalNickname('internal:subsystemCert cert-pki-ca', 'CS.cfg')).toBe('subsystemCert cert-pki-ca');
    expect(internalNickname('Internal Key Storage Token:subsystemCert cert-pki-ca', 'CS.cfg')).toBe('subsystemCert cert-pki-ca');
  });

  it('on an HSM: refused, saying so', () => {
    expect(() => internalNickname('NHSM6000:subsystemCert cert-pki-ca', '/etc/pki/pki-tomcat/ca/CS.cfg')).toThrow(
      '/etc/pki/pki-tomcat/ca/CS.cfg: the client certificate "NHSM6000:subsystemCert cert-pki-ca" is on the token "NHSM6000" (an HSM): its key cannot be exported for this tool',
    );
  });
});
