/**
 * Certificates for 389 DS's own TLS in tests: a throw-away CA, and server certificates with the
 * names (subjectAltName) and the validity a test chooses, so that a test can make a certificate
 * that verifies, one for other names, and one that has expired. ECDSA P-256 with SHA-256, which
 * NSS serves and node verifies. Made in-process with the X.509 encoder of certificates.ts.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { DistinguishedName, extension, signCertificate, type SignatureAlgorithm } from './certificates';
import { boolean, oid, octetString, sequence, tlv } from './der';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extendedKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** ecdsa-with-SHA256 (RFC 5758: no parameters); crypto.sign gives the DER Ecdsa-Sig-Value. */
const ECDSA_SHA256: SignatureAlgorithm = { identifier: sequence(oid(OID.ecdsaWithSha256)), digest: 'sha256' };

const DAY_MS = 86_400_000;

export interface ServerCertificateOptions {
  /** dNSName entries of subjectAltName, e.g. ['localhost']. */
  dnsNames?: string[];
  /** iPAddress entries of subjectAltName (IPv4), e.g. ['127.0.0.1']. */
  ipAddresses?: string[];
  /** Default: an hour ago (clocks of a test machine may differ by a little). */
  notBefore?: Date;
  /** Default: 30 days after notBefore. */
  notAfter?: Date;
}

/** A server's key and certificate, PEM, as 389 DS imports them (openssl pkcs12, then pk12util). */
export interface ServerCertificate {
  certificatePem: string;
  /** PKCS#8, unencrypted: it lives in a temporary folder only until the NSS database holds it. */
  privateKeyPem: string;
  /** The PEM certificate of the CA that issued it. */
  caPem: string;
  certificate: crypto.X509Certificate;
}

/** A CA of the test's own: only what trusts its certificate (ca_file, --ca-file) trusts what it issues. */
export class TlsTestCa {
  readonly name: DistinguishedName;
  readonly certificatePem: string;
  private readonly privateKey: crypto.KeyObject;
  private readonly keyId: Buffer;

  constructor(commonName = 'pki-db-upgrade test CA') {
    this.name = new DistinguishedName([
      ['CN', commonName],
      ['O', 'pki-db-upgrade tests'],
    ]);
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    this.keyId = keyIdentifier(spki);
    const now = Date.now();
    const der = signCertificate(
      {
        algorithm: ECDSA_SHA256,
        serial: randomSerial(),
        issuer: this.name.derName(),
        subject: this.name.derName(),
        notBefore: wholeSeconds(now - DAY_MS),
        notAfter: wholeSeconds(now + 10 * 365 * DAY_MS),
        spki,
        extensions: extensions(
          extension(OID.basicConstraints, true, sequence(boolean(true))),
          // keyCertSign + cRLSign
          extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x01, 0x06])),
          extension(OID.subjectKeyIdentifier, false, octetString(this.keyId)),
        ),
      },
      this.privateKey,
    );
    this.certificatePem = pem(der);
  }

  /** A TLS server certificate (serverAuth) for the given names, valid when the options say. */
  issueServer(opts: ServerCertificateOptions): ServerCertificate {
    const dnsNames = opts.dnsNames ?? [];
    const ipAddresses = opts.ipAddresses ?? [];
    if (dnsNames.length + ipAddresses.length === 0) throw new Error('a server certificate needs at least one name');
    const subject = new DistinguishedName([
      ['CN', dnsNames[0] ?? ipAddresses[0]],
      ['O', 'pki-db-upgrade tests'],
    ]);
    return this.issue(subject, opts, OID.serverAuth, [extension(OID.subjectAltName, false, subjectAltName(dnsNames, ipAddresses))]);
  }

  /**
   * A TLS client certificate (clientAuth), as Dogtag's subsystem certificate is used to bind to
   * its database (SslClientAuth): no subjectAltName, the subject the test names.
   */
  issueClient(opts: ClientCertificateOptions): ServerCertificate {
    return this.issue(new DistinguishedName(opts.subject), opts, OID.clientAuth, []);
  }

  /** An end-entity certificate with a new key: ECDSA, digitalSignature, the one extended key usage. */
  private issue(subject: DistinguishedName, validity: { notBefore?: Date; notAfter?: Date }, keyPurpose: string, more: Buffer[]): ServerCertificate {
    const notBefore = validity.notBefore ?? new Date(Date.now() - 3_600_000);
    const notAfter = validity.notAfter ?? new Date(notBefore.getTime() + 30 * DAY_MS);
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = signCertificate(
      {
        algorithm: ECDSA_SHA256,
        serial: randomSerial(),
        issuer: this.name.derName(),
        subject: subject.derName(),
        notBefore: wholeSeconds(notBefore.getTime()),
        notAfter: wholeSeconds(notAfter.getTime()),
        spki: publicKey.export({ type: 'spki', format: 'der' }),
        extensions: extensions(
          extension(OID.basicConstraints, true, sequence()),
          // digitalSignature: what an ECDSA key does in a TLS handshake
          extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x07, 0x80])),
          extension(OID.extendedKeyUsage, false, sequence(oid(keyPurpose))),
          ...more,
          // [0] keyIdentifier: the CA's subjectKeyIdentifier
          extension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, this.keyId))),
        ),
      },
      this.privateKey,
    );
    return {
      certificatePem: pem(der),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      caPem: this.certificatePem,
      certificate: new crypto.X509Certificate(der),
    };
  }
}

export interface ClientCertificateOptions {
  /** The subject, most specific RDN first, e.g. [['CN', 'Subsystem Certificate'], ['OU', 'pki-tomcat'], ['O', 'EXAMPLE']]. */
  subject: [string, string][];
  notBefore?: Date;
  notAfter?: Date;
}

/** [3] EXPLICIT Extensions. */
function extensions(...items: Buffer[]): Buffer {
  return tlv(0xa3, sequence(...items));
}

/** GeneralNames: dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 bytes for IPv4). */
function subjectAltName(dnsNames: string[], ipAddresses: string[]): Buffer {
  const ips = ipAddresses.map((ip) => {
    if (net.isIPv4(ip)) return tlv(0x87, Buffer.from(ip.split('.').map(Number)));
    throw new Error(`${ip}: only IPv4 addresses are supported here`);
  });
  return sequence(...dnsNames.map((name) => tlv(0x82, Buffer.from(name, 'ascii'))), ...ips);
}

/** A key identifier from the SubjectPublicKeyInfo (RFC 5280 4.2.1.2 leaves the method open). */
function keyIdentifier(spki: Buffer): Buffer {
  return crypto.createHash('sha1').update(spki).digest();
}

/** 16 random bytes, positive: no two certificates of a run share issuer and serial (NSS refuses that). */
function randomSerial(): bigint {
  const bytes = crypto.randomBytes(16);
  bytes[0] &= 0x7f;
  return BigInt(`0x${bytes.toString('hex')}`);
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
