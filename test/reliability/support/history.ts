/**
 * The upgrade history as the reliability suite checks it: whatever happened to a run (killed,
 * server gone, errors), the history must never say `done` for a step that did not finish, and the
 * recorded database version must be covered by steps recorded done.
 *
 * "Finished" is decided from the database itself, not from the tool: a step is finished when its
 * own dry-run against the database would write nothing (steps are "check, then change"), and for
 * the index step, when every index it defines is built (see unindexedAttributes) or still carries
 * the mark that makes the next run build it (the run's build follows its steps: src/core/index-build.ts).
 */
import { backendDN, type DsInstance } from '../../harness/dirsrv';
import { firstString } from '../../harness/ldap';
import { withLdap } from '../../harness/test-env';
import { FAKE_CA_ISSUER_DN } from '../../support/pki-facts';
import { realStepContext } from '../../support/step-context';
import { runOrder } from '../../../src/app/database';
import { compareVersions } from '../../../src/core/version';
import { MISSING_ISSUER_NAME_FILTER } from '../../../src/pki/ca-database';
import { CA_INDEXES } from '../../../src/pki/ca-indexes';
import { PENDING_BUILD } from '../../../src/apply/index-marks';
import { escapeFilterValue } from '../../../src/ldap/filter';
import { packageVersion, steps as registrySteps } from '../../../upgrades/registry.generated';
import { unindexedAttributes } from './directory-export';

/** The steps a run applies to a CA database (the TPS's is left out there). */
export const STEPS = runOrder({ steps: registrySteps, packageVersion }).steps.filter((s) => !s.appliesTo || s.appliesTo.includes('ca'));
export const REPOSITORY = (suffix: string) => `ou=certificateRepository,ou=ca,${suffix}`;

/** What the history says: each recorded step's outcome, and the database version. */
export async function history(ds: DsInstance, suffix: string) {
  return withLdap(ds, async (c) => {
    const records = new Map<string, string>();
    let version: string | undefined;
    try {
      const root = await c.search(`cn=dbUpgrade,${suffix}`, { scope: 'sub', filter: '(objectClass=*)', attributes: ['pkiDbUpgradeStepId', 'pkiDbUpgradeOutcome', 'pkiDbUpgradeVersion', 'objectClass'] });
      for (const e of root.searchEntries) {
        if (e.dn.toLowerCase() === `cn=dbupgrade,${suffix}`.toLowerCase()) version = firstString(e, 'pkiDbUpgradeVersion');
        const stepId = firstString(e, 'pkiDbUpgradeStepId');
        if (stepId) records.set(stepId, firstString(e, 'pkiDbUpgradeOutcome') ?? '(no outcome)');
      }
    } catch (err) {
      if ((err as { code?: number }).code !== 32) throw err;
    }
    return { records, version };
  });
}

/** True when running the step again would change nothing (its dry-run records no write) and, for the index step, every index is built or marked for the build. */
export async function finished(ds: DsInstance, suffix: string, backend: string, stepId: string): Promise<{ finished: boolean; why?: string }> {
  const step = STEPS.find((s) => s.id === stepId)!;
  const t = await realStepContext(ds, { suffix, backend, subsystem: 'ca', instanceId: await instanceIdOfRun(ds, backend), caIssuerDN: FAKE_CA_ISSUER_DN }, { dryRun: true });
  try {
    await step.upgrade(t.ctx);
  } finally {
    await t.close();
  }
  if (t.ldif.length > 0) return { finished: false, why: `its dry-run would still write:\n${t.ldif.join('').slice(0, 600)}` };
  if (stepId === '11.6.0/01-CAIndexes') {
    const unbuilt = await unindexedAttributes(ds, REPOSITORY(suffix), CA_INDEXES.map((i) => i.attribute));
    const marked = await markedForBuild(ds, backend);
    const lost = unbuilt.filter((a) => !marked.includes(a.toLowerCase()));
    if (lost.length) return { finished: false, why: `indexes defined, never built, and not marked for a build: ${lost.join(', ')}` };
  }
  return { finished: true };
}

/** The definitions of the backend that carry the mark of a build owed (lower case). */
async function markedForBuild(ds: DsInstance, backend: string): Promise<string[]> {
  const found = await withLdap(ds, (c) => c.search(backendDN(backend), { scope: 'sub', filter: `(description=${escapeFilterValue(PENDING_BUILD)})`, attributes: ['cn'] }));
  return found.searchEntries.map((e) => (firstString(e, 'cn') ?? '').toLowerCase());
}

/**
 * The instance id the runs named the CA's VLV search after (the fake instance's folder), read back
 * from that search; before any run made it, one no run uses, so that a dry-run would still write.
 */
async function instanceIdOfRun(ds: DsInstance, backend: string): Promise<string> {
  const searches = await withLdap(ds, (c) => c.search(backendDN(backend), { scope: 'one', filter: '(cn=allRevokedCertsByIssuer-*)', attributes: ['cn'] }));
  return firstString(searches.searchEntries[0] ?? {}, 'cn')?.slice('allRevokedCertsByIssuer-'.length) ?? 'no-run-yet';
}

/** The invariants that must hold whatever happened to the runs. */
export async function expectHistoryTruthful(ds: DsInstance, suffix: string, backend: string): Promise<void> {
  const { records, version } = await history(ds, suffix);
  const problems: string[] = [];
  for (const [stepId, outcome] of records) {
    if (outcome !== 'done') continue;
    const check = await finished(ds, suffix, backend, stepId);
    if (!check.finished) problems.push(`${stepId} is recorded done but ${check.why}`);
  }
  if (version !== undefined) {
    for (const step of STEPS) {
      if (step.scope === 'cluster' && compareVersions(step.version, version) <= 0 && records.get(step.id) !== 'done') {
        problems.push(`the database version says ${version} but ${step.id} is ${records.get(step.id) ?? 'not recorded'}`);
      }
    }
  }
  expect(problems).toEqual([]);
}

/** The end state of a successful upgrade: 11.6.0, every step done once, nothing left to do, indexes built. */
export async function expectFullyUpgraded(ds: DsInstance, suffix: string, backend: string): Promise<void> {
  const { records, version } = await history(ds, suffix);
  expect(version).toBe(packageVersion);
  expect(Object.fromEntries(records)).toEqual(Object.fromEntries(STEPS.map((s) => [s.id, 'done'])));
  await expectHistoryTruthful(ds, suffix, backend);
  const lacking = await withLdap(ds, (c) => c.search(REPOSITORY(suffix), { scope: 'one', filter: MISSING_ISSUER_NAME_FILTER, attributes: ['1.1'] }));
  expect(lacking.searchEntries).toHaveLength(0);
}
