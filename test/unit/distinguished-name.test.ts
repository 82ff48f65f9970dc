/** Issuer names from DER certificates, in the LDAP string form Dogtag (JSS) writes to issuerName. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DerError } from '../../src/x509/der';
import { certificateIssuerString, escapeValue } from '../../src/x509/distinguished-name';
import { certificateWithIssuer, name, oid, printable, seq, tlv, utf8 } from '../support/der-builder';

const CN = '2.5.4.3';
const OU = '2.5.4.11';
const O = '2.5.4.10';
const C = '2.5.4.6';

/** A self-signed certificate made by openssl with the given -subj (so issuer = subject). */
function opensslCertificate(dir: string, subject: string): Buffer {
  const out = path.join(dir, `cert-${Math.random().toString(36).slice(2)}.der`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'key.pem'),
      '-subj', subject, '-utf8', '-days', '1', '-outform', 'DER', '-out', out],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return readFileSync(out);
}

describe('issuer name of a certificate made by openssl', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pkidbu-dn-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is written most specific RDN first, comma-separated without spaces, as Dogtag does', () => {
    const der = opensslCertificate(dir, '/O=EXAMPLE/OU=pki-tomcat/CN=CA Signing Certificate');
    expect(certificateIssuerString(der)).toBe('CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE');
  });

  it('escapes special characters, leading and trailing spaces, and keeps multi-valued RDNs in encoded order', () => {
    const der = opensslCertificate(dir, '/C=US/O=EXAMPLE, Inc./OU=pki-tomcat+UID=x#1/CN= CA Signing Certificate="q" ');
    expect(certificateIssuerString(der)).toBe(
      'CN=\\ CA Signing Certificate\\=\\"q\\"\\ ,OU=pki-tomcat+UID=x\\#1,O=EXAMPLE\\, Inc.,C=US',
    );
  });

  it('keeps non-ASCII characters as they are (UTF-8 in LDAP)', () => {
    const der = opensslCertificate(dir, '/O=Société Générale/CN=Zertifizierungsstelle Ü');
    expect(certificateIssuerString(der)).toBe('CN=Zertifizierungsstelle Ü,O=Société Générale');
  });

  it('names e-mail, domain component and state with the keywords JSS uses', () => {
    const der = opensslCertificate(dir, '/DC=com/DC=example/ST=North Carolina/L=Raleigh/emailAddress=ca@example.com/CN=CA');
    expect(certificateIssuerString(der)).toBe('CN=CA,E=ca@example.com,L=Raleigh,ST=North Carolina,DC=example,DC=com');
  });
});

describe('issuer name of hand-made DER', () => {
  it('works for a version 1 certificate (no [0] version field)', () => {
    const der = certificateWithIssuer(name([[CN, printable('Old CA')]], [[O, printable('X')]]), { withVersion: false });
    expect(certificateIssuerString(der)).toBe('O=X,CN=Old CA');
  });

  it('decodes BMPString, UniversalString and T61String', () => {
    const bmp = Buffer.from('Ünïcode', 'utf16le').swap16();
    const ucs4 = Buffer.alloc(8);
    ucs4.writeUInt32BE(0x1f512, 0); // 🔒, outside the BMP
    ucs4.writeUInt32BE(0x41, 4);
    const der = certificateWithIssuer(
      name([[C, printable('DE')]], [[O, tlv(0x14, Buffer.from('Caf\xe9', 'latin1'))]], [[OU, tlv(0x1c, ucs4)]], [[CN, tlv(0x1e, bmp)]]),
    );
    expect(certificateIssuerString(der)).toBe('CN=Ünïcode,OU=🔒A,O=Café,C=DE');
  });

  it('writes unknown attribute types as dotted OIDs and non-string values as # and upper-case hex', () => {
    const der = certificateWithIssuer(name([['1.3.6.1.4.1.99999.1', tlv(0x04, Buffer.from([0xab, 0x01]))]], [[CN, utf8('x')]]));
    expect(certificateIssuerString(der)).toBe('CN=x,1.3.6.1.4.1.99999.1=#0402AB01');
  });

  it('decodes OIDs with large arcs and a first arc of 2', () => {
    const der = certificateWithIssuer(name([['2.999.1234567890123', utf8('v')]]));
    expect(certificateIssuerString(der)).toBe('2.999.1234567890123=v');
  });

  it('gives an empty string for an empty issuer Name', () => {
    expect(certificateIssuerString(certificateWithIssuer(seq()))).toBe('');
  });

  it('handles long-form lengths (names longer than 127 bytes)', () => {
    const long = 'A'.repeat(300);
    expect(certificateIssuerString(certificateWithIssuer(name([[CN, utf8(long)]])))).toBe(`CN=${long}`);
  });

  it('refuses truncated or malformed input with a DerError', () => {
    const der = certificateWithIssuer(name([[CN, utf8('x')]]));
    expect(() => certificateIssuerString(der.subarray(0, 20))).toThrow(DerError);
    expect(() => certificateIssuerString(Buffer.from('not a certificate'))).toThrow(DerError);
    expect(() => certificateIssuerString(certificateWithIssuer(seq(seq(oid(CN)))))).toThrow(/RDN must be a SET/);
  });
});

describe('escapeValue', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b+c=d<e>f#g;h"i\\j', 'a\\,b\\+c\\=d\\<e\\>f\\#g\\;h\\"i\\\\j'],
    ['  two leading', '\\ \\ two leading'],
    ['trailing  ', 'trailing\\ \\ '],
    ['   ', '\\ \\ \\ '],
    ['nul\0', 'nul\\00'],
  ])('%j → %j', (input, expected) => {
    expect(escapeValue(input)).toBe(expected);
  });
});
