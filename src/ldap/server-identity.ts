/**
 * Which 389 DS this is, as recorded in the history: "host:port" from the server's own cn=config
 * (nsslapd-localhost, nsslapd-port), so that every client of one server names it alike, whatever
 * URL it used (ldapi, 127.0.0.1, the FQDN).
 */
import type { DirectoryEntry, LdapSession } from '../core/directory';

/** What of cn=config names the server (and says which ports it serves). */
export const IDENTITY_ATTRIBUTES = ['nsslapd-localhost', 'nsslapd-port', 'nsslapd-secureport'];

export async function identifyServer(ldap: LdapSession): Promise<string> {
  return serverIdFrom(await ldap.read('cn=config', IDENTITY_ATTRIBUTES), ldap.url);
}

/** The name from cn=config as read (IDENTITY_ATTRIBUTES), or `url` when it could not be read. */
export function serverIdFrom(config: DirectoryEntry | undefined, url: string): string {
  const host = config?.first('nsslapd-localhost');
  const port = config?.first('nsslapd-port');
  if (host && port && port !== '0') return `${host}:${port}`;
  if (host && config?.first('nsslapd-secureport')) return `${host}:${config.first('nsslapd-secureport')}`;
  // Without read access to cn=config fall back to the URL we connected to.
  return url.replace(/^ldaps?:\/\//, '').replace(/\/$/, '');
}
