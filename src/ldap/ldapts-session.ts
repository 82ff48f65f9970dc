/**
 * LdapSession over ldapts: one connection, paged searches, errors mapped to LdapResultError (the
 * server answered) or ServerUnreachableError (it did not).
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Attribute, Change, Client } from 'ldapts';
import {
  DirectoryEntry,
  LdapResultError,
  type AttributeMap,
  type AttributeValue,
  type LdapSession,
  type Modification,
  type SearchOptions,
} from '../core/directory';
import { ClientCertificateError, CredentialsRejectedError, ServerUnreachableError } from '../core/errors';
import { certificateError, type TrustSettings } from './certificate-trust';
import { hostOf, isLdapiUrl, ldapiSocketPath, STARTTLS, tcpConnectUrl } from './ldap-url';

export type Credentials =
  | { kind: 'simple'; bindDN: string; password: string }
  /** SASL EXTERNAL: autobind over LDAPI as the process's uid (root → Directory Manager). */
  | { kind: 'external' }
  /**
   * SASL EXTERNAL over TLS (LDAPS or StartTLS) with a client certificate, which tlsOptions carry
   * (SslClientAuth): 389 DS binds the connection as the entry its certmap maps the certificate to.
   * `subject`, `issuer` and `source` are for the messages.
   */
  | { kind: 'certificate'; subject: string; issuer: string; source: string }
  | { kind: 'anonymous' };

export interface ConnectOptions {
  /**
   * ldap://host:port, ldaps://host:port, ldapi://%2Fpath%2Fto%2Fsocket, or ldap+starttls://host:port
   * (a replication agreement with StartTLS transport: TLS before the bind).
   */
  url: string;
  credentials: Credentials;
  connectTimeoutMs?: number;
  /**
   * Bound on every operation after the bind (default 60 s): no server can hold the run, and dnf
   * with it, longer than that per request. Long index tasks are polled, never waited on.
   */
  operationTimeoutMs?: number;
  tlsOptions?: tls.ConnectionOptions;
  /** Where the CA and the host name come from, for the message of a certificate that does not verify. */
  trust?: TrustSettings;
  /** Used in messages, e.g. "start it with systemctl start dirsrv@pki-tomcat". */
  startHint?: string;
  /** The server's errors log, for the hint when it goes away (instance mode knows it from /etc/dirsrv). */
  errorsLog?: string;
}

const DEFAULT_PAGE_SIZE = 500;
export const DEFAULT_OPERATION_TIMEOUT_MS = 60_000;

export class LdaptsSession implements LdapSession {
  /** The entry 389 DS bound a client certificate to (Who am I?), once bound by one. */
  mappedDN?: string;

  private constructor(
    private readonly client: Client,
    readonly url: string,
    private readonly options: ConnectOptions,
  ) {}

  static async open(options: ConnectOptions): Promise<LdaptsSession> {
    const { client, display, peerCertificate } = createClient(options);
    const session = new LdaptsSession(client, display, options);
    // The bind belongs to connecting: a server that accepts the connection but never answers
    // (hung, overloaded) must fail within the connect timeout, not hang the run (and dnf with it).
    const timeouts = (client as unknown as { clientOptions: { timeout?: number } }).clientOptions;
    timeouts.timeout = options.connectTimeoutMs ?? 10_000;
    try {
      if (options.url.startsWith(STARTTLS)) await startTls(client, options);
      const c = options.credentials;
      if (c.kind === 'simple') await client.bind(c.bindDN, c.password);
      else if (c.kind === 'external' || c.kind === 'certificate') await client.bind('EXTERNAL');
      if (c.kind === 'certificate') session.mappedDN = await whoAmI(client);
      timeouts.timeout = operationTimeout(options);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw connectionError(err, display, options, peerCertificate());
    }
    return session;
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => undefined);
  }

  /** Who this session acts as, for messages about rights. */
  get boundAs(): string {
    const c = this.options.credentials;
    if (c.kind === 'certificate') return this.mappedDN ?? `the entry 389 DS maps the client certificate ${c.subject} to`;
    return c.kind === 'simple' ? c.bindDN : c.kind === 'external' ? 'the LDAPI autobind identity' : 'an anonymous session';
  }

  /**
   * Opens `count` more connections to the same server with the same credentials, for pipelined
   * bulk writes. The caller closes them.
   */
  async openSiblings(count: number): Promise<LdaptsSession[]> {
    const opened = await Promise.allSettled(Array.from({ length: count }, () => LdaptsSession.open(this.options)));
    const sessions = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await Promise.all(sessions.map((s) => s.close()));
      throw failure.reason;
    }
    return sessions;
  }

  async search(base: string, options: SearchOptions = {}): Promise<DirectoryEntry[]> {
    const entries: DirectoryEntry[] = [];
    for await (const entry of this.searchStream(base, options)) entries.push(entry);
    return entries;
  }

  async *searchStream(base: string, options: SearchOptions = {}): AsyncIterable<DirectoryEntry> {
    const scope = options.scope ?? 'sub';
    const request = {
      scope,
      filter: options.filter ?? '(objectClass=*)',
      attributes: options.attributes,
      explicitBufferAttributes: options.binaryAttributes,
      sizeLimit: options.sizeLimit,
      // The time the server may spend (ldapts would ask for 10 s): the operation timeout's, or
      // none for a scan, whose pages the longer scan timeout waits for.
      timeLimit: options.scanTimeoutMs ? 0 : Math.ceil(operationTimeout(this.options) / 1000),
      // A base search is one entry: the paged control only costs a round trip there.
      paged: scope === 'base' ? false : { pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE },
    };
    // ldapts bounds each message by one client-wide timeout, read when the message is sent: raised
    // for the pages of a scan (an operation sent meanwhile on this session gets it too).
    const timeouts = (this.client as unknown as { clientOptions: { timeout?: number } }).clientOptions;
    const normal = timeouts.timeout;
    if (options.scanTimeoutMs) timeouts.timeout = Math.max(options.scanTimeoutMs, normal ?? 0);
    try {
      if (scope === 'base') {
        const result = await this.client.search(base, request);
        for (const entry of result.searchEntries) yield toEntry(entry);
        return;
      }
      for await (const page of this.client.searchPaginated(base, request)) {
        for (const entry of page.searchEntries) yield toEntry(entry);
      }
    } catch (err) {
      throw this.mapError(err, 'search', base);
    } finally {
      if (options.scanTimeoutMs) timeouts.timeout = normal;
    }
  }

  async read(dn: string, attributes?: string[], binaryAttributes?: string[]): Promise<DirectoryEntry | undefined> {
    try {
      const result = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes,
        explicitBufferAttributes: binaryAttributes,
      });
      const entry = result.searchEntries[0];
      return entry ? toEntry(entry) : undefined;
    } catch (err) {
      const mapped = this.mapError(err, 'read', dn);
      if (mapped instanceof LdapResultError && mapped.code === 32) return undefined;
      throw mapped;
    }
  }

  async add(dn: string, attributes: AttributeMap): Promise<void> {
    const attrs = Object.entries(attributes).map(([type, value]) => new Attribute({ type, values: asValues(value) }));
    await this.call('add', dn, () => this.client.add(dn, attrs));
  }

  async modify(dn: string, changes: Modification[]): Promise<void> {
    const ldapChanges = changes.map(
      (c) =>
        new Change({
          operation: c.operation,
          modification: new Attribute({ type: c.attribute, values: asValues(c.values ?? []) }),
        }),
    );
    await this.call('modify', dn, () => this.client.modify(dn, ldapChanges));
  }

  async delete(dn: string): Promise<void> {
    await this.call('delete', dn, () => this.client.del(dn));
  }

  async modifyDN(dn: string, newRdn: string, newSuperior?: string): Promise<void> {
    const parent = newSuperior ?? dn.slice(dn.search(/(?<!\\),/) + 1);
    await this.call('modrdn', dn, () => this.client.modifyDN(dn, `${newRdn},${parent}`));
  }

  private async call(operation: string, dn: string, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      throw this.mapError(err, operation, dn);
    }
  }

  private mapError(err: unknown, operation: string, dn: string): Error {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') {
      return new LdapResultError(code, operation, dn, (err as Error).message, this.boundAs);
    }
    if (/Operation timed out/.test((err as Error).message ?? '')) {
      return new ServerUnreachableError(
        `389 DS at ${this.url} did not answer ${operation} ${dn} within ${operationTimeout(this.options) / 1000} s (operation_timeout)`,
        'check that the server is running and not hung, then run pki-db-upgrade again: it resumes where it stopped',
        { cause: err },
      );
    }
    return new ServerUnreachableError(
      `lost the connection to 389 DS at ${this.url} during ${operation} ${dn}: ${(err as Error).message}`,
      `check that the server is running (why it went away is in its errors log, ${this.options.errorsLog ?? '/var/log/dirsrv/slapd-NAME/errors'}: a full disk, for one, stops it), then run pki-db-upgrade again: it resumes where it stopped`,
      { cause: err },
    );
  }
}

/** RFC 4532 "Who am I?": "dn:uid=pkidbuser,ou=people,o=..." → the DN; undefined when the server does not say. */
async function whoAmI(client: Client): Promise<string | undefined> {
  try {
    const { value } = await client.exop('1.3.6.1.4.1.4203.1.11.3');
    return value?.replace(/^dn:\s*/, '') || undefined;
  } catch {
    return undefined;
  }
}

function operationTimeout(options: ConnectOptions): number {
  return options.operationTimeoutMs || DEFAULT_OPERATION_TIMEOUT_MS;
}

/** StartTLS, verified as LDAPS would be (host name, CA), bounded by the connect timeout. */
async function startTls(client: Client, options: ConnectOptions): Promise<void> {
  const host = hostOf(options.url);
  const tlsOptions: tls.ConnectionOptions = { ...options.tlsOptions, host, ...(net.isIP(host) ? {} : { servername: host }) };
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('StartTLS timed out')), options.connectTimeoutMs ?? 10_000);
  });
  try {
    await Promise.race([client.startTLS(tlsOptions), limit]);
  } finally {
    clearTimeout(timer);
  }
}

function createClient(options: ConnectOptions): { client: Client; display: string; peerCertificate: () => X509Certificate | undefined } {
  const common = {
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    timeout: operationTimeout(options),
    // A server restart mid-run must not leave us silently unauthenticated.
    autoRebind: true,
    strictDN: false,
  };
  if (isLdapiUrl(options.url)) {
    const socketPath = ldapiSocketPath(options.url);
    const client = new Client({
      ...common,
      url: 'ldap://localhost',
      createConnection: (() => net.connect({ path: socketPath })) as unknown as typeof net.connect,
    });
    return { client, display: options.url, peerCertificate: () => undefined };
  }
  const url = tcpConnectUrl(options.url);
  let peer: X509Certificate | undefined;
  // TCP_NODELAY on every TCP connection, as libldap sets it: Nagle's algorithm holds back a small
  // request while an earlier one is unacknowledged, a wait for each request sent while others
  // are outstanding (the pipelined bulk writes).
  // ldapts makes its TLS sockets here, for LDAPS and for StartTLS alike.
  const createSecureConnection = (port: number | tls.ConnectionOptions, host?: string, tlsOptions?: tls.ConnectionOptions) => {
    const socket = typeof port === 'object' ? tls.connect(port) : tls.connect(port, host, tlsOptions);
    // The certificate the server showed, for the message when it does not verify: node checks it
    // on 'secure' and, when it fails, closes the socket before anyone could ask. Only its DER is
    // read here (getPeerX509Certificate at this point made node's own host check see no names).
    socket.prependOnceListener('secure', () => {
      const raw = socket.getPeerCertificate().raw;
      if (raw) peer = new X509Certificate(raw);
    });
    return socket.setNoDelay(true);
  };
  return {
    client: new Client({
      ...common,
      url,
      // ldapts goes TLS from the first byte whenever it has tlsOptions: only for ldaps://
      // (StartTLS gets them in startTls, plain loopback peers none).
      tlsOptions: url.startsWith('ldaps://') ? options.tlsOptions : undefined,
      createSecureConnection: createSecureConnection as unknown as typeof tls.connect,
      createConnection: ((port: number, host: string) => net.connect(port, host).setNoDelay(true)) as unknown as typeof net.connect,
    }),
    display: options.url,
    peerCertificate: () => peer,
  };
}

function connectionError(err: unknown, url: string, options: ConnectOptions, peer: X509Certificate | undefined): Error {
  const code = (err as { code?: unknown }).code;
  const message = (err as Error).message ?? String(err);
  const start = options.startHint ?? "start the 389 DS instance (systemctl start dirsrv@NAME, NAME as systemctl list-units 'dirsrv@*' shows it)";
  if (options.credentials.kind === 'certificate') {
    const refused = clientCertificateError(err, url, options.credentials);
    if (refused) return refused;
  }
  if (code === 49) {
    const who = options.credentials.kind === 'simple' ? options.credentials.bindDN : 'the client';
    return new CredentialsRejectedError(
      `389 DS at ${url} rejected the credentials of ${who} (invalid credentials)`,
      'check the password source (password.conf internaldb=, keyring or --password-file) and the bind DN in CS.cfg',
    );
  }
  if (typeof code === 'number') {
    return new LdapResultError(code, 'bind', options.credentials.kind === 'simple' ? options.credentials.bindDN : '', message);
  }
  // A certificate that does not verify: a trust setting to fix, not an outage.
  const untrusted = certificateError(err, { url, host: hostOf(options.url), peer, trust: options.trust });
  if (untrusted) return untrusted;
  if (code === 'ECONNREFUSED' || code === 'ENOENT') {
    return new ServerUnreachableError(`389 DS at ${url} refused the connection`, `${start}, then run pki-db-upgrade again`, { cause: err });
  }
  if (/time(d ?)?out/i.test(message)) {
    return new ServerUnreachableError(
      `389 DS at ${url} did not answer within ${(options.connectTimeoutMs ?? 10_000) / 1000} s`,
      `check that the server is running and not hung (${start}), then run pki-db-upgrade again`,
      { cause: err },
    );
  }
  return new ServerUnreachableError(`cannot reach 389 DS at ${url}: ${message}`, `${start}, then run pki-db-upgrade again`, { cause: err });
}

/**
 * TLS alerts a server sends when it does not accept the client's certificate, as node's code
 * (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA) or in OpenSSL's words ("tlsv1 alert unknown ca"), which is all
 * ldapts keeps of an error on its socket.
 */
const CLIENT_CERT_ALERT = /alert[ _](bad[ _]certificate|unknown[ _]ca|certificate[ _]unknown|unsupported[ _]certificate|certificate[ _]expired|certificate[ _]revoked|certificate[ _]required|access[ _]denied|decrypt[ _]error|handshake[ _]failure)/i;

/**
 * The 389 DS's answers to a client certificate (ldap/servers/slapd/bind.c): not accepted in the
 * handshake (a TLS alert: its CA is not trusted there), none received (48: client authentication
 * off), or received but mapped to no entry (49, "Client certificate mapping failed").
 */
function clientCertificateError(err: unknown, url: string, c: Extract<Credentials, { kind: 'certificate' }>): Error | undefined {
  const code = (err as { code?: unknown }).code;
  const certmap = 'its certmap.conf (/etc/dirsrv/slapd-NAME/certmap.conf)';
  const alert = `${typeof code === 'string' ? code : ''} ${(err as Error).message ?? ''}`.match(CLIENT_CERT_ALERT);
  if (alert) {
    const name = alert[1].replace(/_/g, ' ').toLowerCase();
    const unknownCa = name === 'unknown ca';
    return new ClientCertificateError(
      `389 DS at ${url} refused the client certificate ${c.subject} (from ${c.source}) in the TLS handshake (alert ${name})${unknownCa ? `: it does not trust ${c.issuer}, its issuer` : ''}`,
      unknownCa
        ? 'import that CA into the 389 DS\'s NSS database trusted for client certificates (certutil -A -d /etc/dirsrv/slapd-NAME -n NAME -t CT,, -a -i CA.pem) and restart the 389 DS'
        : 'check the certificate (its dates, its key usage: TLS client) and that the 389 DS trusts its CA for clients (certutil -L -d /etc/dirsrv/slapd-NAME)',
      { cause: err },
    );
  }
  if (code === 48) {
    return new ClientCertificateError(
      `389 DS at ${url} received no client certificate (${(err as Error).message || 'inappropriate authentication'})`,
      'allow client certificates on the 389 DS (nsSSLClientAuth: allowed in cn=encryption,cn=config, then restart it)',
      { cause: err },
    );
  }
  if (code === 49) {
    return new ClientCertificateError(
      `389 DS at ${url} mapped the client certificate ${c.subject} (from ${c.source}) to no entry (invalid credentials: client certificate mapping failed)`,
      `389 DS maps it by ${certmap}: for the mapping of Dogtag and FreeIPA (CmapLdapAttr seeAlso, verifycert on) the database user, uid=pkidbuser,ou=people,<base DN>, needs seeAlso: ${c.subject} and this certificate in userCertificate`,
      { cause: err },
    );
  }
  return undefined;
}

function asValues(value: AttributeValue | AttributeValue[]): string[] | Buffer[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.some((v) => Buffer.isBuffer(v))) return list.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8')));
  return list as string[];
}

function toEntry(raw: { dn: string; [name: string]: unknown }): DirectoryEntry {
  const attributes: AttributeMap = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name === 'dn') continue;
    attributes[name] = value as AttributeValue | AttributeValue[];
  }
  return new DirectoryEntry(raw.dn, attributes);
}
