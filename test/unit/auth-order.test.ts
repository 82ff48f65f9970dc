import { authCandidates, ldapiUrl } from '../../src/auth/ldapi-sockets';
import type { InternalDbConfig } from '../../src/config/cs-cfg';

const db = (over: Partial<InternalDbConfig> = {}): InternalDbConfig => ({
  host: 'localhost',
  port: 389,
  secure: false,
  baseDN: 'o=pki-tomcat-CA',
  authType: 'BasicAuth',
  bindDN: 'cn=Directory Manager',
  passwordKey: 'internaldb',
  ...over,
});
const sockets = ['/run/slapd-a.socket', '/run/slapd-b.socket'];

describe('authentication order', () => {
  it('as root on the database host: every LDAPI socket first (EXTERNAL), then BasicAuth', () => {
    expect(authCandidates(db(), { isRoot: true, sockets }).map((c) => c.kind + ' ' + c.url)).toEqual([
      `ldapi-external ${ldapiUrl('/run/slapd-a.socket')}`,
      `ldapi-external ${ldapiUrl('/run/slapd-b.socket')}`,
      'basic ldap://localhost:389',
    ]);
    expect(ldapiUrl('/run/slapd-a.socket')).toBe('ldapi://%2Frun%2Fslapd-a.socket');
  });

  it('not root, no socket, or a remote database host: no LDAPI', () => {
    expect(authCandidates(db(), { isRoot: false, sockets }).map((c) => c.kind)).toEqual(['basic']);
    expect(authCandidates(db(), { isRoot: true, sockets: [] }).map((c) => c.kind)).toEqual(['basic']);
    expect(authCandidates(db({ host: 'ds2.example.test' }), { isRoot: true, sockets }).map((c) => c.kind)).toEqual(['basic']);
    expect(authCandidates(db({ host: 'pki.example.test' }), { isRoot: true, sockets, machineName: 'pki.example.test' }).map((c) => c.kind)).toEqual([
      'ldapi-external',
      'ldapi-external',
      'basic',
    ]);
  });

  it('secureConn=true: LDAPS with the configured CA file', () => {
    expect(authCandidates(db({ port: 636, secure: true }), { isRoot: false, sockets: [], caFile: '/etc/ipa/ca.crt' })).toEqual([
      { kind: 'basic', url: 'ldaps://localhost:636', bindDN: 'cn=Directory Manager', secure: true, caFile: '/etc/ipa/ca.crt' },
    ]);
  });

  it('SslClientAuth with a nickname: LDAPI first, then the client certificate over LDAPS (secureConn=true) or StartTLS, never plain LDAP', () => {
    const nickname = 'subsystemCert cert-pki-ca';
    expect(authCandidates(db({ authType: 'SslClientAuth', clientCertNickname: nickname, port: 636, secure: true }), { isRoot: true, sockets: sockets.slice(0, 1), caFile: '/etc/ipa/ca.crt' })).toEqual([
      { kind: 'ldapi-external', url: ldapiUrl(sockets[0]), socket: sockets[0] },
      { kind: 'client-cert', url: 'ldaps://localhost:636', nickname, secure: true, caFile: '/etc/ipa/ca.crt' },
    ]);
    expect(authCandidates(db({ authType: 'SslClientAuth', clientCertNickname: nickname, host: '::1' }), { isRoot: false, sockets })).toEqual([
      { kind: 'client-cert', url: 'ldap+starttls://[::1]:389', nickname, secure: true, caFile: undefined },
    ]);
  });

  it('SslClientAuth without a nickname: LDAPI only; nothing when it is not available', () => {
    expect(authCandidates(db({ authType: 'SslClientAuth' }), { isRoot: true, sockets: sockets.slice(0, 1) }).map((c) => c.kind)).toEqual(['ldapi-external']);
    expect(authCandidates(db({ authType: 'SslClientAuth' }), { isRoot: false, sockets })).toEqual([]);
  });
});
