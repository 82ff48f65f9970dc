/** Finds the ldbm backend (e.g. "ca") that holds a suffix, for the cn=config paths of index steps. */
import type { LdapSession } from '../core/directory';
import { ConfigError } from '../core/errors';
import { escapeFilterValue, escapeRdnValue } from './filter';

/** The backend's entry in cn=config, under which its indexes and VLV searches live. */
export function backendConfigDN(backend: string): string {
  return `cn=${escapeRdnValue(backend)},cn=ldbm database,cn=plugins,cn=config`;
}

export async function findBackend(ldap: LdapSession, suffix: string): Promise<string> {
  const backends = await ldap.search('cn=ldbm database,cn=plugins,cn=config', {
    scope: 'one',
    filter: `(&(objectClass=nsBackendInstance)(nsslapd-suffix=${escapeFilterValue(suffix)}))`,
    attributes: ['cn'],
  });
  const name = backends[0]?.first('cn');
  if (!name) {
    // cn=config is readable by Directory Manager only: to anyone else it looks empty.
    const who = ldap.boundAs ? `, or ${ldap.boundAs} may not read cn=config` : '';
    throw new ConfigError(
      `no 389 DS backend on ${ldap.url} holds the suffix ${suffix}${who}`,
      'check internaldb.basedn and internaldb.database in CS.cfg (or pass --backend); the upgrade changes cn=schema and the backend configuration, which takes cn=Directory Manager (or root by LDAPI)',
    );
  }
  return name;
}
