/**
 * A fake LDAP server on a loopback address, standing for "a server of the PKI user's choosing":
 * it records every bind (DN, password, whether TLS protected it), accepts it, and then either never
 * answers again (`hang`) or answers every request with an error whose text the test chooses
 * (`error`, e.g. with terminal escapes and newlines). It speaks StartTLS (and LDAPS with `ldaps`)
 * when given a key and certificate. Just enough BER to do that.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface RecordedBind {
  dn: string;
  password: string;
  tls: boolean;
}

export interface FakeLdapOptions {
  host: string;
  afterBind: 'hang' | 'error';
  errorMessage?: string;
  tls?: { key: Buffer; cert: Buffer };
  /** TLS from the first byte (ldaps://) instead of StartTLS. */
  ldaps?: boolean;
}

const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
/** Request tag → response tag for the requests answered in `error` mode. */
const RESPONSES: Record<number, number> = { 0x63: 0x65, 0x66: 0x67, 0x68: 0x69, 0x4a: 0x6b, 0x6c: 0x6d, 0x77: 0x78 };

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function result(messageId: Buffer, tag: number, code: number, message: string): Buffer {
  const op = tlv(tag, Buffer.concat([tlv(0x0a, Buffer.from([code])), tlv(0x04, Buffer.alloc(0)), tlv(0x04, Buffer.from(message, 'utf8'))]));
  return tlv(0x30, Buffer.concat([messageId, op]));
}

interface Element {
  tag: number;
  start: number;
  end: number;
}

function read(buf: Buffer, offset: number): Element | undefined {
  if (buf.length < offset + 2) return undefined;
  const first = buf[offset + 1];
  let header = 2;
  let length = first;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (buf.length < offset + 2 + n) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i];
    header += n;
  }
  if (buf.length < offset + header + length) return undefined;
  return { tag: buf[offset], start: offset + header, end: offset + header + length };
}

export class FakeLdapServer {
  readonly binds: RecordedBind[] = [];
  connections = 0;
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly options: FakeLdapOptions) {}

  async start(): Promise<number> {
    const o = this.options;
    this.server = o.ldaps && o.tls ? tls.createServer({ key: o.tls.key, cert: o.tls.cert }, (s) => this.accept(s, true)) : net.createServer((s) => this.accept(s, false));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, o.host, () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }

  /** Every password any bind carried. */
  passwords(): string[] {
    return this.binds.map((b) => b.password);
  }

  private accept(socket: net.Socket, secure: boolean): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    let pending = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const message = read(pending, 0);
        if (!message) return;
        const body = pending.subarray(0, message.end);
        pending = pending.subarray(message.end);
        if (this.handle(socket, body, message, secure, onData)) return; // the socket was upgraded
      }
    };
    socket.on('data', onData);
  }

  /** Answers one message; true when the connection switched to TLS (reading stops here). */
  private handle(socket: net.Socket, buf: Buffer, message: Element, secure: boolean, onData: (b: Buffer) => void): boolean {
    const id = read(buf, message.start);
    const op = id && read(buf, id.end);
    if (!id || !op) {
      socket.destroy(); // not LDAP (e.g. a TLS hello where none was agreed)
      return true;
    }
    const messageId = buf.subarray(message.start, id.end);
    if (op.tag === 0x60) {
      const version = read(buf, op.start)!;
      const name = read(buf, version.end)!;
      const auth = read(buf, name.end)!;
      this.binds.push({ dn: buf.toString('utf8', name.start, name.end), password: buf.toString('utf8', auth.start, auth.end), tls: secure });
      socket.write(result(messageId, 0x61, 0, ''));
      return false;
    }
    if (op.tag === 0x42) {
      socket.end();
      return false;
    }
    if (op.tag === 0x77 && this.options.tls && !secure) {
      const oid = read(buf, op.start)!;
      if (buf.toString('latin1', oid.start, oid.end) === STARTTLS_OID) {
        socket.write(result(messageId, 0x78, 0, ''));
        socket.off('data', onData);
        const secured = new tls.TLSSocket(socket, { isServer: true, key: this.options.tls.key, cert: this.options.tls.cert });
        this.accept(secured, true);
        this.connections--; // the same connection
        return true;
      }
    }
    if (this.options.afterBind === 'error' && RESPONSES[op.tag]) {
      socket.write(result(messageId, RESPONSES[op.tag], 1, this.options.errorMessage ?? 'operations error'));
    }
    return false; // hang: never answered
  }
}
