import { defineStep } from '../../src/core/step';
import { TRACKING_SCHEMA } from '../../src/ldap/tracking-schema';

// The schema of the entries that record the database version and this history. It must come
// first: every later step is recorded with it.
export default defineStep({
  description: 'Install the schema of the upgrade tracking entries (pkiDbUpgrade*)',
  scope: 'cluster',
  installsTracking: true,
  async upgrade(ctx) {
    const changes = await ctx.schema.ensure(TRACKING_SCHEMA);
    ctx.logger.info(changes.length ? `schema: ${changes.map((c) => `${c.action} ${c.name}`).join(', ')}` : 'tracking schema already present');
  },
});
