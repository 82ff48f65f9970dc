/**
 * The certificate records that still lack issuerName, as 11.6.0/02-RequireIssuerName looks for
 * them before it makes the attribute mandatory.
 */
import type { LdapSession } from '../core/directory';
import { certificateRepositoryDN, MISSING_ISSUER_NAME_FILTER } from './ca-database';

/**
 * How long the search may take. No index serves it: the issuerName index of 11.6.0/01-CAIndexes
 * is built after the run's steps (src/core/index-build.ts), so it reads every record, and a
 * search that finds none answers only at the end (minutes at a million records).
 */
const SCAN_TIMEOUT_MS = 30 * 60_000;

/** Up to `limit` certificate records lacking issuerName, by DN. */
export async function recordsLackingIssuerName(ldap: LdapSession, suffix: string, limit: number): Promise<string[]> {
  const lacking: string[] = [];
  const search = ldap.searchStream(certificateRepositoryDN(suffix), { scope: 'one', filter: MISSING_ISSUER_NAME_FILTER, attributes: ['1.1'], pageSize: limit, scanTimeoutMs: SCAN_TIMEOUT_MS });
  for await (const record of search) {
    lacking.push(record.dn);
    if (lacking.length >= limit) break;
  }
  return lacking;
}
