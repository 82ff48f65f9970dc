import { defineStep } from '../../src/core/step';
import { ensureGroup, TPS_AUDITORS } from '../../src/pki/groups';

// Dogtag 10.10 gave the TPS an Auditors group (tps/create.ldif), as the other subsystems have, for
// those who may read its signed audit logs. A TPS database created before lacks it, and an
// auditor cannot be given that role. A replicated entry: once per cluster.
export default defineStep({
  description: 'Add the TPS group Auditors (10.10)',
  scope: 'cluster',
  appliesTo: ['tps'],
  async upgrade(ctx) {
    await ensureGroup(ctx.ldap, ctx.logger, ctx.database.suffix, TPS_AUDITORS);
  },
});
