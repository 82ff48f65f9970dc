/**
 * What a step needs to know of the PKI instance to name or fill in what Dogtag's LDIF files name
 * after it: {instanceId} (VLV searches are called allCerts-pki-tomcat) and {caIssuerDN} (the CA's
 * own issuer DN, in a VLV filter). The run knows them (DatabaseInfo: the instance folder and
 * CS.cfg in instance mode, --instance-id and --ca-issuer-dn in direct mode). In direct mode the
 * instance id can also be read from the database's own VLV searches, which pkispawn named after it.
 * Asked only by the steps that need them, so that a run with nothing to do reads nothing more.
 */
import type { LdapSession } from '../core/directory';
import { ConfigError } from '../core/errors';
import type { DatabaseInfo, Subsystem } from '../core/step';
import { backendConfigDN } from '../ldap/backend';

/** The VLV search each subsystem's vlv.ldif starts with, named "<prefix>-{instanceId}". */
const FIRST_VLV_SEARCH: Partial<Record<Subsystem, string>> = { ca: 'allCerts' };

/** The instance id: from the run, else from the names of the backend's VLV searches. */
export async function instanceIdOf(ldap: LdapSession, database: DatabaseInfo): Promise<string> {
  if (database.instanceId) return database.instanceId;
  const prefix = database.subsystem ? FIRST_VLV_SEARCH[database.subsystem] : undefined;
  const found = new Set<string>();
  if (prefix) {
    const searches = await ldap.search(backendConfigDN(database.backend), { scope: 'one', filter: '(objectClass=vlvSearch)', attributes: ['cn'] });
    for (const search of searches) {
      const name = search.first('cn') ?? '';
      if (name.toLowerCase().startsWith(`${prefix.toLowerCase()}-`) && name.length > prefix.length + 1) found.add(name.slice(prefix.length + 1));
    }
  }
  if (found.size === 1) return [...found][0];
  const seen =
    found.size > 1
      ? `its VLV searches name several instances (${[...found].join(', ')})`
      : prefix
        ? `backend ${database.backend} has no ${prefix}-<instance> VLV search to take it from`
        : `it is not read from the database of ${database.subsystem ?? 'an unknown subsystem'}`;
  throw new ConfigError(
    `the PKI instance id of ${database.suffix} is not known: ${seen}`,
    'run in instance mode (--instance NAME), or pass --instance-id NAME (the folder name under /etc/pki, e.g. pki-tomcat)',
  );
}

/** The CA's issuer DN: from the run (ca.signing.cert in CS.cfg, or --ca-issuer-dn). */
export function caIssuerDNOf(database: DatabaseInfo): string {
  if (database.caIssuerDN) return database.caIssuerDN;
  throw new ConfigError(
    `the issuer DN of the CA whose database is ${database.suffix} is not known`,
    'run in instance mode (the CA\'s CS.cfg holds ca.signing.cert), or pass --ca-issuer-dn DN (the subject of the CA signing certificate, as issuerName holds it)',
  );
}
