/** Small LDAP helpers over ldapts shared by the harness modules. */
import * as net from 'node:net';
import { Attribute, Change, Client } from 'ldapts';

export const RESULT = {
  success: 0,
  referral: 10,
  noSuchAttribute: 16,
  typeOrValueExists: 20,
  noSuchObject: 32,
  unwillingToPerform: 53,
  objectClassViolation: 65,
  alreadyExists: 68,
} as const;

/** LDAP result code of an ldapts error, or undefined for non-LDAP errors (socket, timeout). */
export function resultCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

export async function connect(url: string, bindDN?: string, password?: string, timeoutMs = 30_000): Promise<Client> {
  const client = new Client({
    url,
    timeout: timeoutMs,
    connectTimeout: 5_000,
    // Send each small request at once instead of letting Nagle's algorithm hold it back while
    // earlier pipelined requests are unacknowledged.
    createConnection: ((port: number, host: string) => net.connect(port, host).setNoDelay(true)) as typeof net.connect,
  });
  if (bindDN !== undefined) {
    try {
      await client.bind(bindDN, password ?? '');
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
  }
  return client;
}

/** Runs `fn` with a bound client and always unbinds. */
export async function withClient<T>(
  target: { url: string; rootDN: string; rootPassword: string },
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  const client = await connect(target.url, target.rootDN, target.rootPassword);
  try {
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Adds an entry; "already exists" (68) is success, which makes setup steps re-runnable. */
export async function addIfMissing(
  client: Client,
  dn: string,
  attrs: Record<string, string | string[]> | Attribute[],
): Promise<boolean> {
  try {
    await client.add(dn, attrs);
    return true;
  } catch (err) {
    if (resultCode(err) === RESULT.alreadyExists) return false;
    throw err;
  }
}

export async function replaceAttr(client: Client, dn: string, type: string, values: string[]): Promise<void> {
  await client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));
}

/** Escapes an attribute value for use inside a DN (RFC 4514 section 2.4). */
export function escapeDNValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => '\\' + c);
  if (out.startsWith('#') || out.startsWith(' ')) out = '\\' + out;
  if (out.endsWith(' ')) out = out.slice(0, -1) + '\\ ';
  return out;
}

/** First value of an attribute of a search entry, as a string. */
export function firstString(entry: Record<string, unknown>, attr: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key) return undefined;
  const v = entry[key];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/** All values of an attribute of a search entry, as strings. */
export function allStrings(entry: Record<string, unknown>, attr: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}
