/**
 * A Dogtag subsystem's database as one release's pkispawn created it, from that release's LDIF
 * files (fixtures/dogtag/releases/<release>/<subsystem>): the subtree (create.ldif, db.ldif before
 * 11.x), its ACLs, and the backend's indexes and VLV searches in cn=config. The index and VLV tasks
 * are not run: what is compared is the configuration, and a real server builds them once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createBackend, type DsInstance } from './dirsrv';
import { withClient } from './ldap';
import { applyLdif, fixturesDir, readFixture } from './pki-database';

export const RELEASE_SUBSYSTEMS = ['ca', 'kra', 'ocsp', 'tks', 'tps'] as const;
export type ReleaseSubsystem = (typeof RELEASE_SUBSYSTEMS)[number];

export interface ReleaseDatabase {
  release: string;
  subsystem: ReleaseSubsystem;
  suffix: string;
  backendName: string;
  /** {instanceId}: the PKI instance the VLV searches are named after. */
  instanceId: string;
  /** {caIssuerDN}, for the CA's VLV filters. */
  caIssuerDN: string;
}

/** The files, in the order pkispawn applies them; the subtree file changed its name in 11.x. */
function filesOf(release: string, subsystem: ReleaseSubsystem): string[] {
  const dir = path.join(fixturesDir(), 'releases', release, subsystem);
  if (!existsSync(dir)) throw new Error(`no fixtures for ${subsystem} of Dogtag ${release} (${dir})`);
  const subtree = existsSync(path.join(dir, 'create.ldif')) ? 'create.ldif' : 'db.ldif';
  return [subtree, 'acl.ldif', 'index.ldif', 'vlv.ldif'].filter((f) => existsSync(path.join(dir, f))).map((f) => `releases/${release}/${subsystem}/${f}`);
}

export async function loadReleaseDatabase(ds: DsInstance, db: ReleaseDatabase): Promise<void> {
  await createBackend(ds, db.suffix, db.backendName);
  await applyFixtures(ds, filesOf(db.release, db.subsystem), { rootSuffix: db.suffix, database: db.backendName, instanceId: db.instanceId, caIssuerDN: db.caIssuerDN });
}

/** Fixture files (paths under the fixtures folder), in order, with their placeholders filled in. */
export async function applyFixtures(ds: DsInstance, files: string[], substitutions: Record<string, string>): Promise<void> {
  const texts = await Promise.all(files.map(readFixture));
  await withClient(ds, async (c) => {
    for (const text of texts) await applyLdif(c, text, substitutions);
  });
}

/** Server-wide settings of a release (server/usn.ldif before 11.x, server/config.ldif since). */
export async function loadReleaseServerSettings(ds: DsInstance, release: string): Promise<void> {
  const dir = path.join(fixturesDir(), 'releases', release, 'server');
  const files = ['usn.ldif', 'config.ldif'].filter((f) => existsSync(path.join(dir, f)));
  await applyFixtures(ds, files.map((f) => `releases/${release}/server/${f}`), {});
}
