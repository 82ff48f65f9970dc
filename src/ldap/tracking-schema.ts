/**
 * Schema of the entries that record the database version and the upgrade history. 389 DS checks
 * schema, so these are real definitions; they live in cn=schema, which replicates, like the
 * entries themselves. OIDs use 389 DS's "<name>-oid" form, as Dogtag's own schema does, so no
 * OID arc is claimed.
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

/** Where the tracking entries live under the PKI suffix. */
export function trackingDNs(suffix: string) {
  const root = `cn=dbUpgrade,${suffix}`;
  return { root, history: `cn=history,${root}`, servers: `cn=servers,${root}` };
}
