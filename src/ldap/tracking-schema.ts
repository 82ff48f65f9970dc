/**
 * Schema of the entries that record the database version and the upgrade history. 389 DS checks
 * schema, so these are real definitions; they live in cn=schema, which replicates, like the
 * entries themselves. OIDs use 389 DS's "<name>-oid" form, as Dogtag's own schema does, so no
 * OID arc is claimed.
 *
 * Each set is installed by one of the history store's own steps (src/record/tracking-steps.ts) and
 * is frozen once released: a later need gets a set of its own, installed by a step of its own, so
 * that a database records which sets it has. Only additions (new types, new MAY): 389 DS replicates
 * a schema only to servers whose schema is a subset of it (docs/schema-replication.md).
 */
const STRING = '1.3.6.1.4.1.1466.115.121.1.15';
const TIME = '1.3.6.1.4.1.1466.115.121.1.24';
const INTEGER = '1.3.6.1.4.1.1466.115.121.1.27';
const ORIGIN = "X-ORIGIN 'pki-db-upgrade'";

function text(name: string, desc: string, single = true): string {
  return `( ${name}-oid NAME '${name}' DESC '${desc}' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX ${STRING}${single ? ' SINGLE-VALUE' : ''} ${ORIGIN} )`;
}
function time(name: string, desc: string): string {
  return `( ${name}-oid NAME '${name}' DESC '${desc}' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX ${TIME} SINGLE-VALUE ${ORIGIN} )`;
}

/** The first set (released in 11.6.0 as the step 10.0.0/01-TrackingSchema). */
export const TRACKING_SCHEMA = {
  attributeTypes: [
    text('pkiDbUpgradeVersion', 'PKI database version'),
    text('pkiDbUpgradeStepId', 'Upgrade step identifier (version/NN-Name)'),
    text('pkiDbUpgradeScope', 'Upgrade step scope: cluster or server'),
    text('pkiDbUpgradeChecksum', 'SHA-256 of the upgrade script that was applied'),
    text('pkiDbUpgradeServer', 'Server (host:port) that applied the step'),
    text('pkiDbUpgradePackageVersion', 'Version of the package that applied the step or runs on the server'),
    time('pkiDbUpgradeStartTime', 'When the step started'),
    time('pkiDbUpgradeEndTime', 'When the step ended'),
    `( pkiDbUpgradeDuration-oid NAME 'pkiDbUpgradeDuration' DESC 'Step duration in milliseconds' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX ${INTEGER} SINGLE-VALUE ${ORIGIN} )`,
    text('pkiDbUpgradeOutcome', 'started, done or failed'),
    text('pkiDbUpgradeError', 'Why the step failed'),
    time('pkiDbUpgradeLastRun', 'When the tool last ran against this server'),
    text('pkiDbUpgradeLockHolder', 'Cluster upgrade claim: server, run id and time of the holder'),
  ],
  objectClasses: [
    `( pkiDbUpgradeContainer-oid NAME 'pkiDbUpgradeContainer' DESC 'PKI database upgrade tracking container' SUP top STRUCTURAL MUST cn MAY ( pkiDbUpgradeVersion $ pkiDbUpgradeLockHolder $ description ) ${ORIGIN} )`,
    `( pkiDbUpgradeStep-oid NAME 'pkiDbUpgradeStep' DESC 'One applied PKI database upgrade step' SUP top STRUCTURAL MUST ( cn $ pkiDbUpgradeStepId $ pkiDbUpgradeOutcome ) MAY ( description $ pkiDbUpgradeVersion $ pkiDbUpgradeScope $ pkiDbUpgradeChecksum $ pkiDbUpgradeServer $ pkiDbUpgradePackageVersion $ pkiDbUpgradeStartTime $ pkiDbUpgradeEndTime $ pkiDbUpgradeDuration $ pkiDbUpgradeError ) ${ORIGIN} )`,
    `( pkiDbUpgradeServerInfo-oid NAME 'pkiDbUpgradeServerInfo' DESC 'One server of a PKI cluster as seen by the upgrade tool' SUP top STRUCTURAL MUST cn MAY ( pkiDbUpgradeServer $ pkiDbUpgradePackageVersion $ pkiDbUpgradeVersion $ pkiDbUpgradeLastRun ) ${ORIGIN} )`,
  ],
};

const BOOLEAN = '1.3.6.1.4.1.1466.115.121.1.7';

/**
 * The second set: whether an applied step is backward compatible (what a server on an older
 * package checks at service start), and the audit of the recovery commands (mark-done, forget:
 * who, when, why).
 */
export const TRACKING_AUDIT_SCHEMA = {
  attributeTypes: [
    `( pkiDbUpgradeBackwardCompatible-oid NAME 'pkiDbUpgradeBackwardCompatible' DESC 'FALSE: servers on a package without this step may break once it replicated' EQUALITY booleanMatch SYNTAX ${BOOLEAN} SINGLE-VALUE ${ORIGIN} )`,
    text('pkiDbUpgradeAction', 'Recovery command: mark-done or forget'),
    text('pkiDbUpgradeActor', 'Who ran the recovery command (user and host)'),
    text('pkiDbUpgradeReason', 'Why, as the administrator gave it'),
    time('pkiDbUpgradeAuditTime', 'When the recovery command ran'),
  ],
  objectClasses: [
    // TRACKING_SCHEMA's step class with more MAY: a superset, which 389 DS replicates as it is.
    `( pkiDbUpgradeStep-oid NAME 'pkiDbUpgradeStep' DESC 'One applied PKI database upgrade step' SUP top STRUCTURAL MUST ( cn $ pkiDbUpgradeStepId $ pkiDbUpgradeOutcome ) MAY ( description $ pkiDbUpgradeVersion $ pkiDbUpgradeScope $ pkiDbUpgradeChecksum $ pkiDbUpgradeServer $ pkiDbUpgradePackageVersion $ pkiDbUpgradeStartTime $ pkiDbUpgradeEndTime $ pkiDbUpgradeDuration $ pkiDbUpgradeError $ pkiDbUpgradeBackwardCompatible $ pkiDbUpgradeActor $ pkiDbUpgradeReason ) ${ORIGIN} )`,
    `( pkiDbUpgradeAuditEvent-oid NAME 'pkiDbUpgradeAuditEvent' DESC 'A change an administrator made to the PKI database upgrade history' SUP top STRUCTURAL MUST ( cn $ pkiDbUpgradeAction $ pkiDbUpgradeAuditTime ) MAY ( description $ pkiDbUpgradeStepId $ pkiDbUpgradeScope $ pkiDbUpgradeServer $ pkiDbUpgradeActor $ pkiDbUpgradeReason ) ${ORIGIN} )`,
  ],
};

/** Where the tracking entries live under the PKI suffix. */
export function trackingDNs(suffix: string) {
  const root = `cn=dbUpgrade,${suffix}`;
  return { root, history: `cn=history,${root}`, servers: `cn=servers,${root}`, audit: `cn=audit,${root}` };
}
