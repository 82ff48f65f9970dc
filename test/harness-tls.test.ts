/**
 * The harness's TLS: a test CA whose certificates node verifies, and the shared standalone 389 DS
 * serving one of them itself, from its own NSS database (test/harness/README.md, "TLS").
 */
import * as crypto from 'node:crypto';
import { Client } from 'ldapts';
import { run } from './harness/exec';
import { CA_NICKNAME, SERVER_CERT_NICKNAME } from './harness/dirsrv-tls';
import { TlsTestCa } from './harness/tls-certificates';
import { standalone, withLdap } from './harness/test-env';
import fs from 'node:fs';

describe('the TLS test CA', () => {
  const ca = new TlsTestCa();

  it('issues a server certificate for the names asked, issued and signed by the CA', () => {
    const issued = ca.issueServer({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const caCert = new crypto.X509Certificate(ca.certificatePem);
    expect(caCert.ca).toBe(true);
    expect(issued.certificate.ca).toBe(false);
    expect(issued.certificate.checkIssued(caCert)).toBe(true);
    expect(issued.certificate.verify(caCert.publicKey)).toBe(true);
    expect(issued.certificate.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(issued.certificate.checkHost('localhost')).toBe('localhost');
    expect(issued.certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(issued.certificate.checkIP('127.0.0.2')).toBeUndefined();
    expect(issued.certificate.checkPrivateKey(crypto.createPrivateKey(issued.privateKeyPem))).toBe(true);
    expect(issued.caPem).toBe(ca.certificatePem);
  });

  it('gives a certificate the validity asked, an expired one included', () => {
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2020-02-01T00:00:00Z');
    const expired = ca.issueServer({ dnsNames: ['localhost'], notBefore, notAfter });
    expect(new Date(expired.certificate.validFrom)).toEqual(notBefore);
    expect(new Date(expired.certificate.validTo)).toEqual(notAfter);
  });

  it('never gives two certificates the same serial (NSS rejects a second one with the same issuer and serial)', () => {
    const serials = new Set(Array.from({ length: 5 }, () => ca.issueServer({ dnsNames: ['localhost'] }).certificate.serialNumber));
    expect(serials.size).toBe(5);
  });
});

describe("the standalone 389 DS's own TLS", () => {
  const ds = () => standalone();

  /** Binds as Directory Manager over `url` trusting only the run's CA, and reads the root DSE. */
  async function readRootDse(url: string, startTls: boolean): Promise<string[]> {
    const ca = fs.readFileSync(ds().tls!.caFile);
    const client = new Client({ url, connectTimeout: 5000, timeout: 10_000, tlsOptions: startTls ? undefined : { ca } });
    try {
      if (startTls) await client.startTLS({ ca, host: new URL(url).hostname });
      await client.bind(ds().rootDN, ds().rootPassword);
      const { searchEntries } = await client.search('', { scope: 'base', attributes: ['vendorName'] });
      return searchEntries.map((e) => String(e.vendorName));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  it('serves LDAPS on its secure port and StartTLS on its LDAP port, verified by address and by name', async () => {
    expect(ds().tls).toEqual({
      caFile: expect.stringMatching(/\/tls\/ca\.pem$/),
      ldapsUrl: `ldaps://127.0.0.1:${ds().securePort}`,
      startTlsUrl: `ldap+starttls://127.0.0.1:${ds().port}`,
    });
    for (const [url, startTls] of [
      [`ldaps://127.0.0.1:${ds().securePort}`, false],
      [`ldaps://localhost:${ds().securePort}`, false],
      [`ldap://127.0.0.1:${ds().port}`, true],
    ] as const) {
      expect(await readRootDse(url, startTls)).toEqual(['389 Project']);
    }
  });

  it('listens for LDAPS on its loopback address only, and keeps both certificates in its NSS database', async () => {
    const config = await withLdap(ds(), async (c) => (await c.search('cn=config', { scope: 'base', attributes: ['nsslapd-security', 'nsslapd-securelistenhost', 'nsslapd-secureport'] })).searchEntries[0]);
    expect(config['nsslapd-security']).toBe('on');
    expect(config['nsslapd-securelistenhost']).toBe('127.0.0.1');
    expect(config['nsslapd-secureport']).toBe(String(ds().securePort));
    const { stdout } = await run('certutil', ['-L', '-d', ds().configDir, '-f', `${ds().configDir}/pwdfile.txt`]);
    expect(stdout).toMatch(new RegExp(`^${SERVER_CERT_NICKNAME}\\s+u,u,u$`, 'm'));
    expect(stdout).toMatch(new RegExp(`^${CA_NICKNAME}\\s+CT,,\\s*$`, 'm'));
  });
});
