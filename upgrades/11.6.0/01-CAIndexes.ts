import { defineStep } from '../../src/core/step';
import { CA_INDEXES } from '../../src/pki/ca-indexes';

// The CA's indexes (ca/index.ldif) grew over the releases (e.g. the ACME indexes of 10.10); a
// database created by an older release lacks the newer ones, and searches on them become full
// scans. Indexes live in cn=config, which does not replicate: this runs on every server. Only the
// indexes that were missing or incomplete are built by the index task, so a second run does
// nothing. VLV searches (ca/vlv.ldif) are not handled here: see README, "Upgrade steps". The
// backends of other subsystems do not get them: the framework does not run it there (appliesTo).
export default defineStep({
  description: 'Add the CA indexes of ca/index.ldif that this server lacks, and build them',
  scope: 'server',
  appliesTo: ['ca'],
  // As released in 11.6.0, whose checksum covered this file only.
  formerChecksums: ['b6abf5f5a2af40f8b82873fccc8850d1d8da928f4eef6dbfad8ce2b2ffa5d4c5'],
  async upgrade(ctx) {
    const changed = await ctx.indexes.ensure([...CA_INDEXES]);
    if (changed.length === 0) {
      ctx.logger.info(`all ${CA_INDEXES.length} CA indexes already defined on backend ${ctx.database.backend}`);
      return;
    }
    ctx.logger.info(`indexes added or completed on backend ${ctx.database.backend}: ${changed.join(', ')}`);
    // In dry-run this records the index task entry it would add.
    await ctx.indexes.reindex(changed);
    if (!ctx.dryRun) ctx.logger.info(`index task finished for ${changed.length} attribute(s)`);
  },
});
