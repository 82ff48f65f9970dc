import { defineStep } from '../../src/core/step';
import { aclResource, aclResourcesDN, decideAcl, EST_ADMINISTRATORS_ACLS } from '../../src/pki/access-control';
import { ensureGroup, EST_ADMINISTRATORS } from '../../src/pki/groups';

// Dogtag 11.10 added EST (RFC 7030) to the security domain: the CA gained the group "Enterprise
// EST Administrators" (ca/create.ldif), and two of its ACLs (ca/acl.ldif) name it, so that EST
// administrators may modify the security domain and register agents. Both are replicated entries
// of the CA's database: this runs once per cluster. An ACL an administrator has changed is left
// as it is, with a warning: the upgrade replaces only the value as Dogtag shipped it.
export default defineStep({
  description: 'Add the CA group Enterprise EST Administrators (11.10) and name it in the security-domain and agent-registration ACLs',
  scope: 'cluster',
  appliesTo: ['ca'],
  async upgrade(ctx) {
    await ensureGroup(ctx.ldap, ctx.logger, ctx.database.suffix, EST_ADMINISTRATORS);

    const acls = aclResourcesDN(ctx.database.suffix);
    const values = (await ctx.ldap.read(acls, ['resourceACLS']))?.values('resourceACLS') ?? [];
    for (const change of EST_ADMINISTRATORS_ACLS) {
      const decision = decideAcl(values, change);
      if (decision.action === 'update') {
        await ctx.ldap.modify(acls, decision.changes);
        ctx.logger.info(`ACL of ${aclResource(change.to)} now names ${EST_ADMINISTRATORS.cn}`);
      } else if (decision.action !== 'present') {
        ctx.logger.warn(`ACL of ${decision.resource} in ${acls} is ${decision.action === 'missing' ? 'not defined' : 'not as Dogtag shipped it'}: left as it is; add group="${EST_ADMINISTRATORS.cn}" to it by hand if EST administrators need it`);
      }
    }
  },
});
