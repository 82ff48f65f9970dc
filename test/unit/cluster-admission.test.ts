/** The cluster rules applied to a plan (src/plan/admission.ts). */
import { holdIncompatible, interruptedElsewhere, knownServers, serverStepsOnly } from '../../src/plan/admission';
import { emptyHistory } from '../../src/core/history-store';
import { planUpgrade } from '../../src/core/planner';
import { orderRegistry } from '../../src/core/registry';
import { registry, step } from '../support/steps';

const ME = 'ca1:389';

function plan(steps = registry(step('1.1.0/01-Index', { scope: 'server' }), step('1.2.0/01-Schema'), step('1.2.0/02-Vlv', { scope: 'server' }))) {
  const state = emptyHistory();
  return { state, plan: planUpgrade({ steps: orderRegistry(steps, '2.0.0'), state, packageVersion: '2.0.0', serverId: ME }) };
}

describe('without the cluster claim', () => {
  it('runs only the server-scope steps before the first pending cluster step', () => {
    const { plan: p } = plan(registry(step('1.1.0/01-Index', { scope: 'server' }), step('1.2.0/01-Schema'), step('1.2.0/02-Vlv', { scope: 'server' })));
    // Tracking (cluster) comes first in every registry: a database never tracked gets nothing.
    expect(serverStepsOnly(p).plan.pending).toEqual([]);
    const tracked = { ...p, pending: p.pending.slice(1) };
    const narrowed = serverStepsOnly(tracked);
    expect(narrowed.plan.pending.map((s) => s.step.id)).toEqual(['1.1.0/01-Index']);
    // The VLV step may need the schema step's attributes: it waits too.
    expect(narrowed.heldBack.map((s) => s.step.id)).toEqual(['1.2.0/01-Schema', '1.2.0/02-Vlv']);
  });

  it('changes nothing when no cluster step is pending', () => {
    const { plan: p } = plan();
    const serverOnly = { ...p, pending: p.pending.filter((s) => s.step.scope === 'server') };
    expect(serverStepsOnly(serverOnly)).toEqual({ plan: serverOnly, heldBack: [] });
  });
});

describe('interrupted steps', () => {
  it('are those another server recorded started and never finished', () => {
    const { state } = plan();
    const steps = orderRegistry(registry(step('1.2.0/01-Schema')), '2.0.0');
    const record = (server: string, stepId: string) => ({
      stepId,
      version: stepId.split('/')[0],
      scope: 'cluster' as const,
      description: '',
      checksum: `sum-${stepId}`,
      server,
      packageVersion: '2.0.0',
      startTime: new Date('2026-11-25T10:00:00Z'),
      outcome: 'started' as const,
    });
    state.ready = true;
    state.cluster.set('1.0.0/01-Tracking', { ...record(ME, '1.0.0/01-Tracking'), outcome: 'done', endTime: new Date() });
    state.cluster.set('1.2.0/01-Schema', record('ca2:389', '1.2.0/01-Schema'));
    const p = planUpgrade({ steps, state, packageVersion: '2.0.0', serverId: ME });
    expect(interruptedElsewhere(p).map((r) => `${r.stepId}@${r.server}`)).toEqual(['1.2.0/01-Schema@ca2:389']);
    // Our own interrupted step is ours to resume.
    state.cluster.set('1.2.0/01-Schema', record(ME, '1.2.0/01-Schema'));
    expect(interruptedElsewhere(planUpgrade({ steps, state, packageVersion: '2.0.0', serverId: ME }))).toEqual([]);
  });
});

describe('steps that are not backward compatible', () => {
  const steps = registry(step('1.1.0/01-Compatible'), step('1.2.0/01-Breaking', { backwardCompatible: false }), step('1.2.0/02-After', { scope: 'server' }));

  it('wait, with every step after them, while a known server runs an older package', () => {
    const { plan: p, state } = plan(steps);
    state.serverInfo.set('ca2:389', { server: 'ca2:389', packageVersion: '1.1.5' });
    const hold = holdIncompatible(p, knownServers(state, [], ME, '2.0.0'));
    expect(hold.plan.pending.map((s) => s.step.id)).toEqual(['1.0.0/01-Tracking', '1.1.0/01-Compatible']);
    expect(hold.heldBack.map((s) => s.step.id)).toEqual(['1.2.0/01-Breaking', '1.2.0/02-After']);
    expect(hold.blocked?.behind).toEqual([{ server: 'ca2:389', packageVersion: '1.1.5' }]);
  });

  it('wait for a server of the topology that never recorded a package', () => {
    const { plan: p, state } = plan(steps);
    const hold = holdIncompatible(p, knownServers(state, ['ca3:389'], ME, '2.0.0'));
    expect(hold.blocked?.behind).toEqual([{ server: 'ca3:389' }]);
  });

  it('run once every known server has a package that ships them', () => {
    const { plan: p, state } = plan(steps);
    state.serverInfo.set('ca2:389', { server: 'ca2:389', packageVersion: '1.2.0' });
    state.serverInfo.set(ME, { server: ME, packageVersion: '1.0.0' }); // our old record: we run 2.0.0 now
    const hold = holdIncompatible(p, knownServers(state, ['ca2:389'], ME, '2.0.0'));
    expect(hold.blocked).toBeUndefined();
    expect(hold.plan).toBe(p);
  });
});
