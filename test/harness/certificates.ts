/**
 * Real X.509 v3 certificates (DER) generated in-process, fast enough for databases of tens of
 * thousands of certificate records (Ed25519 signatures; one CA key, a few reused subject keys).
 *
 * The CA is "CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE" in LDAP string form (most specific
 * RDN first, RFC 4514), which is what Dogtag stores in issuerName. In the DER Name the RDNs are in
 * the opposite order: O, OU, CN. Certificates parse with node's crypto.X509Certificate and verify
 * with the CA's public key.
 */
import * as crypto from 'node:crypto';
import { bitString, boolean, explicit, integer, octetString, oid, sequence, set, time, utf8String } from './der';

const OID = {
  ed25519: '1.3.101.112',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  userId: '0.9.2342.19200300.100.1.1',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
} as const;

const SHORT_NAMES: Record<string, string> = {
  CN: OID.commonName,
  O: OID.organization,
  OU: OID.organizationalUnit,
  UID: OID.userId,
};

/** One RDN of a distinguished name, e.g. ['CN', 'CA Signing Certificate']. */
export type Rdn = [type: keyof typeof SHORT_NAMES | string, value: string];

/**
 * A name given most-specific-first, as LDAP writes it: [['CN', x], ['OU', y], ['O', z]].
 * ldapString() and derName() are the two views of the same name.
 */
export class DistinguishedName {
  constructor(readonly rdns: Rdn[]) {}

  /** "CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE" (values escaped per RFC 4514). */
  ldapString(): string {
    return this.rdns.map(([t, v]) => `${t}=${escapeRdnValue(v)}`).join(',');
  }

  /** DER Name: RDNSequence from the least specific RDN (O) to the most specific (CN). */
  derName(): Buffer {
    const rdnSets = [...this.rdns].reverse().map(([t, v]) => {
      const typeOid = SHORT_NAMES[t.toUpperCase()];
      if (!typeOid) throw new Error(`unsupported name attribute ${t}`);
      return set(sequence(oid(typeOid), utf8String(v)));
    });
    return sequence(...rdnSets);
  }
}

function escapeRdnValue(v: string): string {
  let out = v.replace(/[\\,+"<>;=]/g, (c) => '\\' + c);
  if (out.startsWith('#') || out.startsWith(' ')) out = '\\' + out;
  if (out.endsWith(' ')) out = out.slice(0, -1) + '\\ ';
  return out;
}

export const DEFAULT_CA_NAME = new DistinguishedName([
  ['CN', 'CA Signing Certificate'],
  ['OU', 'pki-tomcat'],
  ['O', 'EXAMPLE'],
]);

/** How a certificate is signed: the AlgorithmIdentifier written into it and the digest crypto.sign uses. */
export interface SignatureAlgorithm {
  identifier: Buffer;
  digest: string | null;
}

/** Ed25519 (the repository records: fastest to sign by the ten thousand). */
export const ED25519: SignatureAlgorithm = { identifier: sequence(oid(OID.ed25519)), digest: null };

/** One X.509 v3 Extension: extnID, critical (only when true, DER), extnValue. */
export function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

// KeyUsage BIT STRINGs (first byte = unused bits): digitalSignature; keyCertSign + cRLSign.
const EE_EXTENSIONS = explicit(
  3,
  sequence(
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x07, 0x80])),
  ),
);
const CA_EXTENSIONS = explicit(
  3,
  sequence(
    extension(OID.basicConstraints, true, sequence(boolean(true))),
    extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x01, 0x06])),
  ),
);

export interface TbsFields {
  algorithm: SignatureAlgorithm;
  serial: bigint;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer;
}

function tbsCertificate(f: TbsFields): Buffer {
  return sequence(
    explicit(0, integer(2)), // version v3
    integer(f.serial),
    f.algorithm.identifier,
    f.issuer,
    sequence(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    f.extensions,
  );
}

/** The DER certificate: the TBSCertificate of `f`, signed with `key` (the issuer's private key). */
export function signCertificate(f: TbsFields, key: crypto.KeyObject): Buffer {
  const tbs = tbsCertificate(f);
  const signature = crypto.sign(f.algorithm.digest, tbs, key);
  return sequence(tbs, f.algorithm.identifier, bitString(signature));
}

export interface GeneratedCertificate {
  serial: bigint;
  der: Buffer;
  subject: DistinguishedName;
  issuer: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateAuthorityOptions {
  name?: DistinguishedName;
  /** How many subject key pairs to rotate through (key generation is the slow part). */
  subjectKeys?: number;
  /** Fixed clock for reproducible validity periods. */
  now?: Date;
}

/** A throw-away CA that issues end-entity certificates quickly. */
export class CertificateAuthority {
  readonly name: DistinguishedName;
  readonly publicKey: crypto.KeyObject;
  /** The CA's self-signed certificate (serial 1). */
  readonly certificate: Buffer;
  private readonly caValidity: { notBefore: Date; notAfter: Date };
  private readonly privateKey: crypto.KeyObject;
  private readonly issuerDer: Buffer;
  private readonly subjectSpkis: Buffer[];
  private readonly now: Date;

  constructor(opts: CertificateAuthorityOptions = {}) {
    this.name = opts.name ?? DEFAULT_CA_NAME;
    this.now = opts.now ?? new Date();
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    this.publicKey = publicKey;
    this.privateKey = privateKey;
    this.issuerDer = this.name.derName();
    this.subjectSpkis = Array.from({ length: Math.max(1, opts.subjectKeys ?? 4) }, () =>
      crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }),
    );
    const notBefore = new Date(Math.floor(this.now.getTime() / 1000) * 1000 - 365 * 86_400_000);
    const notAfter = new Date(notBefore.getTime() + 21 * 365 * 86_400_000);
    this.caValidity = { notBefore, notAfter };
    this.certificate = signCertificate(
      {
        algorithm: ED25519,
        serial: 1n,
        issuer: this.issuerDer,
        subject: this.issuerDer,
        notBefore,
        notAfter,
        spki: publicKey.export({ type: 'spki', format: 'der' }),
        extensions: CA_EXTENSIONS,
      },
      this.privateKey,
    );
  }

  /** The CA's own certificate as a record (Dogtag keeps its signing certificate in the repository). */
  ownCertificate(): GeneratedCertificate {
    return { serial: 1n, der: this.certificate, subject: this.name, issuer: this.name, ...this.caValidity };
  }

  /** Issues an end-entity certificate; subject defaults to CN=user<serial>,OU=people,O=EXAMPLE. */
  issue(serial: bigint, subject?: DistinguishedName): GeneratedCertificate {
    const subj = subject ?? defaultSubject(serial);
    // Spread validity a little so records are not all identical; always covers "now".
    const offsetDays = Number(serial % 300n);
    // Whole seconds: DER times have no fractions, so records and certificates agree exactly.
    const notBefore = new Date(Math.floor(this.now.getTime() / 1000) * 1000 - (offsetDays + 1) * 86_400_000);
    const notAfter = new Date(notBefore.getTime() + 2 * 365 * 86_400_000);
    const der = signCertificate(
      {
        algorithm: ED25519,
        serial,
        issuer: this.issuerDer,
        subject: subj.derName(),
        notBefore,
        notAfter,
        spki: this.subjectSpkis[Number(serial % BigInt(this.subjectSpkis.length))],
        extensions: EE_EXTENSIONS,
      },
      this.privateKey,
    );
    return { serial, der, subject: subj, issuer: this.name, notBefore, notAfter };
  }
}

export function defaultSubject(serial: bigint): DistinguishedName {
  return new DistinguishedName([
    ['CN', `user${serial}`],
    ['OU', 'people'],
    ['O', 'EXAMPLE'],
  ]);
}

/**
 * The issuerName a correct backfill writes for a certificate: its issuer in LDAP string form,
 * taken from the DER itself. node prints the issuer one RDN per line, least specific first
 * ("O=EXAMPLE\nOU=pki-tomcat\nCN=CA Signing Certificate"); we reverse and join with commas.
 * Values containing special characters are not escaped here; generated names have none.
 */
export function expectedIssuerName(der: Buffer): string {
  const cert = new crypto.X509Certificate(der);
  return cert.issuer.split('\n').filter(Boolean).reverse().join(',');
}
