/**
 * Where a Dogtag CA keeps its data inside its suffix. Whether a database is a CA's at all is
 * decided in src/pki/subsystem.ts (steps about certificate records declare appliesTo: ['ca']).
 */
export function certificateRepositoryDN(suffix: string): string {
  return `ou=certificateRepository,ou=ca,${suffix}`;
}

/**
 * Certificate records without issuerName (or with an empty one), exactly as Dogtag's own
 * `pki-server ca-db-upgrade` selects them. Records fall out of this filter once fixed, which makes
 * the backfill resumable.
 */
export const MISSING_ISSUER_NAME_FILTER = '(&(objectclass=certificateRecord)(|(!(issuerName=*))(issuerName=)))';
