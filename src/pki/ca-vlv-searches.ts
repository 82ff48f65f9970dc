/**
 * The CA's VLV searches that Dogtag added after 10.5.0 (ca/vlv.ldif, Dogtag 11.10.1; the fixtures
 * in test/harness/fixtures/dogtag/releases): the revoked certificates of this CA, for the CRL
 * of a CA sharing its repository with lightweight sub-CAs. test/unit/ca-vlv-searches.test.ts
 * checks it against that file.
 */
import type { VlvSearchSpec } from '../core/step';
import { escapeFilterValue } from '../ldap/filter';
import { certificateRepositoryDN } from './ca-database';

/**
 * allRevokedCertsByIssuer-{instanceId}: revoked records issued by the CA itself, or old ones that
 * do not say (no issuerName). The issuer DN comes from outside (the PKI user's CS.cfg): escaped,
 * so that it stays one value of the filter.
 */
export function revokedCertsByIssuerSearch(suffix: string, instanceId: string, caIssuerDN: string): VlvSearchSpec {
  const name = `allRevokedCertsByIssuer-${instanceId}`;
  return {
    name,
    base: certificateRepositoryDN(suffix),
    scope: 'one',
    filter: `(&(certStatus=REVOKED)(|(!(issuerName=*))(issuerName=${escapeFilterValue(caIssuerDN)})))`,
    indexes: [{ name: `${name}Index`, sort: 'serialno' }],
  };
}
