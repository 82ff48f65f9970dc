/**
 * A minimal DER reader: just enough ASN.1 to walk an X.509 certificate to its issuer Name. It never
 * copies: every element is a view (offsets) into the certificate's buffer.
 */

export class DerError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'DerError';
  }
}

/** One DER element (tag, length, value). */
export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number); multi-byte tags are refused. */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first value octet. */
  valueStart: number;
  /** Offset just past the value. */
  end: number;
}

export const Tag = {
  Integer: 0x02,
  ObjectIdentifier: 0x06,
  Utf8String: 0x0c,
  PrintableString: 0x13,
  T61String: 0x14,
  Ia5String: 0x16,
  GraphicString: 0x19,
  VisibleString: 0x1a,
  GeneralString: 0x1b,
  UniversalString: 0x1c,
  BmpString: 0x1e,
  Sequence: 0x30,
  Set: 0x31,
  /** [0] EXPLICIT, constructed: the certificate's version field. */
  ContextConstructed0: 0xa0,
} as const;

/** Reads the element starting at `offset` within `limit`. */
export function readElement(buf: Buffer, offset: number, limit = buf.length): DerElement {
  if (offset >= limit) throw new DerError('unexpected end of data', offset);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag 0x${tag.toString(16)} not supported`, offset);
  let pos = offset + 1;
  if (pos >= limit) throw new DerError('missing length', pos);
  let length = buf[pos++];
  if (length & 0x80) {
    const count = length & 0x7f;
    // Indefinite length (0x80) is BER, not DER; more than 4 length octets cannot fit a certificate.
    if (count === 0 || count > 4) throw new DerError(`unsupported length form 0x${length.toString(16)}`, pos - 1);
    if (pos + count > limit) throw new DerError('truncated length', pos);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++];
  }
  const end = pos + length;
  if (end > limit) throw new DerError(`element of ${length} bytes overruns its container`, offset);
  return { tag, start: offset, valueStart: pos, end };
}

/** Reads an element and checks its tag. */
export function expectElement(buf: Buffer, offset: number, tag: number, limit = buf.length, what = 'element'): DerElement {
  const element = readElement(buf, offset, limit);
  if (element.tag !== tag) {
    throw new DerError(`expected ${what} (tag 0x${tag.toString(16)}), found tag 0x${element.tag.toString(16)}`, offset);
  }
  return element;
}

/** The elements directly inside a constructed element (SEQUENCE, SET). */
export function children(buf: Buffer, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  let pos = parent.valueStart;
  while (pos < parent.end) {
    const child = readElement(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** Dotted-decimal form of an OBJECT IDENTIFIER's value octets. */
export function decodeObjectIdentifier(buf: Buffer, element: DerElement): string {
  if (element.end === element.valueStart) throw new DerError('empty OBJECT IDENTIFIER', element.start);
  const arcs: string[] = [];
  let value = 0n;
  let first = true;
  for (let pos = element.valueStart; pos < element.end; pos++) {
    const byte = buf[pos];
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (byte & 0x80) continue;
    if (first) {
      // The first subidentifier packs the first two arcs: 40 * X + Y (X is 0, 1 or 2).
      const x = value < 40n ? 0n : value < 80n ? 1n : 2n;
      arcs.push(x.toString(), (value - 40n * x).toString());
      first = false;
    } else {
      arcs.push(value.toString());
    }
    value = 0n;
  }
  if (buf[element.end - 1] & 0x80) throw new DerError('truncated OBJECT IDENTIFIER', element.start);
  return arcs.join('.');
}
