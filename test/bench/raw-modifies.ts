/**
 * The server's own ceiling for the backfill's writes: the same replace of issuerName on every
 * record, pre-encoded and sent over one raw socket with `depth` modifies in flight, so that the
 * client does next to no work. What the tool reaches against this tells how much of the server's
 * capacity is left on the table (bench only; the tool itself goes through ldapts).
 */
import * as net from 'node:net';
import type { DsInstance } from '../harness/dirsrv';
import { certRecordDN } from '../harness/pki-database';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), length(body.length), body]);
const octets = (tag: number, s: string) => tlv(tag, Buffer.from(s, 'utf8'));
function integer(tag: number, v: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}
const message = (id: number, op: Buffer) => tlv(0x30, Buffer.concat([integer(0x02, id), op]));

const simpleBind = (id: number, dn: string, password: string) =>
  message(id, tlv(0x60, Buffer.concat([integer(0x02, 3), octets(0x04, dn), octets(0x80, password)])));

/** ModifyRequest: replace `attribute` with `value` on `dn`. */
const replace = (id: number, dn: string, attribute: string, value: string) =>
  message(
    id,
    tlv(0x66, Buffer.concat([octets(0x04, dn), tlv(0x30, tlv(0x30, Buffer.concat([integer(0x0a, 2), tlv(0x30, Buffer.concat([octets(0x04, attribute), tlv(0x31, octets(0x04, value))]))])))])),
  );

/** Reads one TLV header at `at`: [tag, body start, body end], or undefined when incomplete. */
function header(buf: Buffer, at: number): [number, number, number] | undefined {
  if (buf.length < at + 2) return undefined;
  let len = buf[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const k = len & 0x7f;
    if (buf.length < start + k) return undefined;
    len = 0;
    for (let i = 0; i < k; i++) len = len * 256 + buf[start + i];
    start += k;
  }
  return [buf[at], start, start + len];
}

/** resultCode of a complete LDAPMessage holding an LDAPResult (bind or modify response). */
function resultCode(pdu: Buffer): number {
  const id = header(pdu, header(pdu, 0)![1])!; // messageID
  const op = header(pdu, id[2])!; // [APPLICATION n] response
  const code = header(pdu, op[1])!; // ENUMERATED resultCode
  return pdu[code[2] - 1];
}

export interface RawModifyTarget {
  port: number;
  bindDN: string;
  password: string;
  /** DNs to modify, in order. */
  dns: string[];
  attribute: string;
  value: string;
  depth: number;
}

/** Sends every modify with `depth` in flight; resolves with the elapsed ms once all succeeded. */
export function rawModifies(t: RawModifyTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(t.port, '127.0.0.1').setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    let next = 0;
    let inFlight = 0;
    let bound = false;
    let started = 0n;
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    const refill = () => {
      const out: Buffer[] = [];
      while (inFlight < t.depth && next < t.dns.length) {
        out.push(replace(next + 2, t.dns[next], t.attribute, t.value));
        next++;
        inFlight++;
      }
      if (out.length) socket.write(Buffer.concat(out));
    };
    socket.on('connect', () => socket.write(simpleBind(1, t.bindDN, t.password)));
    socket.on('error', fail);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const h = header(pending, 0);
        if (!h || pending.length < h[2]) break;
        const code = resultCode(pending.subarray(0, h[2]));
        pending = pending.subarray(h[2]);
        if (code !== 0) return fail(new Error(`raw modify: result code ${code}`));
        if (!bound) {
          bound = true;
          started = process.hrtime.bigint();
        } else inFlight--;
      }
      if (bound && next === t.dns.length && inFlight === 0) {
        socket.end();
        resolve(Number(process.hrtime.bigint() - started) / 1e6);
        return;
      }
      refill();
    });
  });
}

/** The backfill's writes on records 1..n of `suffix` (as the harness names them), 64 in flight, as Directory Manager. */
export function rawIssuerNameBackfill(ds: DsInstance, suffix: string, n: number, issuerName: string): Promise<number> {
  return rawModifies({
    port: ds.port,
    bindDN: ds.rootDN,
    password: ds.rootPassword,
    dns: Array.from({ length: n }, (_, i) => certRecordDN(suffix, BigInt(i + 1))),
    attribute: 'issuerName',
    value: issuerName,
    depth: 64,
  });
}
