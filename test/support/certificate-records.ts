/** The certificate records of a CA database, read back over LDAP as a test checks them. */
import type { DsInstance } from '../harness/dirsrv';
import { withLdap } from '../harness/test-env';

export const REPOSITORY = (suffix: string) => `ou=certificateRepository,ou=ca,${suffix}`;

/** issuerName, certificate and modifyTimestamp of every record, by serial. */
export async function certificateRecords(ds: DsInstance, suffix: string) {
  return withLdap(ds, async (c) => {
    const { searchEntries } = await c.search(REPOSITORY(suffix), {
      scope: 'one',
      filter: '(objectClass=certificateRecord)',
      attributes: ['cn', 'issuerName', 'userCertificate;binary', 'modifyTimestamp'],
      explicitBufferAttributes: ['userCertificate;binary'],
    });
    return new Map(
      searchEntries.map((e) => [
        String(e.cn),
        {
          // ldapts gives [] for a requested attribute the entry does not have.
          issuerName: e.issuerName === undefined || (Array.isArray(e.issuerName) && e.issuerName.length === 0) ? undefined : String(e.issuerName),
          der: e['userCertificate;binary'] as Buffer,
          modified: String(e.modifyTimestamp),
        },
      ]),
    );
  });
}
