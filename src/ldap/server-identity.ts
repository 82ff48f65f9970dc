/**
 * Which 389 DS this is, as recorded in the history: "host:port" from the server's own cn=config
 * (nsslapd-localhost, nsslapd-port), so that every client of one server names it alike, whatever
 * URL it used (ldapi, 127.0.0.1, the FQDN).
 */
import type { LdapSession } from '../core/directory';

export async function identifyServer(ldap: LdapSession): Promise<string> {
  const config = await ldap.read('cn=config', ['nsslapd-localhost', 'nsslapd-port', 'nsslapd-secureport']);
  const host = config?.first('nsslapd-localhost');
  const port = config?.first('nsslapd-port');
  if (host && port && port !== '0') return `${host}:${port}`;
  if (host && config?.first('nsslapd-secureport')) return `${host}:${config.first('nsslapd-secureport')}`;
  // Without read access to cn=config fall back to the URL we connected to.
  const url = ldap.url.replace(/^ldaps?:\/\//, '').replace(/\/$/, '');
  return url;
}
