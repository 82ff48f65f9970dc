import { defineStep } from '../../src/core/step';
import { CA_INDEXES } from '../../src/pki/ca-indexes';

// The CA's indexes (ca/index.ldif) grew over the releases (e.g. the ACME indexes of 10.10); a
// database created by an older release lacks the newer ones, and searches on them become full
// scans. Indexes live in cn=config, which does not replicate: this runs on every server. Only the
// indexes that were missing or incomplete are marked for the run's index task (after its steps,
// one task for the whole run), so a second run does nothing. VLV searches are
// 11.10.1/01-RevokedCertsByIssuerVlv's. The backends of other subsystems do not get them: the
// framework does not run it there (appliesTo).
export default defineStep({
  description: 'Add the CA indexes of ca/index.ldif that this server lacks, and build them',
  scope: 'server',
  appliesTo: ['ca'],
  // As released in 11.6.0 (a checksum of this file only), and in 11.10.1 (file and imports), when
  // the step ran the index task itself.
  formerChecksums: ['b6abf5f5a2af40f8b82873fccc8850d1d8da928f4eef6dbfad8ce2b2ffa5d4c5', 'c36781fb7e69913db98bb773e3aac40fba19d0efdc35e8a3c92d7f0057d88d31'],
  async upgrade(ctx) {
    const changed = await ctx.indexes.ensure([...CA_INDEXES]);
    if (changed.length === 0) {
      ctx.logger.info(`all ${CA_INDEXES.length} CA indexes already defined on backend ${ctx.database.backend}`);
      return;
    }
    ctx.logger.info(`indexes added or completed on backend ${ctx.database.backend}, built after the steps: ${changed.join(', ')}`);
  },
});
