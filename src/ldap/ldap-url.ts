/**
 * The LDAP URLs the tool accepts, and what a connection makes of them. Checked once, before a
 * run takes its lock or opens anything, so that a mistyped --url is a usage error and leaves
 * nothing behind.
 */
import { ConfigError } from '../core/errors';

/** A replication agreement with StartTLS transport: ldap:// with TLS before the bind. */
export const STARTTLS = 'ldap+starttls://';
const LDAPI = 'ldapi://';

const ACCEPTED = 'use ldap://host:port, ldaps://host:port or ldapi://%2Frun%2Fslapd-NAME.socket';

export function isLdapiUrl(url: string): boolean {
  return url.startsWith(LDAPI);
}

/** The socket an ldapi:// URL names (percent-decoded, one trailing slash dropped). */
export function ldapiSocketPath(url: string): string {
  const path = safeDecode(url.slice(LDAPI.length).replace(/\/$/, ''));
  if (path === undefined || !path.startsWith('/')) {
    throw new ConfigError(`LDAPI URL ${url} does not name a socket path`, 'write the path percent-encoded, e.g. ldapi://%2Frun%2Fslapd-NAME.socket');
  }
  return path;
}

/** The URL ldapts connects to: ldap+starttls:// is ldap:// with StartTLS after connecting. */
export function connectUrl(url: string): string {
  return url.startsWith(STARTTLS) ? `ldap://${url.slice(STARTTLS.length)}` : url;
}

/** The host name of an ldap://, ldaps:// or ldap+starttls:// URL (brackets of IPv6 removed). */
export function hostOf(url: string): string {
  return new URL(connectUrl(url)).hostname.replace(/^\[|\]$/g, '');
}

/** Throws a ConfigError unless `url` (not ldapi://) is ldap://, ldaps:// or ldap+starttls://; returns what ldapts connects to. */
export function tcpConnectUrl(url: string): string {
  const plain = connectUrl(url);
  if (!/^ldaps?:\/\//.test(plain)) throw new ConfigError(`"${url}" is not an LDAP URL`, ACCEPTED);
  return plain;
}

/** Throws a ConfigError unless `url` is one the tool can connect to. */
export function checkLdapUrl(url: string): void {
  if (isLdapiUrl(url)) {
    ldapiSocketPath(url);
    return;
  }
  const plain = tcpConnectUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(plain);
  } catch {
    throw new ConfigError(`"${url}" is not an LDAP URL: it does not parse`, ACCEPTED);
  }
  if (!parsed.hostname) throw new ConfigError(`"${url}" names no host`, ACCEPTED);
  if (parsed.username || parsed.password) {
    throw new ConfigError(`"${url}" carries credentials in the URL`, 'remove them from the URL and pass --password-file FILE');
  }
  if ((parsed.pathname && parsed.pathname !== '/') || parsed.search || parsed.hash) {
    throw new ConfigError(`"${url}" has a DN, attributes or a filter after the host`, `name only the server (${ACCEPTED}) and the database with --base-dn`);
  }
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
