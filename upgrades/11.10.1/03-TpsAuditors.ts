import { defineStep } from '../../src/core/step';
import { ensureEntry } from '../../src/ldap/ensure-entry';
import { groupDN, groupEntry, TPS_AUDITORS } from '../../src/pki/groups';

// Dogtag 10.10 gave the TPS an Auditors group (tps/create.ldif), as the other subsystems have, for
// those who may read its signed audit logs. A TPS database created before lacks it, and an
// auditor cannot be given that role. A replicated entry: once per cluster.
export default defineStep({
  description: 'Add the TPS group Auditors (10.10)',
  scope: 'cluster',
  appliesTo: ['tps'],
  async upgrade(ctx) {
    const group = groupDN(TPS_AUDITORS, ctx.database.suffix);
    const added = await ensureEntry(ctx.ldap, group, groupEntry(TPS_AUDITORS));
    ctx.logger.info(added.action === 'added' ? `group ${group} added` : `group ${group} already there`);
  },
});
