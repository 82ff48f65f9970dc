import { defineStep } from '../../src/core/step';
import { recordsLackingIssuerName } from '../../src/pki/records-lacking-issuer-name';

// NOT BACKWARD COMPATIBLE — the example of such a step (see README, "Upgrade steps").
//
// Once every record carries issuerName (10.3.3/01-IssuerNameBackfill), the schema can insist on
// it: certificateRecord gets issuerName in MUST. cn=schema replicates, so from then on every
// server of the cluster rejects a certificate record without issuerName (objectclass violation,
// 65). A server still running a release that does not write issuerName could then no longer issue
// certificates. Hence `backwardCompatible: false`: it must wait until every server runs this
// package.
//
// 389 DS does not re-check existing entries against a changed object class, but any later modify
// of a record still lacking issuerName (e.g. a revocation) would fail, so the step refuses to run
// while such records remain. It is about certificate records: CA databases only (appliesTo).
const CERTIFICATE_RECORD_REQUIRING_ISSUER =
  "( certificateRecord-oid NAME 'certificateRecord' DESC 'CMS defined class' SUP top STRUCTURAL MUST ( cn $ issuerName ) " +
  'MAY ( serialno $ dateOfCreate $ dateOfModify $ certStatus $ autoRenew $ issueInfo $ metaInfo $ revInfo $ version $ duration $ ' +
  "notAfter $ notBefore $ algorithmId $ subjectName $ signingAlgorithmId $ userCertificate $ issuedBy $ revokedBy $ revokedOn $ extension $ publicKeyData ) X-ORIGIN 'user defined' )";

/** How many offending records the error names. */
const NAMED = 5;

export default defineStep({
  description: 'Require issuerName on certificate records (certificateRecord MUST issuerName); releases that do not write it can no longer issue',
  scope: 'cluster',
  backwardCompatible: false,
  appliesTo: ['ca'],
  // As released in 11.6.0 (a checksum of this file only), and in 11.10.1 (file and imports), when
  // the step wrote its search out and the index it searched through was built before it.
  formerChecksums: ['2839739b1f8ee3a29ce88dd3ed22ddee98c56118c297e22ceee5f863a257b5ff', 'ea3be89ed46e2ccd4cdfc29beefae53d515d4ea5d8b6a29107806a517d45b002'],
  async upgrade(ctx) {
    const { suffix } = ctx.database;
    // Not a class to define here: a server without Dogtag's schema has nothing to tighten.
    if (!(await ctx.schema.hasObjectClass('certificateRecord'))) {
      ctx.logger.info('certificateRecord is not defined in cn=schema of this server: nothing to require');
      return;
    }
    const lacking = await recordsLackingIssuerName(ctx.ldap, suffix, NAMED);
    if (lacking.length > 0) {
      const message = `certificate records still lack issuerName (e.g. ${lacking.join('; ')})`;
      // In dry-run the backfill before this step was only recorded, not applied.
      if (ctx.dryRun) ctx.logger.warn(`${message}: a real run fills them in first (10.3.3/01-IssuerNameBackfill)`);
      else {
        throw new Error(
          `${message}: requiring issuerName now would make them impossible to modify. Records written since the ` +
            'backfill come from a server on an older release: upgrade it first. Then give those records issuerName ' +
            '(the issuer of their certificate) or, if they hold no certificate, remove them, and run pki-db-upgrade again',
        );
      }
    }
    const changes = await ctx.schema.ensure({ objectClasses: [CERTIFICATE_RECORD_REQUIRING_ISSUER] });
    ctx.logger.info(changes.length ? 'certificateRecord now requires issuerName' : 'certificateRecord already requires issuerName');
  },
});
