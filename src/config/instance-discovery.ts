/**
 * Finds the PKI instances on this machine: every folder under /etc/pki (below the configured
 * root) holding at least one subsystem with a CS.cfg. Each subsystem has its own database (base
 * DN); several may live in one 389 DS, and two subsystems naming the same database are upgraded once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { readErrorHint, readErrorReason } from '../files/read-error';
import type { SystemPaths } from './paths';
import { readCsCfg, type CsCfg } from './cs-cfg';

export const SUBSYSTEMS = ['ca', 'kra', 'ocsp', 'tks', 'tps'] as const;

export interface Subsystem {
  name: (typeof SUBSYSTEMS)[number];
  cs: CsCfg;
}

export interface PkiInstance {
  name: string;
  /**
   * The keyring tag prefix: the folder name, never CS.cfg's instanceId (CS.cfg is the PKI user's,
   * who could name another instance's keys with it).
   */
  instanceId: string;
  dir: string;
  /** The PKI user: owner of the instance folder; a restored password.conf belongs to it. */
  owner: { uid: number; gid: number };
  subsystems: Subsystem[];
}

/** Subsystems of one instance; several sharing one database (same server and base DN) count once. */
export function databasesOf(instance: PkiInstance): Subsystem[] {
  const seen = new Set<string>();
  return instance.subsystems.filter((s) => {
    const db = s.cs.internalDb;
    const key = `${db.host.toLowerCase()}:${db.port}/${db.baseDN.toLowerCase().replace(/\s*,\s*/g, ',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Present, as a file or as anything else (a planted link is then refused when read, not skipped). */
function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function hasSubsystem(dir: string): boolean {
  return SUBSYSTEMS.some((s) => exists(path.join(dir, s, 'CS.cfg')));
}

export function loadInstance(paths: SystemPaths, name: string): PkiInstance {
  const dir = paths.instanceDir(name);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read the PKI instance folder ${dir} (${readErrorReason(err)})`, readErrorHint(err, dir, 'check the folder and its permissions'));
    }
    throw new ConfigError(`no PKI instance "${name}": ${dir} does not exist`, `instances found: ${listInstanceNames(paths).join(', ') || 'none'}`);
  }
  const owner = { uid: stat.uid, gid: stat.gid };
  const subsystems: Subsystem[] = [];
  for (const s of SUBSYSTEMS) {
    const file = path.join(dir, s, 'CS.cfg');
    if (exists(file)) subsystems.push({ name: s, cs: readCsCfg(file, owner) });
  }
  if (subsystems.length === 0) {
    throw new ConfigError(`${dir} holds no subsystem (no ${SUBSYSTEMS.map((s) => `${s}/CS.cfg`).join(', ')})`, 'check the instance name');
  }
  return {
    name,
    instanceId: name,
    dir,
    owner,
    subsystems,
  };
}

export function listInstanceNames(paths: SystemPaths): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(paths.pkiConfigDir);
  } catch {
    return [];
  }
  return names.filter((n) => hasSubsystem(path.join(paths.pkiConfigDir, n))).sort();
}
