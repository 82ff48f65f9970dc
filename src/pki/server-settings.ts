/**
 * What Dogtag sets on the 389 DS it uses, beyond its own database (server/config.ldif since 11.5;
 * test/unit/dogtag-11-10-data.test.ts checks these against the file). cn=config: each server's own.
 */
import type { AttributeMap } from '../core/directory';

/**
 * nsslapd-maxbersize: the largest LDAP request the server accepts. 389 DS's default (2 MiB) is
 * less than a large CRL or a certificate request batch; Dogtag raises it to 200 MiB. A server
 * allowing more is left as it is: never lowered.
 */
export const MIN_MAX_BER_SIZE = 209_715_200;

/** The container of the replication managers pkispawn creates for clones. */
export const CS_USERS_DN = 'ou=csusers,cn=config';
export const CS_USERS_ENTRY: AttributeMap = { objectClass: ['top', 'organizationalUnit'], ou: 'csusers' };

/**
 * Whether a server's nsslapd-maxbersize must be raised. Unset and 0 mean 389 DS's default, 2 MiB
 * (slap.h SLAPD_DEFAULT_MAXBERSIZE); a negative value is taken as unsigned, i.e. no limit.
 */
export function maxBerSizeTooSmall(current: string | undefined): boolean {
  const value = current === undefined ? 0 : Number(current);
  if (!Number.isInteger(value)) return false;
  return value >= 0 && value < MIN_MAX_BER_SIZE;
}
