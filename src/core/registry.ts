/**
 * The ordered list of upgrade steps a package ships. The build generates it from upgrades/;
 * this module checks it and defines the order every run follows: version, then index.
 */
import { compareVersions, isVersion } from './version';
import { KNOWN_SUBSYSTEMS, type RegisteredStep } from './step';

export function compareSteps(a: RegisteredStep, b: RegisteredStep): number {
  return compareVersions(a.version, b.version) || a.index - b.index;
}

/** Sorted copy of the steps; throws on a registry no release should ship. */
export function orderRegistry(steps: RegisteredStep[], packageVersion: string): RegisteredStep[] {
  const seen = new Set<string>();
  for (const step of steps) {
    if (!isVersion(step.version)) throw new Error(`step ${step.id}: "${step.version}" is not a version`);
    if (compareVersions(step.version, packageVersion) > 0) {
      throw new Error(`step ${step.id} is for ${step.version}, newer than the package (${packageVersion})`);
    }
    const key = `${step.version}/${step.index}`;
    if (seen.has(key)) throw new Error(`two steps share version ${step.version} and index ${step.index}`);
    seen.add(key);
    if (step.scope !== 'cluster' && step.scope !== 'server') {
      throw new Error(`step ${step.id}: scope must be "cluster" or "server"`);
    }
    if (step.appliesTo !== undefined) {
      const unknown = step.appliesTo.filter((s) => !(KNOWN_SUBSYSTEMS as readonly string[]).includes(s));
      if (step.appliesTo.length === 0 || unknown.length > 0) {
        throw new Error(`step ${step.id}: appliesTo must list subsystems among ${KNOWN_SUBSYSTEMS.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}, or be left out for every subsystem`);
      }
      if (step.installsTracking) throw new Error(`step ${step.id}: the tracking schema step applies to every subsystem (no appliesTo)`);
    }
    for (const former of step.formerChecksums ?? []) {
      if (!/^[0-9a-f]{64}$/.test(former)) throw new Error(`step ${step.id}: former checksum "${former}" is not a SHA-256 in lowercase hex`);
    }
  }
  const ordered = [...steps].sort(compareSteps);
  const tracking = ordered.findIndex((s) => s.installsTracking);
  if (ordered.length > 0 && tracking !== 0) {
    throw new Error('the first step must install the tracking schema (installsTracking: true)');
  }
  if (ordered.filter((s) => s.installsTracking).length > 1) {
    throw new Error('only one step may install the tracking schema');
  }
  if (ordered[0] && ordered[0].scope !== 'cluster') {
    throw new Error('the tracking schema step must be cluster scope (cn=schema replicates)');
  }
  return ordered;
}
