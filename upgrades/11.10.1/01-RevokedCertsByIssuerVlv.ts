import { defineStep } from '../../src/core/step';
import { revokedCertsByIssuerSearch } from '../../src/pki/ca-vlv-searches';
import { caIssuerDNOf, instanceIdOf } from '../../src/pki/instance-facts';

// Dogtag 11.10 added the VLV search allRevokedCertsByIssuer-{instanceId} to ca/vlv.ldif: the
// revoked certificates of this CA alone, sorted by serial number, so that a CA whose repository
// also holds the records of lightweight sub-CAs builds its CRL from its own. pkispawn creates it
// on new servers only; an older database lacks it and the CRL search is a full scan. VLV searches
// live in cn=config, which does not replicate: this runs on every server. Its index is marked for
// the run's index task (after the steps) only when the search was added or changed, so a second
// run does nothing.
export default defineStep({
  description: 'Add the CA VLV search allRevokedCertsByIssuer of ca/vlv.ldif (11.10) and build its index',
  scope: 'server',
  appliesTo: ['ca'],
  // As first released in 11.10.1, when the step ran the index task itself.
  formerChecksums: ['c89e5ccf911ebb6cb52146be54810a43bb86b3860a4306830b44883b14253ca3'],
  async upgrade(ctx) {
    const search = revokedCertsByIssuerSearch(ctx.database.suffix, await instanceIdOf(ctx.ldap, ctx.database), caIssuerDNOf(ctx.database));
    const changed = await ctx.indexes.ensureVlv([search]);
    if (changed.length === 0) {
      ctx.logger.info(`VLV search ${search.name} already defined and built on backend ${ctx.database.backend}`);
      return;
    }
    ctx.logger.info(`VLV search ${search.name} defined on backend ${ctx.database.backend}, built after the steps: ${changed.join(', ')}`);
  },
});
