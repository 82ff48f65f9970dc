/**
 * Where a Dogtag CA keeps its data inside its suffix, and how to tell a CA database from the
 * database of another subsystem (KRA, OCSP, TKS, TPS share the layout of their own, without a
 * certificate repository). Steps about certificate records are no-ops elsewhere.
 */
import type { LdapSession } from '../core/directory';

export function certificateRepositoryDN(suffix: string): string {
  return `ou=certificateRepository,ou=ca,${suffix}`;
}

/** True when `suffix` holds a CA's certificate repository (ca/create.ldif makes it). */
export async function isCaDatabase(ldap: LdapSession, suffix: string): Promise<boolean> {
  return (await ldap.read(certificateRepositoryDN(suffix), ['1.1'])) !== undefined;
}

/**
 * Certificate records without issuerName (or with an empty one), exactly as Dogtag's own
 * `pki-server ca-db-upgrade` selects them. Records fall out of this filter once fixed, which makes
 * the backfill resumable.
 */
export const MISSING_ISSUER_NAME_FILTER = '(&(objectclass=certificateRecord)(|(!(issuerName=*))(issuerName=)))';
