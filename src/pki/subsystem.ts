/**
 * Which subsystem a database belongs to, decided in this one place (steps declare `appliesTo`, the
 * framework leaves out those for other subsystems).
 *
 * The database is recognised by the container its subsystem's create.ldif makes (Dogtag,
 * base/<subsystem>/database/ds/create.ldif):
 *   ca   ou=certificateRepository,ou=ca,<suffix>
 *   kra  ou=keyRepository,ou=kra,<suffix>
 * OCSP, TKS, TPS and ACME are not recognised from their content here: in instance mode the
 * instance folder names them (/etc/pki/<instance>/<subsystem>/CS.cfg), in direct mode (--url,
 * --base-dn) they are unknown.
 *
 * The content has the last word where it can speak: a database named `ca` by the instance folder
 * that holds no certificate repository (yet: an empty or half-created database) is not taken for a
 * CA, so that the CA steps do not run against a repository that is not there and are not recorded
 * as applied to it; once the repository exists, they are planned (nothing was recorded).
 */
import type { LdapSession } from '../core/directory';
import type { Subsystem } from '../core/step';
import { certificateRepositoryDN } from './ca-database';

interface Marker {
  subsystem: Subsystem;
  what: string;
  dn(suffix: string): string;
}

/** In the order they are looked for. */
const MARKERS: Marker[] = [
  { subsystem: 'ca', what: 'certificate repository', dn: certificateRepositoryDN },
  { subsystem: 'kra', what: 'key repository', dn: (suffix) => `ou=keyRepository,ou=kra,${suffix}` },
];

export interface SubsystemDecision {
  /** undefined: unknown (only steps without appliesTo apply). */
  subsystem?: Subsystem;
  /** Why, in a few words, for the log. */
  basis: string;
}

/** The subsystem whose container `suffix` holds, if any (see above). */
export async function recogniseSubsystem(ldap: LdapSession, suffix: string): Promise<{ subsystem: Subsystem; basis: string } | undefined> {
  for (const marker of MARKERS) {
    const dn = marker.dn(suffix);
    if (await ldap.read(dn, ['1.1'])) return { subsystem: marker.subsystem, basis: `it holds the ${marker.what} ${dn}` };
  }
  return undefined;
}

/**
 * The subsystem of the database at `suffix`: recognised from its content, else the one `named` by
 * the instance folder, unless that one would be recognisable and is not (see above).
 */
export async function decideSubsystem(ldap: LdapSession, suffix: string, named?: Subsystem): Promise<SubsystemDecision> {
  const recognised = await recogniseSubsystem(ldap, suffix);
  if (recognised) {
    const basis = named && named !== recognised.subsystem ? `${recognised.basis}, although the instance folder names it ${named}` : recognised.basis;
    return { subsystem: recognised.subsystem, basis };
  }
  if (!named) return { basis: `not recognised from its content: no ${MARKERS.map((m) => m.what).join(', no ')}` };
  const marker = MARKERS.find((m) => m.subsystem === named);
  if (marker) return { basis: `the instance folder names it ${named}, but it holds no ${marker.what} (${marker.dn(suffix)})` };
  return { subsystem: named, basis: 'named by the instance folder' };
}
