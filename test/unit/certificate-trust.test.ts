/**
 * What a certificate that did not verify comes to (src/ldap/certificate-trust.ts), for the cases
 * the real 389 DS tests (test/tls-connection.test.ts) do not make: a certificate not valid yet, an
 * expired CA behind a valid server certificate, one that does not verify for other reasons, and
 * errors that are no certificate's.
 */
import { X509Certificate } from 'node:crypto';
import { ServerCertificateError } from '../../src/core/errors';
import { certificateError } from '../../src/ldap/certificate-trust';
import { TlsTestCa } from '../harness/tls-certificates';

const ca = new TlsTestCa('unit CA');
const url = 'ldaps://ca1.example.com:636';
const nodeError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('certificateError', () => {
  it('a certificate not valid yet: when it starts, and to check the clocks', () => {
    const from = new Date('2031-05-01T10:00:00Z');
    const peer = ca.issueServer({ dnsNames: ['ca1.example.com'], notBefore: from }).certificate;
    const err = certificateError(nodeError('CERT_NOT_YET_VALID'), { url, host: 'ca1.example.com', peer })!;
    expect(err).toBeInstanceOf(ServerCertificateError);
    expect(err.problem).toBe('not-yet-valid');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`the certificate of 389 DS at ${url} is not valid yet: it is valid from 2031-05-01T10:00:00Z`);
    expect(err.hint).toContain('check the clock of this host');
  });

  it("an expired CA behind a server certificate still valid: says so, not that the server's expired", () => {
    const peer = ca.issueServer({ dnsNames: ['ca1.example.com'] }).certificate;
    const err = certificateError(nodeError('CERT_HAS_EXPIRED'), { url, host: 'ca1.example.com', peer })!;
    expect(err.problem).toBe('expired');
    expect(err.message).toMatch(/^the certificate chain of 389 DS at ldaps:\/\/ca1\.example\.com:636 holds an expired CA certificate \(the server's own is valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/);
  });

  it('without the certificate (node did not show it), each problem still has its own words', () => {
    const words = (code: string) => certificateError(nodeError(code), { url, host: 'ca1.example.com' })!.message;
    expect(words('UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toBe(`the certificate of 389 DS at ${url} is not trusted: the CA that issued it is not among node's built-in CAs, and no CA file is given (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`);
    expect(words('ERR_TLS_CERT_ALTNAME_INVALID')).toBe(`the certificate of 389 DS at ${url} is not for ca1.example.com, the name connected to: it names other names`);
    expect(words('CERT_HAS_EXPIRED')).toBe(`the certificate of 389 DS at ${url} has expired`);
  });

  it('a certificate that does not verify for another reason: node\'s code and words, and how to check it', () => {
    const err = certificateError(nodeError('INVALID_PURPOSE', 'unsupported certificate purpose'), { url, host: 'ca1.example.com' })!;
    expect(err.problem).toBe('invalid');
    expect(err.message).toBe(`the certificate of 389 DS at ${url} does not verify (INVALID_PURPOSE: unsupported certificate purpose)`);
    expect(err.hint).toContain('certutil -V -u V');
  });

  it('is undefined for what is no certificate failure', () => {
    for (const err of [nodeError('ECONNREFUSED'), nodeError('ECONNRESET'), Object.assign(new Error('invalid credentials'), { code: 49 }), new Error('timeout')]) {
      expect(certificateError(err, { url, host: 'ca1.example.com', peer: new X509Certificate(ca.certificatePem) })).toBeUndefined();
    }
  });
});
