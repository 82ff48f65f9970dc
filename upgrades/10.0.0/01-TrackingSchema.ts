import { defineStep } from '../../src/core/step';
import { TRACKING_SCHEMA } from '../../src/ldap/tracking-schema';

// The schema of the entries that record the database version and this history. It must come
// first: every later step is recorded with it.
export default defineStep({
  description: 'Install the schema of the upgrade tracking entries (pkiDbUpgrade*)',
  scope: 'cluster',
  installsTracking: true,
  // As released in 11.6.0, whose checksum covered this file only.
  formerChecksums: ['531f91ef495c5cb9b0befbc84cd9d19fb67e016f8280e2740aaea83e213e9d03'],
  async upgrade(ctx) {
    const changes = await ctx.schema.ensure(TRACKING_SCHEMA);
    ctx.logger.info(changes.length ? `schema: ${changes.map((c) => `${c.action} ${c.name}`).join(', ')}` : 'tracking schema already present');
  },
});
