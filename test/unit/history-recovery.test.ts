/**
 * mark-done and forget (src/record/history-recovery.ts): what they write to the history, the
 * audit entry each leaves, and what they refuse. The LDAP side is in test/recovery-command.test.ts.
 */
import type { HistoryState, StepRecord } from '../../src/core/history-store';
import { orderRegistry } from '../../src/core/registry';
import { planUpgrade } from '../../src/core/planner';
import { recover, type RecoveryRequest } from '../../src/record/history-recovery';
import { TRACKING_STEPS } from '../../src/record/tracking-steps';
import { clockReading } from '../support/manual-clock';
import { MemoryHistoryStore } from '../support/memory-history-store';
import { step } from '../support/steps';

const SERVER = 'ds1:389';
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const clock = clockReading(() => NOW);
const STEPS = orderRegistry(
  [...TRACKING_STEPS, step('1.1.0/01-Schema'), step('1.1.0/02-Index', { scope: 'server' }), step('2.0.0/01-Strict', { backwardCompatible: false })],
  '2.0.0',
);

function record(id: string, outcome: StepRecord['outcome'], extra: Partial<StepRecord> = {}): StepRecord {
  const s = STEPS.find((x) => x.id === id)!;
  return {
    stepId: id, version: s.version, scope: s.scope, description: s.description, checksum: s.checksum, server: SERVER,
    packageVersion: '2.0.0', startTime: new Date(NOW - 60_000), endTime: outcome === 'started' ? undefined : new Date(NOW - 30_000), outcome, ...extra,
  };
}

/** A database with the tracking sets installed and `records` besides. */
function storeWith(...records: StepRecord[]): MemoryHistoryStore {
  const store = new MemoryHistoryStore();
  store.state.ready = true;
  for (const r of [record('10.0.0/01-TrackingSchema', 'done'), record('10.0.0/02-TrackingAudit', 'done'), ...records]) {
    if (r.scope === 'cluster') store.state.cluster.set(r.stepId, r);
    else store.state.servers.set(r.server, new Map([...(store.state.servers.get(r.server) ?? []), [r.stepId, r]]));
  }
  return store;
}

const request = (action: RecoveryRequest['action'], stepId: string, reason = 'fixed by hand, ticket 42'): RecoveryRequest => ({
  action, stepId, reason, actor: 'alice as root@pki1', serverId: SERVER, packageVersion: '2.0.0',
});

async function run(store: MemoryHistoryStore, req: RecoveryRequest): Promise<{ said: string; state: HistoryState }> {
  const said = await recover(store, await store.load(), STEPS, req, clock);
  return { said, state: await store.load() };
}

describe('mark-done', () => {
  it('records a failed step done with who and why, leaves an audit entry, and the plan no longer has it', async () => {
    const store = storeWith(record('1.1.0/01-Schema', 'failed', { error: 'LDAP result 50' }));
    const { said, state } = await run(store, request('mark-done', '1.1.0/01-Schema'));

    expect(said).toMatch(/^1\.1\.0\/01-Schema recorded done by hand \(was: failed on ds1:389 at .*LDAP result 50\)\)/);
    const marked = state.cluster.get('1.1.0/01-Schema')!;
    expect(marked).toMatchObject({ outcome: 'done', server: SERVER, markedBy: { actor: 'alice as root@pki1', reason: 'fixed by hand, ticket 42' }, checksum: STEPS[2].checksum });
    expect(marked.error).toBeUndefined();
    expect(state.audit).toEqual([
      expect.objectContaining({ action: 'mark-done', stepId: '1.1.0/01-Schema', actor: 'alice as root@pki1', reason: 'fixed by hand, ticket 42', time: new Date(NOW) }),
    ]);
    expect(state.audit[0].detail).toMatch(/before: failed on ds1:389/);
    const plan = planUpgrade({ steps: STEPS, state, packageVersion: '2.0.0', serverId: SERVER });
    expect(plan.pending.map((p) => p.step.id)).toEqual(['1.1.0/02-Index', '2.0.0/01-Strict']);
  });

  it('records a step that is not backward compatible as such, so that older servers see it at start', async () => {
    const store = storeWith();
    const { state } = await run(store, request('mark-done', '2.0.0/01-Strict'));
    expect(state.cluster.get('2.0.0/01-Strict')).toMatchObject({ outcome: 'done', backwardCompatible: false });
  });

  it('marks a server-scope step for this server only', async () => {
    const store = storeWith();
    const { state } = await run(store, request('mark-done', '1.1.0/02-Index'));
    expect(state.servers.get(SERVER)?.get('1.1.0/02-Index')?.outcome).toBe('done');
    expect(state.cluster.has('1.1.0/02-Index')).toBe(false);
  });

  it('writes nothing for a step already done', async () => {
    const store = storeWith(record('1.1.0/01-Schema', 'done'));
    const { said } = await run(store, request('mark-done', '1.1.0/01-Schema'));
    expect(said).toBe('1.1.0/01-Schema is already recorded done (on ds1:389): nothing written');
    expect(store.writes).toEqual([]);
  });
});

describe('forget', () => {
  it('deletes the record, keeps what it said in the audit entry, and the step is pending again', async () => {
    const store = storeWith(record('1.1.0/01-Schema', 'done'));
    const { said, state } = await run(store, request('forget', '1.1.0/01-Schema', 'the change was lost in a restore'));
    expect(said).toMatch(/^the record of 1\.1\.0\/01-Schema is deleted \(it said: done on ds1:389 at /);
    expect(state.cluster.has('1.1.0/01-Schema')).toBe(false);
    expect(state.audit).toEqual([expect.objectContaining({ action: 'forget', stepId: '1.1.0/01-Schema', reason: 'the change was lost in a restore' })]);
    expect(state.audit[0].detail).toMatch(/^record deleted; it said: done on ds1:389/);
    const plan = planUpgrade({ steps: STEPS, state, packageVersion: '2.0.0', serverId: SERVER });
    expect(plan.pending.map((p) => [p.step.id, p.reason])).toContainEqual(['1.1.0/01-Schema', 'new']);
  });

  it('forgets the record of a step this package does not ship', async () => {
    const store = storeWith({ ...record('1.1.0/01-Schema', 'done'), stepId: '1.5.0/01-Gone', version: '1.5.0' });
    const { state } = await run(store, request('forget', '1.5.0/01-Gone'));
    expect(state.cluster.has('1.5.0/01-Gone')).toBe(false);
    expect(state.audit.map((e) => e.stepId)).toEqual(['1.5.0/01-Gone']);
  });

  it('writes nothing when there is no record', async () => {
    const store = storeWith();
    expect((await run(store, request('forget', '1.1.0/01-Schema'))).said).toBe('1.1.0/01-Schema has no record here: nothing to forget');
    expect(store.writes).toEqual([]);
  });
});

describe('both refuse, writing nothing', () => {
  it.each([
    ['without a reason', request('mark-done', '1.1.0/01-Schema', '  '), /mark-done needs --reason/],
    ['a step the package does not ship', request('mark-done', '3.0.0/01-Unknown'), /this package ships no step 3\.0\.0\/01-Unknown/],
    ['a step of the history itself', request('forget', '10.0.0/02-TrackingAudit'), /10\.0\.0\/02-TrackingAudit is the history's own schema/],
  ])('%s', async (_what, req, message) => {
    const store = storeWith();
    await expect(recover(store, await store.load(), STEPS, req, clock)).rejects.toThrow(message);
    expect(store.writes).toEqual([]);
  });

  it('on a database whose history cannot hold the audit yet (the second tracking set missing)', async () => {
    const store = storeWith();
    store.state.cluster.delete('10.0.0/02-TrackingAudit');
    await expect(recover(store, await store.load(), STEPS, request('mark-done', '1.1.0/01-Schema'), clock)).rejects.toThrow(
      /cannot hold an audit entry yet \(10\.0\.0\/02-TrackingAudit is not done\)/,
    );
    expect(store.writes).toEqual([]);
  });
});

describe('an audit entry that cannot be written', () => {
  it('undoes the change: no change goes unaudited', async () => {
    for (const action of ['mark-done', 'forget'] as const) {
      const store = storeWith(record('1.1.0/01-Schema', 'failed', { error: 'LDAP result 50' }));
      store.writeAudit = async () => Promise.reject(new Error('LDAP result 50 (Insufficient access)'));
      const before = (await store.load()).cluster.get('1.1.0/01-Schema');
      await expect(recover(store, await store.load(), STEPS, request(action, '1.1.0/01-Schema'), clock)).rejects.toThrow(
        `could not write the audit entry of ${action} 1.1.0/01-Schema (LDAP result 50 (Insufficient access)); the change was undone`,
      );
      expect((await store.load()).cluster.get('1.1.0/01-Schema')).toEqual(before);
    }
  });
});
