/** A tiny DER encoder for tests that need names and certificates openssl will not produce. */

export function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else length = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, value]);
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const subs = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const sub of subs) {
    const chunk: number[] = [];
    let v = sub;
    do {
      chunk.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i] |= 0x80;
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

export const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
export const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
export const printable = (s: string) => tlv(0x13, Buffer.from(s, 'latin1'));
export const ava = (type: string, value: Buffer) => seq(oid(type), value);

/** Name from RDNs in encoded order, each RDN a list of [oid, encoded value]. */
export function name(...rdns: [string, Buffer][][]): Buffer {
  return seq(...rdns.map((rdn) => set(...rdn.map(([type, value]) => ava(type, value)))));
}

/** A structurally valid (unsigned) certificate with the given issuer Name. */
export function certificateWithIssuer(issuer: Buffer, options: { withVersion?: boolean } = {}): Buffer {
  const version = tlv(0xa0, tlv(0x02, Buffer.from([2])));
  const serial = tlv(0x02, Buffer.from([0x01, 0x23]));
  const algorithm = seq(oid('1.2.840.10045.4.3.2'));
  const validity = seq(tlv(0x17, Buffer.from('250101000000Z')), tlv(0x17, Buffer.from('350101000000Z')));
  const tbs = seq(...(options.withVersion === false ? [] : [version]), serial, algorithm, issuer, validity, name());
  return seq(tbs, algorithm, tlv(0x03, Buffer.from([0, 1, 2, 3])));
}
