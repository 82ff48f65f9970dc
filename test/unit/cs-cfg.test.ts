import { ConfigError } from '../../src/core/errors';
import { parseCsCfg, parseProperties } from '../../src/config/cs-cfg';

// The internaldb block of Dogtag's CA CS.cfg template (fixtures/dogtag/ca/CS.cfg.template), as pkispawn fills it.
const template = `machineName=[pki_hostname]
internaldb._000=##
internaldb._001=## Internal Database
internaldb._002=##
internaldb.basedn=
internaldb.maxConns=15
internaldb.minConns=3
internaldb.ldapauth.authtype=BasicAuth
internaldb.ldapauth.bindDN=cn=Directory Manager
internaldb.ldapauth.bindPWPrompt=internaldb
internaldb.ldapauth.clientCertNickname=
internaldb.ldapconn.host=localhost
internaldb.ldapconn.port=389
internaldb.ldapconn.secureConn=false
internaldb.multipleSuffix.enable=false
`;

describe('CS.cfg', () => {
  it('reads the internaldb keys of the real Dogtag CA template', () => {
    const text = template.replace('internaldb.basedn=', 'internaldb.basedn=o=pki-tomcat-CA');
    const cs = parseCsCfg(text, 'CS.cfg');
    expect(cs.internalDb).toEqual({
      host: 'localhost',
      port: 389,
      secure: false,
      baseDN: 'o=pki-tomcat-CA',
      backend: undefined,
      authType: 'BasicAuth',
      bindDN: 'cn=Directory Manager',
      passwordKey: 'internaldb',
    });
    expect(cs.machineName).toBe('[pki_hostname]');
  });

  it('takes secureConn, SslClientAuth, database and instanceId as written', () => {
    const cs = parseCsCfg(
      [
        'instanceId=pki-ipa',
        'internaldb.basedn=o=ipaca',
        'internaldb.database=ipaca',
        'internaldb.ldapconn.host=ipa.example.test',
        'internaldb.ldapconn.port=636',
        'internaldb.ldapconn.secureConn=true',
        'internaldb.ldapauth.authtype=SslClientAuth',
        'internaldb.ldapauth.clientCertNickname=subsystemCert cert-pki-ca',
        'jss.configDir=/var/lib/pki/pki-tomcat/alias/',
      ].join('\n'),
      'CS.cfg',
    );
    expect(cs.instanceId).toBe('pki-ipa');
    expect(cs.internalDb).toMatchObject({ port: 636, secure: true, authType: 'SslClientAuth', backend: 'ipaca', passwordKey: 'internaldb', clientCertNickname: 'subsystemCert cert-pki-ca' });
    expect(cs.nssDatabaseDir).toBe('/var/lib/pki/pki-tomcat/alias/');
  });

  it('refuses a CS.cfg without a base DN or with a bad port or auth type, naming the file', () => {
    expect(() => parseCsCfg('internaldb.ldapconn.host=h\ninternaldb.ldapconn.port=389\n', '/x/CS.cfg')).toThrow(/\/x\/CS.cfg has no internaldb.basedn/);
    expect(() => parseCsCfg('internaldb.basedn=o=a\ninternaldb.ldapconn.host=h\ninternaldb.ldapconn.port=38x9\n', 'f')).toThrow(ConfigError);
    expect(() =>
      parseCsCfg('internaldb.basedn=o=a\ninternaldb.ldapconn.host=h\ninternaldb.ldapconn.port=389\ninternaldb.ldapauth.authtype=Kerberos\n', 'f'),
    ).toThrow(/not BasicAuth or SslClientAuth/);
  });

  it('properties: comments and blank lines skipped, value is everything after the first =', () => {
    const p = parseProperties('# c\n\n a = b=c \nnovalue\n=x\ninternaldb=p@ss=word#1\n');
    expect([...p.entries()]).toEqual([
      ['a', 'b=c'],
      ['internaldb', 'p@ss=word#1'],
    ]);
  });
});
