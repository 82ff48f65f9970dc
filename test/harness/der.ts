/**
 * A minimal DER encoder: just the ASN.1 types an X.509 certificate needs. Hand-written because the
 * harness must generate tens of thousands of certificates per second without extra dependencies.
 */

function encodeLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let n = len; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag-length-value with the given (single-byte) tag. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = content.length === 1 ? content[0] : Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
export const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printableString = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'ascii'));
export const octetString = (b: Buffer): Buffer => tlv(0x04, b);
export const boolean = (v: boolean): Buffer => Buffer.from([0x01, 0x01, v ? 0xff : 0x00]);
/** BIT STRING with no unused bits (signatures, keys). */
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);
/** [n] EXPLICIT, constructed context-specific tag. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);

/** INTEGER from a non-negative bigint (minimal two's complement, so a leading 0 if the top bit is set). */
export function integer(value: bigint | number): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new Error('negative INTEGER not supported');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

const oidCache = new Map<string, Buffer>();

export function oid(dotted: string): Buffer {
  const hit = oidCache.get(dotted);
  if (hit) return hit;
  const parts = dotted.split('.').map((p) => Number.parseInt(p, 10));
  const bytes = [40 * parts[0] + parts[1]];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [];
    let n = part;
    do {
      chunk.unshift(n & 0x7f);
      n = Math.floor(n / 128);
    } while (n > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i] |= 0x80;
    bytes.push(...chunk);
  }
  const out = tlv(0x06, Buffer.from(bytes));
  oidCache.set(dotted, out);
  return out;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** RFC 5280: UTCTime for years 1950-2049, GeneralizedTime otherwise; always UTC with seconds. */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${pad(y % 100)}${rest}`, 'ascii'));
  return tlv(0x18, Buffer.from(`${pad(y, 4)}${rest}`, 'ascii'));
}
