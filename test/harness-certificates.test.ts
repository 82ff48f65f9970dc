/** Generated certificates are real X.509 v3 DER: they parse, verify and name their issuer correctly. */
import * as crypto from 'node:crypto';
import { CertificateAuthority, DEFAULT_CA_NAME, DistinguishedName, expectedIssuerName } from './harness/certificates';
import { integer, oid, time } from './harness/der';

describe('certificate generator', () => {
  const ca = new CertificateAuthority();

  it('issues certificates that parse and verify with the CA key', () => {
    const cert = ca.issue(4660n);
    const x = new crypto.X509Certificate(cert.der);
    expect(x.serialNumber).toBe('1234');
    expect(x.verify(ca.publicKey)).toBe(true);
    expect(x.checkIssued(new crypto.X509Certificate(ca.certificate))).toBe(true);
    expect(x.subject).toBe('O=EXAMPLE\nOU=people\nCN=user4660');
    expect(x.ca).toBe(false);
    expect(new Date(x.validFrom).getTime()).toBe(cert.notBefore.getTime());
    expect(new Date(x.validTo).getTime()).toBe(cert.notAfter.getTime());
  });

  it('does not verify with another key', () => {
    const other = new CertificateAuthority();
    expect(new crypto.X509Certificate(ca.issue(2n).der).verify(other.publicKey)).toBe(false);
  });

  it('has a self-signed CA certificate', () => {
    const x = new crypto.X509Certificate(ca.certificate);
    expect(x.ca).toBe(true);
    expect(x.verify(ca.publicKey)).toBe(true);
  });

  it('gives the issuer in LDAP order while the DER Name is O, OU, CN', () => {
    const der = ca.issue(3n).der;
    expect(DEFAULT_CA_NAME.ldapString()).toBe('CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE');
    expect(expectedIssuerName(der)).toBe('CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE');
    expect(new crypto.X509Certificate(der).issuer).toBe('O=EXAMPLE\nOU=pki-tomcat\nCN=CA Signing Certificate');
  });

  it('handles serials whose top bit is set and large serials', () => {
    for (const serial of [127n, 128n, 255n, 256n, 2n ** 64n + 1n]) {
      const x = new crypto.X509Certificate(ca.issue(serial).der);
      expect(BigInt('0x' + x.serialNumber)).toBe(serial);
    }
  });

  it('escapes special characters in LDAP strings', () => {
    expect(new DistinguishedName([['CN', 'a,b'], ['O', 'x']]).ldapString()).toBe('CN=a\\,b,O=x');
  });

});

describe('DER encoder', () => {
  it('encodes INTEGER minimally with a sign byte when needed', () => {
    expect(integer(0).toString('hex')).toBe('020100');
    expect(integer(127).toString('hex')).toBe('02017f');
    expect(integer(128).toString('hex')).toBe('02020080');
  });
  it('encodes OIDs', () => {
    expect(oid('1.3.101.112').toString('hex')).toBe('06032b6570');
    expect(oid('2.5.29.19').toString('hex')).toBe('0603551d13');
    expect(oid('0.9.2342.19200300.100.1.1').toString('hex')).toBe('060a0992268993f22c640101');
  });
  it('uses UTCTime before 2050 and GeneralizedTime after', () => {
    expect(time(new Date('2024-01-02T03:04:05Z')).toString('latin1').slice(2)).toBe('240102030405Z');
    expect(time(new Date('2051-01-02T03:04:05Z')).toString('latin1').slice(2)).toBe('20510102030405Z');
  });
});
