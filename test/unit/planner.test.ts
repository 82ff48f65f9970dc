import { emptyHistory, type HistoryState, type StepRecord } from '../../src/core/history-store';
import { DowngradeError } from '../../src/core/errors';
import { planUpgrade, reachedVersion } from '../../src/core/planner';
import { orderRegistry } from '../../src/core/registry';
import { registry, step } from '../support/steps';
import { packageVersion as shippedVersion, steps as shippedSteps } from '../../upgrades/registry.generated';
import { TRACKING_STEPS } from '../../src/record/tracking-steps';

const SERVER = 'ds1:389';

function record(id: string, outcome: StepRecord['outcome'], extra: Partial<StepRecord> = {}): StepRecord {
  const [version] = id.split('/');
  return {
    stepId: id, version, scope: 'cluster', description: '', checksum: `sum-${id}`, server: SERVER,
    packageVersion: '2.0.0', startTime: new Date(0), endTime: new Date(1), durationMs: 1, outcome, ...extra,
  };
}

function state(records: StepRecord[], version?: string): HistoryState {
  const s = emptyHistory();
  s.ready = true;
  s.databaseVersion = version;
  for (const r of records) {
    if (r.scope === 'cluster') s.cluster.set(r.stepId, r);
    else s.servers.set(r.server, new Map([...(s.servers.get(r.server) ?? []), [r.stepId, r]]));
  }
  s.serverInfo.set(SERVER, { server: SERVER, packageVersion: '2.0.0' });
  return s;
}

const steps = registry(step('1.1.0/01-A'), step('1.1.0/02-Index', { scope: 'server' }), step('2.0.0/01-B'));

describe('the planner', () => {
  it('plans every step, in order, on a database never upgraded', () => {
    const plan = planUpgrade({ steps, state: emptyHistory(), packageVersion: '2.0.0', serverId: SERVER });
    expect(plan.pending.map((p) => p.step.id)).toEqual(['1.0.0/01-Tracking', '1.1.0/01-A', '1.1.0/02-Index', '2.0.0/01-B']);
    expect(plan.pending.every((p) => p.reason === 'new')).toBe(true);
  });

  it('plans nothing and no bookkeeping once everything is done', () => {
    const s = state(
      [record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'done'), record('1.1.0/02-Index', 'done', { scope: 'server' }), record('2.0.0/01-B', 'done')],
      '2.0.0',
    );
    const plan = planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER });
    expect(plan.pending).toEqual([]);
    expect(plan.needsBookkeeping).toBe(false);
  });

  it('re-plans a failed step and one left started by a crash, saying why', () => {
    const s = state([record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'failed'), record('1.1.0/02-Index', 'started', { scope: 'server' })], '1.0.0');
    const plan = planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER });
    expect(plan.pending.map((p) => [p.step.id, p.reason])).toEqual([
      ['1.1.0/01-A', 'failed'],
      ['1.1.0/02-Index', 'interrupted'],
      ['2.0.0/01-B', 'new'],
    ]);
  });

  it('runs server-scope steps on a server that has not applied them, even when the cluster steps are done', () => {
    const s = state(
      [record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'done'), record('2.0.0/01-B', 'done'), record('1.1.0/02-Index', 'done', { scope: 'server', server: 'other:389' })],
      '2.0.0',
    );
    const plan = planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER });
    expect(plan.pending.map((p) => p.step.id)).toEqual(['1.1.0/02-Index']);
  });

  it('refuses a database newer than the package', () => {
    const s = state([record('1.0.0/01-Tracking', 'done')], '3.0.0');
    expect(() => planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER })).toThrow(DowngradeError);
    expect(() => planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER })).toThrow(/newer than this package \(2\.0\.0\)/);
  });

  it('refuses when a newer package applied a step this one does not know', () => {
    const s = state([record('1.0.0/01-Tracking', 'done'), record('2.1.0/01-Future', 'done')], '2.0.0');
    expect(() => planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER })).toThrow(/2\.1\.0\/01-Future/);
  });

  it('warns, without re-running, when an applied script was edited', () => {
    const s = state([record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'done', { checksum: 'old' })], '1.1.0');
    const plan = planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER });
    expect(plan.pending.map((p) => p.step.id)).not.toContain('1.1.0/01-A');
    expect(plan.warnings.join('\n')).toMatch(/1\.1\.0\/01-A .*edited/);
  });

  it("accepts without a warning a record holding one of the step's former checksums, and still warns on any other", () => {
    const former = 'a'.repeat(64);
    const withFormer = registry(step('1.1.0/01-A', { checksum: 'b'.repeat(64), formerChecksums: [former] }));
    const plan = (checksum: string) =>
      planUpgrade({ steps: withFormer, state: state([record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'done', { checksum })], '2.0.0'), packageVersion: '2.0.0', serverId: SERVER });
    expect(plan(former)).toMatchObject({ pending: [], warnings: [] });
    expect(plan('b'.repeat(64))).toMatchObject({ pending: [], warnings: [] });
    expect(plan('c'.repeat(64)).warnings).toEqual([expect.stringMatching(/^step 1\.1\.0\/01-A was applied \(on ds1:389\) from a script whose checksum was cccccccccccc; this package ships bbbbbbbbbbbb: .*edited/)]);
    // A former checksum does not make a failed or interrupted step count as done.
    const failed = planUpgrade({ steps: withFormer, state: state([record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'failed', { checksum: former })], '1.0.0'), packageVersion: '2.0.0', serverId: SERVER });
    expect(failed.pending.map((p) => [p.step.id, p.reason])).toEqual([['1.1.0/01-A', 'failed']]);
  });

  it('accepts without a warning the checksums the 11.6.0 release recorded (its file-only checksums), and plans the second tracking set and the steps since as new', () => {
    // pkiDbUpgradeChecksum as 11.6.0 wrote it: `git show <11.6.0>:upgrades/<step>.ts | sha256sum`.
    const released: [string, string][] = [
      ['10.0.0/01-TrackingSchema', '531f91ef495c5cb9b0befbc84cd9d19fb67e016f8280e2740aaea83e213e9d03'],
      ['10.2.0/01-AuthoritySchema', '375721c6fa4815ee31003ba286b7cbdffb981513a1daee12e1f153c5e02e960e'],
      ['10.3.0/01-CertProfileSchema', '54c243ecd18dc7a132951edfa250ad109bedff32a534183e8142fa29c3d2d8fb'],
      ['10.3.3/01-IssuerNameBackfill', 'cde9dad9097dc6ad5b74098ffdb75e5504276b091b5d4c47a88d1a1c1374ec66'],
      ['11.6.0/01-CAIndexes', 'b6abf5f5a2af40f8b82873fccc8850d1d8da928f4eef6dbfad8ce2b2ffa5d4c5'],
      ['11.6.0/02-RequireIssuerName', '2839739b1f8ee3a29ce88dd3ed22ddee98c56118c297e22ceee5f863a257b5ff'],
    ];
    const shipped = orderRegistry([...TRACKING_STEPS, ...shippedSteps], shippedVersion);
    const since = shipped.filter((s) => s.version !== '10.0.0' && !released.some(([id]) => id === s.id)).map((s) => s.id);
    expect(since).toEqual(['11.10.1/01-RevokedCertsByIssuerVlv', '11.10.1/02-EstAdministrators', '11.10.1/03-TpsAuditors', '11.10.1/04-DirectoryServerSettings']);
    expect(shipped.map((s) => s.id)).toEqual(['10.0.0/01-TrackingSchema', '10.0.0/02-TrackingAudit', ...released.slice(1).map(([id]) => id), ...since]);
    const records = released.map(([id, checksum]) =>
      record(id, 'done', { checksum, scope: shipped.find((s) => s.id === id)!.scope, packageVersion: '11.6.0' }),
    );
    const plan = planUpgrade({ steps: shipped, state: state(records, '11.6.0'), packageVersion: shippedVersion, serverId: SERVER, subsystem: 'ca' });
    expect(plan.warnings).toEqual([]);
    // A CA database: all but the TPS's step.
    expect(plan.pending.map((p) => [p.step.id, p.reason])).toEqual([['10.0.0/02-TrackingAudit', 'new'], ...since.filter((id) => id !== '11.10.1/03-TpsAuditors').map((id) => [id, 'new'])]);
  });

  it('accepts the checksum the tracking step had as a shipped step with its import (before the store brought it)', () => {
    const shipped = orderRegistry([...TRACKING_STEPS, ...shippedSteps], shippedVersion);
    const records = shipped.map((s) => record(s.id, 'done', { checksum: s.id === '10.0.0/01-TrackingSchema' ? '2642b3306219eed578ba86dc3a14700aecd63c8c985cefde70c53131dee2e092' : s.checksum, scope: s.scope }));
    expect(planUpgrade({ steps: shipped, state: state(records, shippedVersion), packageVersion: shippedVersion, serverId: SERVER }).warnings).toEqual([]);
  });
});

describe('steps for some subsystems (appliesTo)', () => {
  const mixed = registry(step('1.1.0/01-Schema'), step('1.1.0/02-CaOnly', { appliesTo: ['ca'] }), step('1.2.0/01-CaIndexes', { scope: 'server', appliesTo: ['ca'] }), step('2.0.0/01-KraOrCa', { appliesTo: ['kra', 'ca'] }));
  const plan = (subsystem: 'ca' | 'kra' | 'ocsp' | undefined, records: StepRecord[] = [], version?: string) =>
    planUpgrade({ steps: mixed, state: records.length ? state(records, version) : emptyHistory(), packageVersion: '2.0.0', serverId: SERVER, subsystem });
  const ids = (list: { step: { id: string } }[]) => list.map((p) => p.step.id);

  it('on a database of a listed subsystem, plans them like any other', () => {
    const p = plan('ca');
    expect(ids(p.pending)).toEqual(['1.0.0/01-Tracking', '1.1.0/01-Schema', '1.1.0/02-CaOnly', '1.2.0/01-CaIndexes', '2.0.0/01-KraOrCa']);
    expect(p.notApplicable).toEqual([]);
    expect(p.subsystem).toBe('ca');
  });

  it("on another subsystem's database, leaves them out of the plan and lists them as not applicable", () => {
    const p = plan('kra');
    expect(ids(p.pending)).toEqual(['1.0.0/01-Tracking', '1.1.0/01-Schema', '2.0.0/01-KraOrCa']);
    expect(ids(p.notApplicable)).toEqual(['1.1.0/02-CaOnly', '1.2.0/01-CaIndexes']);
    expect(p.warnings).toEqual([]);
  });

  it('when the subsystem is unknown, runs only the steps for every subsystem', () => {
    const p = plan(undefined);
    expect(ids(p.pending)).toEqual(['1.0.0/01-Tracking', '1.1.0/01-Schema']);
    expect(ids(p.notApplicable)).toEqual(['1.1.0/02-CaOnly', '1.2.0/01-CaIndexes', '2.0.0/01-KraOrCa']);
    expect(p.subsystem).toBeUndefined();
  });

  it('a step recorded done stays done (an earlier release ran it, as a no-op); a failed or interrupted one is left out with its record', () => {
    const p = plan('ocsp', [
      record('1.0.0/01-Tracking', 'done'),
      record('1.1.0/01-Schema', 'done'),
      record('1.1.0/02-CaOnly', 'done', { checksum: 'edited' }),
      record('1.2.0/01-CaIndexes', 'failed', { scope: 'server' }),
      record('2.0.0/01-KraOrCa', 'started'),
    ], '1.1.0');
    expect(p.pending).toEqual([]);
    expect(p.notApplicable.map((n) => [n.step.id, n.previous?.outcome])).toEqual([
      ['1.2.0/01-CaIndexes', 'failed'],
      ['2.0.0/01-KraOrCa', 'started'],
    ]);
    // Done is done: its checksum is still checked.
    expect(p.warnings).toEqual([expect.stringMatching(/^step 1\.1\.0\/02-CaOnly was applied .*edited after it ran/)]);
  });

  it('the database version moves past the steps left out (the engine counts them as complete)', () => {
    const p = plan('kra', [record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-Schema', 'done')], '1.0.0');
    const complete = new Set(['1.0.0/01-Tracking', '1.1.0/01-Schema', ...ids(p.notApplicable)]);
    expect(reachedVersion(orderRegistry(mixed, '2.0.0'), (s) => complete.has(s.id), '2.0.0', '1.0.0')).toBe('1.1.0');
    complete.add('2.0.0/01-KraOrCa');
    expect(reachedVersion(orderRegistry(mixed, '2.0.0'), (s) => complete.has(s.id), '2.0.0', '1.1.0')).toBe('2.0.0');
  });
});

describe('the database version', () => {
  const ordered = orderRegistry(steps, '2.0.0');
  it('stays below a release whose cluster steps are not all done', () => {
    const done = new Set(['1.0.0/01-Tracking']);
    expect(reachedVersion(ordered, (s) => done.has(s.id), '2.0.0')).toBe('1.0.0');
  });
  it('ignores server-scope steps', () => {
    const done = new Set(['1.0.0/01-Tracking', '1.1.0/01-A']);
    expect(reachedVersion(ordered, (s) => done.has(s.id), '2.0.0')).toBe('1.1.0');
  });
  it('is the package version once every cluster step is done', () => {
    const done = new Set(['1.0.0/01-Tracking', '1.1.0/01-A', '2.0.0/01-B']);
    expect(reachedVersion(ordered, (s) => done.has(s.id), '2.3.0')).toBe('2.3.0');
  });
});

describe('the registry', () => {
  it('orders steps by version then index', () => {
    const ordered = orderRegistry([step('1.10.0/01-Z'), step('1.9.0/02-Y'), step('1.9.0/01-X'), step('1.0.0/01-T', { bookkeeping: true })], '2.0.0');
    expect(ordered.map((s) => s.id)).toEqual(['1.0.0/01-T', '1.9.0/01-X', '1.9.0/02-Y', '1.10.0/01-Z']);
  });
  it('rejects a step newer than the package and a duplicate index', () => {
    expect(() => orderRegistry(registry(step('3.0.0/01-X')), '2.0.0')).toThrow(/newer than the package/);
    expect(() => orderRegistry(registry(step('1.5.0/01-X'), step('1.5.0/01-Y')), '2.0.0')).toThrow(/share version/);
  });
  it('rejects an appliesTo that names no known subsystem, and one on a bookkeeping step', () => {
    expect(() => orderRegistry(registry(step('1.5.0/01-X', { appliesTo: [] })), '2.0.0')).toThrow(/1\.5\.0\/01-X: appliesTo must list subsystems among ca, kra, ocsp, tks, tps, acme/);
    expect(() => orderRegistry(registry(step('1.5.0/01-X', { appliesTo: ['ra' as 'ca'] })), '2.0.0')).toThrow(/\(not ra\)/);
    expect(() => orderRegistry([step('1.0.0/01-T', { bookkeeping: true, appliesTo: ['ca'] })], '2.0.0')).toThrow(/bookkeeping step applies to every subsystem/);
    expect(orderRegistry(registry(step('1.5.0/01-X', { appliesTo: ['acme'] })), '2.0.0')).toHaveLength(2);
  });
  it('rejects a former checksum that is not a SHA-256', () => {
    expect(() => orderRegistry(registry(step('1.5.0/01-X', { formerChecksums: ['abc'] })), '2.0.0')).toThrow(/1\.5\.0\/01-X: former checksum "abc" is not a SHA-256/);
  });
  it('puts the bookkeeping steps first, whatever their version, and does not hold their version against the package', () => {
    const ordered = orderRegistry([step('1.0.0/01-X'), step('10.0.0/02-U', { bookkeeping: true }), step('10.0.0/01-T', { bookkeeping: true })], '2.0.0');
    expect(ordered.map((s) => s.id)).toEqual(['10.0.0/01-T', '10.0.0/02-U', '1.0.0/01-X']);
    const done = planUpgrade({ steps: ordered, state: state(ordered.map((s) => record(s.id, 'done')), '2.0.0'), packageVersion: '2.0.0', serverId: SERVER });
    expect(done.pending).toEqual([]);
    expect(reachedVersion(ordered, () => true, '2.0.0')).toBe('2.0.0');
    expect(reachedVersion(ordered, (s) => s.bookkeeping === true, '2.0.0')).toBeUndefined();
  });
  it('requires a bookkeeping step, of cluster scope, with the shipped ones', () => {
    expect(() => orderRegistry([step('1.0.0/01-X')], '2.0.0')).toThrow(/no bookkeeping step/);
    expect(() => orderRegistry([step('1.0.0/01-T', { bookkeeping: true, scope: 'server' })], '2.0.0')).toThrow(/must be cluster scope/);
    expect(() => orderRegistry([step('10.0.0/01-T', { bookkeeping: true }), step('10.0.0/01-X')], '11.0.0')).toThrow(/share version/);
  });
});

describe('a database holding changes this package does not ship that are not backward compatible', () => {
  const steps = registry(step('1.1.0/01-A'));
  const newer = (outcome: StepRecord['outcome'], version = '2.1.0') => record(`${version}/01-Strict`, outcome, { version, backwardCompatible: false, server: 'ds2:389', packageVersion: version });

  it('is refused, naming them, when they are done or begun by a newer package (started, failed)', () => {
    for (const outcome of ['done', 'started', 'failed'] as const) {
      const s = state([record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'done'), newer(outcome)], '2.0.0');
      let thrown: unknown;
      try {
        planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(DowngradeError);
      expect((thrown as DowngradeError).incompatible).toEqual([`2.1.0/01-Strict (${outcome === 'done' ? 'applied' : `${outcome}, not finished,`} by ds2:389, package 2.1.0)`]);
    }
  });

  it('is not refused for a backward compatible change begun by a newer package (a rolling upgrade)', () => {
    const compatible = { ...newer('started'), backwardCompatible: undefined };
    const s = state([record('1.0.0/01-Tracking', 'done'), record('1.1.0/01-A', 'done'), compatible], '2.0.0');
    expect(planUpgrade({ steps, state: s, packageVersion: '2.0.0', serverId: SERVER }).pending).toEqual([]);
  });
});
