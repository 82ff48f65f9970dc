/**
 * A TCP proxy on 127.0.0.1 in front of a real 389 DS, to make the server look slow, hung, or
 * answer errors it does not normally give, while everything else is the real server:
 *  - delayMs: every chunk the server sends is held that long (order kept): a slow server;
 *  - stall(): from now on nothing the server sends is passed on (a hung server);
 *  - inject(fn): each write request (add, modify, delete, modrdn) is shown to fn first; when it
 *    returns a result code, the request is not forwarded and the client gets that result instead
 *    (e.g. 51 busy, 53 unwilling to perform), as the server would send it.
 * It reads just enough BER to cut the client's stream into LDAP messages and find each write's
 * message id and DN.
 */
import net from 'node:net';

export type WriteOperation = 'add' | 'modify' | 'delete' | 'modrdn';
export type Injector = (op: { type: WriteOperation; dn: string }) => number | undefined;

const REQUESTS: Record<number, { type: WriteOperation; response: number }> = {
  0x68: { type: 'add', response: 0x69 },
  0x66: { type: 'modify', response: 0x67 },
  0x4a: { type: 'delete', response: 0x6b },
  0x6c: { type: 'modrdn', response: 0x6d },
};

const MESSAGES: Record<number, string> = {
  50: 'Insufficient access (injected by the test proxy)',
  51: 'Server is busy (injected by the test proxy)',
  52: 'Server is unavailable (injected by the test proxy)',
  53: 'Server is unwilling to perform (injected by the test proxy)',
};

/** Tag, header length and content length of the BER element at `offset`, or undefined if incomplete. */
function element(buf: Buffer, offset: number): { tag: number; header: number; length: number } | undefined {
  if (buf.length < offset + 2) return undefined;
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (first < 0x80) return { tag, header: 2, length: first };
  const n = first & 0x7f;
  if (buf.length < offset + 2 + n) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i];
  return { tag, header: 2 + n, length };
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

/** An LDAPResult response to message `messageId` (its INTEGER element as received). */
function resultMessage(messageIdElement: Buffer, responseTag: number, code: number): Buffer {
  const result = Buffer.concat([
    tlv(0x0a, Buffer.from([code])),
    tlv(0x04, Buffer.alloc(0)),
    tlv(0x04, Buffer.from(MESSAGES[code] ?? `result ${code} (injected by the test proxy)`)),
  ]);
  return tlv(0x30, Buffer.concat([messageIdElement, tlv(responseTag, result)]));
}

export class LdapProxy {
  delayMs = 0;
  /** Write requests answered by the proxy itself so far. */
  injected = 0;
  private injector?: Injector;
  private stalled = false;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly target: { port: number },
    readonly port: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  inject(fn: Injector | undefined): void {
    this.injector = fn;
  }

  stall(): void {
    this.stalled = true;
  }

  /** Back to a plain proxy: no delay, no stall, no injection; open connections are cut. */
  reset(): void {
    this.delayMs = 0;
    this.stalled = false;
    this.injector = undefined;
    this.injected = 0;
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target.port, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);

    // Server -> client: delayed, in order; held for good once stalled. One queue and one timer:
    // a timer per chunk could fire out of order (their delays differ by the millisecond that
    // passes between two readings of the clock, and Node orders timers of different durations by
    // expiry alone), and a client then reads a stream cut and put back together wrongly.
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0].at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!this.stalled && !client.destroyed) client.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(pump, Math.max(queue[0].at - Date.now(), 1));
    };
    upstream.on('data', (chunk: Buffer) => {
      if (this.stalled) return;
      queue.push({ at: Date.now() + this.delayMs, chunk });
      timer ??= setTimeout(pump, this.delayMs);
    });

    // Client -> server: cut into messages, each shown to the injector when it is a write.
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const message = element(pending, 0);
        if (!message || pending.length < message.header + message.length) break;
        const whole = pending.subarray(0, message.header + message.length);
        pending = pending.subarray(whole.length);
        const answer = this.answerFor(whole, message.header);
        if (answer) client.write(answer);
        else upstream.write(whole);
      }
    });
  }

  /** The injected response for this message, or undefined to forward it. */
  private answerFor(message: Buffer, header: number): Buffer | undefined {
    if (!this.injector) return undefined;
    const id = element(message, header);
    if (!id) return undefined;
    const opOffset = header + id.header + id.length;
    const op = element(message, opOffset);
    const request = op && REQUESTS[op.tag];
    if (!op || !request) return undefined;
    let dn: string;
    if (request.type === 'delete') {
      dn = message.subarray(opOffset + op.header, opOffset + op.header + op.length).toString('utf8');
    } else {
      const first = element(message, opOffset + op.header)!;
      const start = opOffset + op.header + first.header;
      dn = message.subarray(start, start + first.length).toString('utf8');
    }
    const code = this.injector({ type: request.type, dn });
    if (code === undefined) return undefined;
    this.injected++;
    return resultMessage(message.subarray(header, header + id.header + id.length), request.response, code);
  }
}
