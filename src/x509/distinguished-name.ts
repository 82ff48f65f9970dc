/**
 * X.509 Names as LDAP strings, the way Dogtag writes them into certificate records.
 *
 * Dogtag fills `issuerName` with `X509CertImpl.getIssuerDN().toString()`, i.e. JSS's
 * `X500Name.toString()` through `LdapV3DNStrConverter`: RFC 4514 order (most specific RDN first),
 * "," between RDNs with no space, "+" between the AVAs of a multi-valued RDN (in encoded order),
 * upper-case keywords from JSS's attribute map (CN, OU, O, C, L, ST, E, DC, UID, ...), dotted OIDs
 * for other types, and "#" + upper-case hex of the DER value when the value is not a string. Its
 * escaping is RFC 4514 valid but slightly wider than the RFC's minimum: a backslash goes before
 * `\ , + = < > # ; "` anywhere in a value, and before leading and trailing spaces.
 *
 * Values are kept in the same form the CA itself writes, so that searches such as
 * `(issuerName=CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE)` match records written by the
 * CA and by this upgrade alike. Where JSS would throw (e.g. a countryName that is not a
 * PrintableString or UTF8String) we decode the string anyway rather than stop the upgrade.
 */
import { children, DerError, decodeObjectIdentifier, expectElement, readElement, Tag, type DerElement } from './der';

/** Keywords of JSS's default X500NameAttrMap, by OID. */
const KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.11': 'OU',
  '2.5.4.10': 'O',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.12': 'TITLE',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.3': 'MAIL',
  '1.2.840.113549.1.9.1': 'E',
  '0.9.2342.19200300.100.1.25': 'DC',
  '2.5.4.4': 'SN',
  '2.5.4.42': 'GIVENNAME',
  '2.5.4.43': 'INITIALS',
  '2.5.4.44': 'GENERATIONQUALIFIER',
  '2.5.4.46': 'DNQUALIFIER',
  '1.2.840.113549.1.9.2': 'UNSTRUCTUREDNAME',
  '1.2.840.113549.1.9.8': 'UNSTRUCTUREDADDRESS',
};

/** One attribute type and value of an RDN. */
export interface AttributeTypeAndValue {
  oid: string;
  /** The decoded string, or undefined when the value is not a character string type. */
  text?: string;
  /** The whole DER element of the value (tag, length, octets). */
  der: Buffer;
}

/** Relative distinguished names in encoded order (least specific, e.g. C or O, first). */
export type X509Name = AttributeTypeAndValue[][];

/** Parses the DER Name (SEQUENCE OF SET OF AttributeTypeAndValue) at `element`. */
export function parseName(buf: Buffer, element: DerElement): X509Name {
  if (element.tag !== Tag.Sequence) throw new DerError('a Name must be a SEQUENCE', element.start);
  return children(buf, element).map((set) => {
    if (set.tag !== Tag.Set) throw new DerError('an RDN must be a SET', set.start);
    const avas = children(buf, set);
    if (avas.length === 0) throw new DerError('empty RDN', set.start);
    return avas.map((ava) => {
      if (ava.tag !== Tag.Sequence) throw new DerError('an AttributeTypeAndValue must be a SEQUENCE', ava.start);
      const [type, value, extra] = children(buf, ava);
      if (!type || !value || extra) throw new DerError('an AttributeTypeAndValue must hold a type and one value', ava.start);
      if (type.tag !== Tag.ObjectIdentifier) throw new DerError('attribute type must be an OBJECT IDENTIFIER', type.start);
      return {
        oid: decodeObjectIdentifier(buf, type),
        text: decodeString(buf, value),
        der: buf.subarray(value.start, value.end),
      };
    });
  });
}

/** The Name as an LDAP string in Dogtag's (JSS's) form; "" for an empty Name. */
export function formatName(name: X509Name): string {
  return [...name]
    .reverse()
    .map((rdn) => rdn.map(formatAttribute).join('+'))
    .join(',');
}

function formatAttribute(ava: AttributeTypeAndValue): string {
  const keyword = KEYWORDS[ava.oid] ?? ava.oid;
  const value = ava.text === undefined ? `#${ava.der.toString('hex').toUpperCase()}` : escapeValue(ava.text);
  return `${keyword}=${value}`;
}

/** JSS LdapV3DNStrConverter.encodeString, plus \00 for NUL (which RFC 4514 requires). */
export function escapeValue(value: string): string {
  let last = value.length - 1;
  while (last >= 0 && value[last] === ' ') last--;
  let out = '';
  let i = 0;
  for (; i <= last && value[i] === ' '; i++) out += '\\ ';
  for (; i <= last; i++) {
    const c = value[i];
    if (c === '\0') out += '\\00';
    else if ('\\,+=<>#;"'.includes(c)) out += `\\${c}`;
    else out += c;
  }
  for (; i < value.length; i++) out += '\\ ';
  return out;
}

/** Character string types as JSS decodes them; undefined for any other type. */
function decodeString(buf: Buffer, element: DerElement): string | undefined {
  const octets = buf.subarray(element.valueStart, element.end);
  switch (element.tag) {
    case Tag.Utf8String:
    case Tag.GeneralString:
      return octets.toString('utf8');
    case Tag.PrintableString:
    case Tag.Ia5String:
    case Tag.VisibleString:
      return octets.toString('latin1');
    case Tag.T61String:
      // JSS maps T.61 to ISO-8859-1: right for the characters CAs actually use.
      return octets.toString('latin1');
    case Tag.BmpString:
      return decodeUtf16be(octets);
    case Tag.UniversalString:
      return decodeUcs4be(octets);
    default:
      return undefined;
  }
}

function decodeUtf16be(octets: Buffer): string {
  if (octets.length % 2) throw new DerError('BMPString of odd length', 0);
  const swapped = Buffer.from(octets);
  swapped.swap16();
  return swapped.toString('utf16le');
}

function decodeUcs4be(octets: Buffer): string {
  if (octets.length % 4) throw new DerError('UniversalString length not a multiple of 4', 0);
  let out = '';
  for (let i = 0; i < octets.length; i += 4) out += String.fromCodePoint(octets.readUInt32BE(i));
  return out;
}

/**
 * Where the issuer Name of a DER X.509 certificate is, and the end of its tbsCertificate:
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
 * signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name, ... }, ... }
 */
function issuerElement(der: Buffer): { issuer: DerElement; tbsEnd: number } {
  const certificate = expectElement(der, 0, Tag.Sequence, der.length, 'Certificate SEQUENCE');
  const tbs = expectElement(der, certificate.valueStart, Tag.Sequence, certificate.end, 'TBSCertificate SEQUENCE');
  let element = readElement(der, tbs.valueStart, tbs.end);
  if (element.tag === Tag.ContextConstructed0) element = readElement(der, element.end, tbs.end);
  if (element.tag !== Tag.Integer) throw new DerError('expected the serial number INTEGER', element.start);
  const signature = expectElement(der, element.end, Tag.Sequence, tbs.end, 'signature AlgorithmIdentifier');
  return { issuer: readElement(der, signature.end, tbs.end), tbsEnd: tbs.end };
}

/** The issuer Name of a DER X.509 certificate. */
export function certificateIssuer(der: Buffer): X509Name {
  return parseName(der, issuerElement(der).issuer);
}

/** The subject Name of a DER X.509 certificate: after the issuer, the validity, then the subject. */
export function certificateSubject(der: Buffer): X509Name {
  const { issuer, tbsEnd } = issuerElement(der);
  const validity = expectElement(der, issuer.end, Tag.Sequence, tbsEnd, 'Validity SEQUENCE');
  return parseName(der, readElement(der, validity.end, tbsEnd));
}

/** The subject of a DER certificate in the form Dogtag writes names into `issuerName`. */
export function certificateSubjectString(der: Buffer): string {
  return formatName(certificateSubject(der));
}

/** The issuer of a DER certificate as Dogtag writes it into `issuerName`. */
export function certificateIssuerString(der: Buffer): string {
  return formatName(certificateIssuer(der));
}
