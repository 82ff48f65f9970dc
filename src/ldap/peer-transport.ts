/**
 * A bind password crosses no unencrypted connection to a replication peer: the peer is reached
 * over LDAPS or StartTLS, as its agreement says (agreementUrl), or in the clear only on loopback,
 * where the traffic never leaves this host's kernel.
 */
import net from 'node:net';
import { SecretDestinationError } from '../core/errors';

/** host:port of an ldap://, ldaps:// or ldap+starttls:// URL, lowercase (for trusted_servers). */
export function hostPortOf(url: string): string {
  const u = new URL(url.replace(/^[a-z+]+:\/\//i, 'ldap://'));
  const port = u.port || (url.startsWith('ldaps://') ? '636' : '389');
  return `${u.hostname.toLowerCase()}:${port}`;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === 'localhost.localdomain' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/** Throws unless `url` encrypts the connection or stays on this host. */
export function checkPeerTransport(url: string): void {
  if (!url.startsWith('ldap://')) return;
  const host = new URL(url).hostname;
  if (isLoopback(host)) return;
  throw new SecretDestinationError(
    `the bind password is not sent to ${url} in the clear: its replication agreement uses plain LDAP`,
    'give the agreement TLS (StartTLS) or SSL (LDAPS) transport (nsDS5ReplicaTransportInfo), as replication should have anyway',
  );
}
