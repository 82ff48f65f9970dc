import { defineStep } from '../../src/core/step';
import { certificateRepositoryDN, MISSING_ISSUER_NAME_FILTER } from '../../src/pki/ca-database';
import { certificateIssuerString } from '../../src/x509/distinguished-name';

// Dogtag 10.3 started to store the issuer of every certificate record (lightweight sub-CAs issue
// from one repository), and shipped `pki-server ca-db-upgrade` to fill it in on records written
// before. This is that upgrade: same filter, issuerName taken from the DER certificate in the same
// string form the CA writes (JSS X500Name.toString()). It selects only records still lacking
// issuerName, so a crash half-way resumes where it stopped. Other subsystems (KRA, OCSP, ...) have
// no certificate repository: the framework does not run it on their databases (appliesTo).
export default defineStep({
  description: 'Fill in issuerName on certificate records that lack it, from their certificate (as pki-server ca-db-upgrade)',
  scope: 'cluster',
  appliesTo: ['ca'],
  // As released in 11.6.0, whose checksum covered this file only.
  formerChecksums: ['cde9dad9097dc6ad5b74098ffdb75e5504276b091b5d4c47a88d1a1c1374ec66'],
  async upgrade(ctx) {
    await ctx.bulk.update({
      label: 'issuerName backfill',
      base: certificateRepositoryDN(ctx.database.suffix),
      scope: 'one',
      filter: MISSING_ISSUER_NAME_FILTER,
      attributes: ['userCertificate;binary'],
      binaryAttributes: ['userCertificate;binary'],
      transform(record) {
        const der = record.buffers('userCertificate;binary')[0];
        // Dogtag skips such records too: there is nothing to take the issuer from.
        if (!der) return undefined;
        // replace, not add: the filter also selects records holding an empty issuerName.
        return [{ operation: 'replace', attribute: 'issuerName', values: [certificateIssuerString(der)] }];
      },
    });
  },
});
