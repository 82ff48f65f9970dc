/** Finds the ldbm backend (e.g. "ca") that holds a suffix, for the cn=config paths of index steps. */
import type { LdapSession } from '../core/directory';
import { ConfigError } from '../core/errors';
import { escapeFilterValue } from './filter';

export async function findBackend(ldap: LdapSession, suffix: string): Promise<string> {
  const backends = await ldap.search('cn=ldbm database,cn=plugins,cn=config', {
    scope: 'one',
    filter: `(&(objectClass=nsBackendInstance)(nsslapd-suffix=${escapeFilterValue(suffix)}))`,
    attributes: ['cn'],
  });
  const name = backends[0]?.first('cn');
  if (!name) {
    throw new ConfigError(
      `no 389 DS backend on ${ldap.url} holds the suffix ${suffix}`,
      'check internaldb.basedn and internaldb.database in CS.cfg (or pass --backend)',
    );
  }
  return name;
}
