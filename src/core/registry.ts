/**
 * The ordered list of upgrade steps a run follows: first the history store's own bookkeeping steps
 * (the schema of the records: the store brings them, as a migrator creates its own table), then the
 * steps the package ships, which the build generates from upgrades/. This module checks the list
 * and defines that order: bookkeeping, then version, then index.
 */
import { compareVersions, isVersion } from './version';
import { KNOWN_SUBSYSTEMS, type RegisteredStep } from './step';

export function compareSteps(a: RegisteredStep, b: RegisteredStep): number {
  return compareVersions(a.version, b.version) || a.index - b.index;
}

/**
 * Sorted copy of the steps; throws on a registry no release should ship. The bookkeeping steps
 * belong to no release: their version is the one their records have always carried, and may be
 * above a test package's.
 */
export function orderRegistry(steps: RegisteredStep[], packageVersion: string): RegisteredStep[] {
  const seen = new Set<string>();
  for (const step of steps) {
    if (!isVersion(step.version)) throw new Error(`step ${step.id}: "${step.version}" is not a version`);
    if (!step.bookkeeping && compareVersions(step.version, packageVersion) > 0) {
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
      if (step.bookkeeping) throw new Error(`step ${step.id}: a bookkeeping step applies to every subsystem (no appliesTo)`);
    }
    for (const former of step.formerChecksums ?? []) {
      if (!/^[0-9a-f]{64}$/.test(former)) throw new Error(`step ${step.id}: former checksum "${former}" is not a SHA-256 in lowercase hex`);
    }
  }
  const bookkeeping = steps.filter((s) => s.bookkeeping).sort(compareSteps);
  if (steps.length > 0 && bookkeeping.length === 0) {
    throw new Error("the registry has no bookkeeping step: the history store's steps (src/record/tracking-steps.ts) must come with it");
  }
  for (const step of bookkeeping) {
    // cn=schema replicates: the records' schema must reach every server like any schema step.
    if (step.scope !== 'cluster') throw new Error(`bookkeeping step ${step.id} must be cluster scope (cn=schema replicates)`);
  }
  return [...bookkeeping, ...steps.filter((s) => !s.bookkeeping).sort(compareSteps)];
}
