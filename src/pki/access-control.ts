/**
 * Dogtag's access control on its own resources: the resourceACLS values of cn=aclResources,<suffix>
 * (acl.ldif), one value per resource, "<resource>:<rights>:<rules>:<description>". The entry
 * replicates: a value is changed by deleting the old and adding the new in one modify, which
 * multi-supplier replication merges value by value (a replace of the whole attribute would undo a
 * change another server made meanwhile).
 */
import type { Modification } from '../core/directory';

export function aclResourcesDN(suffix: string): string {
  return `cn=aclResources,${suffix}`;
}

/** A resource's ACL as one release shipped it, and as the next one ships it. */
export interface AclChange {
  from: string;
  to: string;
}

export type AclDecision =
  /** The new value is there: nothing to do. */
  | { action: 'present' }
  /** The value as the older release shipped it: replaced. */
  | { action: 'update'; changes: Modification[] }
  /** The resource's ACL differs from both (an administrator's own), or is gone: left as it is. */
  | { action: 'customised' | 'missing'; resource: string };

/** The resource an ACL value is about: the text before its first colon. */
export function aclResource(value: string): string {
  return value.slice(0, value.indexOf(':'));
}

export function decideAcl(values: readonly string[], change: AclChange): AclDecision {
  if (values.includes(change.to)) return { action: 'present' };
  if (values.includes(change.from)) {
    return {
      action: 'update',
      changes: [
        { operation: 'delete', attribute: 'resourceACLS', values: [change.from] },
        { operation: 'add', attribute: 'resourceACLS', values: [change.to] },
      ],
    };
  }
  const resource = aclResource(change.to);
  return { action: values.some((v) => aclResource(v) === resource) ? 'customised' : 'missing', resource };
}

/** The CA, 11.10: EST administrators may also modify the security domain and register agents. */
const EST_ADMINISTRATORS_RULE = ' || group="Enterprise EST Administrators"';
const ACLS_NAMING_EST_ADMINISTRATORS = [
  'certServer.securitydomain.domainxml:read,modify:allow (read) user="anybody";allow (modify) group="Subsystem Group" || group="Enterprise CA Administrators" || group="Enterprise KRA Administrators" || group="Enterprise RA Administrators" || group="Enterprise OCSP Administrators" || group="Enterprise TKS Administrators" || group="Enterprise TPS Administrators" || group="Enterprise EST Administrators":Anybody is allowed to read domain.xml but only Subsystem group and Enterprise Administrators are allowed to modify the domain.xml',
  'certServer.ca.registerUser:read,modify:allow (modify,read) group="Enterprise CA Administrators" || group="Enterprise KRA Administrators" || group="Enterprise RA Administrators" || group="Enterprise OCSP Administrators" || group="Enterprise TKS Administrators" || group="Enterprise TPS Administrators" || group="Enterprise EST Administrators":Only Enterprise Administrators are allowed to register a new agent',
];
export const EST_ADMINISTRATORS_ACLS: readonly AclChange[] = ACLS_NAMING_EST_ADMINISTRATORS.map((to) => ({ from: to.replace(EST_ADMINISTRATORS_RULE, ''), to }));
