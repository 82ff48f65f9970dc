/**
 * Groups that Dogtag's create.ldif gained after 10.5.0 (test/harness/fixtures/dogtag/releases;
 * test/unit/dogtag-11-10-data.test.ts checks them against those files). A database created before has
 * none of them: the upgrade adds them empty, as pkispawn does, and never touches their members.
 */
import type { AttributeMap, LdapSession } from '../core/directory';
import type { Logger } from '../core/logger';
import { ensureEntry } from '../ldap/ensure-entry';
import { escapeRdnValue } from '../ldap/filter';

export interface GroupSpec {
  /** cn of the group, under the subsystem's groups container. */
  cn: string;
  /** The container's RDN as create.ldif spells it (the CA's is ou=groups, the TPS's ou=Groups). */
  container: string;
  description: string;
}

/** CA, 11.10: the security domain's EST administrators (named in the ACLs of access-control.ts). */
export const EST_ADMINISTRATORS: GroupSpec = { cn: 'Enterprise EST Administrators', container: 'ou=groups', description: 'People who are the administrators for the security domain for EST' };

/** TPS, 10.10: those who may read the TPS's signed audit logs. */
export const TPS_AUDITORS: GroupSpec = { cn: 'Auditors', container: 'ou=Groups', description: 'People who can read the signed audit logs for TPS' };

export function groupDN(group: GroupSpec, suffix: string): string {
  return `cn=${escapeRdnValue(group.cn)},${group.container},${suffix}`;
}

export function groupEntry(group: GroupSpec): AttributeMap {
  return { objectClass: ['top', 'groupOfUniqueNames'], cn: group.cn, description: group.description };
}

/** Adds the group to the database at `suffix` unless it is there (members are never touched), and says which. */
export async function ensureGroup(ldap: LdapSession, logger: Logger, suffix: string, group: GroupSpec): Promise<void> {
  const dn = groupDN(group, suffix);
  const outcome = await ensureEntry(ldap, dn, groupEntry(group));
  logger.info(outcome.action === 'added' ? `group ${dn} added` : `group ${dn} already there`);
}
