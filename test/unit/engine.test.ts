import { UpgradeEngine, type EngineOptions } from '../../src/core/engine';
import { clockReading } from '../support/manual-clock';
import { silentLogger, type Logger } from '../../src/core/logger';
import type { RegisteredStep, StepContext } from '../../src/core/step';
import { orderRegistry } from '../../src/core/registry';
import { LdapResultError, ResultCode } from '../../src/core/directory';
import { ClaimLostError, DirectoryError, ServerUnreachableError, StepFailedError } from '../../src/core/errors';
import type { StepRecord } from '../../src/core/history-store';
import { MemoryHistoryStore } from '../support/memory-history-store';
import { keptLines } from '../support/kept-lines';
import { registry, step } from '../support/steps';

const SERVER = 'ds1:389';
let tick = 0;
/** Each reading one second later. */
const clock = clockReading(() => 1_700_000_000_000 + 1000 * tick++);

function engine(store: MemoryHistoryStore, steps: RegisteredStep[], dryRun = false, more: Partial<EngineOptions> = {}) {
  return new UpgradeEngine({
    steps: orderRegistry(steps, '2.0.0'),
    packageVersion: '2.0.0',
    serverId: SERVER,
    store,
    logger: silentLogger,
    clock,
    contextFor: () => ({ dryRun }) as unknown as StepContext,
    dryRun,
    ...more,
  });
}


describe('the engine', () => {
  it('records each step started before it runs and done after', async () => {
    const store = new MemoryHistoryStore();
    const seen: string[] = [];
    const steps = registry(
      step('1.1.0/01-A', { upgrade: async () => void seen.push(`A ran; history had ${[...store.state.cluster.keys()].join(',')}`) }),
    );
    const result = await engine(store, steps).run();
    expect(result.failure).toBeUndefined();
    // Tracking: no history before it, so it is recorded once done.
    expect(store.writes).toEqual(['initialize', '1.0.0/01-Tracking:done', 'version:1.0.0', '1.1.0/01-A:started', '1.1.0/01-A:done', 'version:2.0.0', `server:${SERVER}`]);
    expect(seen).toEqual(['A ran; history had 1.0.0/01-Tracking,1.1.0/01-A']);
    const a = store.state.cluster.get('1.1.0/01-A')!;
    expect(a.outcome).toBe('done');
    expect(a.durationMs).toBe(a.endTime!.getTime() - a.startTime.getTime());
  });

  it('writes nothing on a second run', async () => {
    const store = new MemoryHistoryStore();
    const steps = registry(step('1.1.0/01-A'), step('1.1.0/02-I', { scope: 'server' }));
    await engine(store, steps).run();
    store.writes = [];
    const second = await engine(store, steps).run();
    expect(second.results).toEqual([]);
    expect(store.writes).toEqual([]);
  });

  it('goes on from the plan its caller made a moment ago, reading the history once', async () => {
    const store = new MemoryHistoryStore();
    await engine(store, registry(step('1.1.0/01-A'))).run();
    const steps = registry(step('1.1.0/01-A'), step('1.2.0/01-B'));
    store.loads = 0;
    store.writes = [];
    const next = engine(store, steps);
    const result = await next.run(await next.plan());
    expect(result.results.map((r) => `${r.step.id}:${r.outcome}`)).toEqual(['1.2.0/01-B:done']);
    expect(store.loads).toBe(1);
    expect(store.writes).toEqual(['1.2.0/01-B:started', '1.2.0/01-B:done', `server:${SERVER}`]);
  });

  it('stops at a failing step, records it failed and keeps the version below its release', async () => {
    const store = new MemoryHistoryStore();
    let bRan = false;
    const steps = registry(
      step('1.1.0/01-A'),
      step('1.2.0/01-Boom', { upgrade: async () => { throw new Error('disk on fire'); } }),
      step('1.2.0/02-B', { upgrade: async () => void (bRan = true) }),
    );
    const result = await engine(store, steps).run();
    expect((result.failure as StepFailedError | undefined)?.stepId).toBe('1.2.0/01-Boom');
    expect(result.failure?.exitCode).toBe(1);
    expect(bRan).toBe(false);
    expect(store.state.cluster.get('1.2.0/01-Boom')).toMatchObject({ outcome: 'failed', error: 'disk on fire' });
    expect(store.state.databaseVersion).toBe('1.1.0');
  });

  it('resumes at the failed step on the next run', async () => {
    const store = new MemoryHistoryStore();
    let fail = true;
    const ran: string[] = [];
    const steps = registry(
      step('1.1.0/01-A', { upgrade: async () => void ran.push('A') }),
      step('1.2.0/01-Flaky', { upgrade: async () => { ran.push('Flaky'); if (fail) throw new Error('busy'); } }),
    );
    await engine(store, steps).run();
    fail = false;
    ran.length = 0;
    const second = await engine(store, steps).run();
    expect(ran).toEqual(['Flaky']);
    expect(second.databaseVersion).toBe('2.0.0');
    expect(store.state.cluster.get('1.2.0/01-Flaky')).toMatchObject({ outcome: 'done' });
    expect(store.state.cluster.get('1.2.0/01-Flaky')?.error).toBeUndefined();
  });

  it('in dry-run runs the steps against the recording context and writes no history', async () => {
    const store = new MemoryHistoryStore();
    const contexts: boolean[] = [];
    const steps = registry(step('1.1.0/01-A', { upgrade: async (ctx) => void contexts.push(ctx.dryRun) }));
    const result = await engine(store, steps, true).run();
    expect(result.results.map((r) => r.outcome)).toEqual(['planned', 'planned']);
    expect(contexts).toEqual([true]);
    expect(store.writes).toEqual([]);
  });

  describe('steps for other subsystems (appliesTo)', () => {
    const ran: string[] = [];
    const steps = () =>
      registry(
        step('1.1.0/01-Schema', { upgrade: async () => void ran.push('Schema') }),
        step('1.2.0/01-CaOnly', { appliesTo: ['ca'], upgrade: async () => void ran.push('CaOnly') }),
        step('1.2.0/02-CaIndexes', { scope: 'server', appliesTo: ['ca'], upgrade: async () => void ran.push('CaIndexes') }),
      );
    beforeEach(() => void (ran.length = 0));

    it('are neither run nor recorded on the database of another subsystem, and the version moves past them', async () => {
      const store = new MemoryHistoryStore();
      const { logger, lines } = keptLines();
      const result = await engine(store, steps(), false, { logger, subsystem: 'kra', subsystemBasis: 'it holds the key repository' }).run();
      expect(result.failure).toBeUndefined();
      expect(ran).toEqual(['Schema']);
      expect(result.results.map((r) => r.step.id)).toEqual(['1.0.0/01-Tracking', '1.1.0/01-Schema']);
      expect(result.plan!.notApplicable.map((n) => n.step.id)).toEqual(['1.2.0/01-CaOnly', '1.2.0/02-CaIndexes']);
      expect(store.writes.filter((w) => /Ca/.test(w))).toEqual([]);
      expect(store.state.databaseVersion).toBe('2.0.0');
      expect(lines).toEqual(
        expect.arrayContaining([
          'info: subsystem of this database: kra (it holds the key repository)',
          'info: not applicable here: 1.2.0/01-CaOnly is for ca only; not run, not recorded',
          'info: not applicable here: 1.2.0/02-CaIndexes is for ca only; not run, not recorded',
        ]),
      );

      // The next run has nothing to do and says so in one line (the rest is debug).
      store.writes = [];
      lines.length = 0;
      const second = await engine(store, steps(), false, { logger, subsystem: 'kra' }).run();
      expect(second.results).toEqual([]);
      expect(store.writes).toEqual([]);
      expect(lines.filter((l) => !l.startsWith('debug:'))).toEqual(['info: nothing to do: database at 2.0.0, package 2.0.0']);
    });

    it('are left out when the subsystem is unknown, and run once it is known (nothing was recorded)', async () => {
      const store = new MemoryHistoryStore();
      await engine(store, steps()).run();
      expect(ran).toEqual(['Schema']);
      expect(store.state.databaseVersion).toBe('2.0.0');
      const later = await engine(store, steps(), false, { subsystem: 'ca' }).run();
      expect(ran).toEqual(['Schema', 'CaOnly', 'CaIndexes']);
      expect(later.results.map((r) => [r.step.id, r.outcome])).toEqual([
        ['1.2.0/01-CaOnly', 'done'],
        ['1.2.0/02-CaIndexes', 'done'],
      ]);
      expect(store.state.databaseVersion).toBe('2.0.0');
    });

    it('are not rehearsed in dry-run', async () => {
      const result = await engine(new MemoryHistoryStore(), steps(), true, { subsystem: 'tps' }).run();
      expect(result.results.map((r) => r.step.id)).toEqual(['1.0.0/01-Tracking', '1.1.0/01-Schema']);
      expect(ran).toEqual(['Schema']);
    });

    it('run on a database of their subsystem', async () => {
      const store = new MemoryHistoryStore();
      await engine(store, steps(), false, { subsystem: 'ca' }).run();
      expect(ran).toEqual(['Schema', 'CaOnly', 'CaIndexes']);
      expect(store.state.cluster.get('1.2.0/01-CaOnly')?.outcome).toBe('done');
    });
  });

  it('lets admit() refuse the run: the refusal is the result\'s failure, and nothing is written', async () => {
    const store = new MemoryHistoryStore();
    const steps = registry(step('1.1.0/01-A'));
    const e = new UpgradeEngine({
      steps: orderRegistry(steps, '2.0.0'), packageVersion: '2.0.0', serverId: SERVER, store, logger: silentLogger, clock,
      contextFor: () => ({}) as StepContext, dryRun: false,
      admit: async () => { throw new Error('replication is not converged'); },
    });
    const refused = await e.run();
    expect(refused.failure?.message).toBe('replication is not converged');
    expect(refused.results).toEqual([]);
    expect(store.writes).toEqual([]);
  });

  describe('when the server refuses or goes away', () => {
    /** A store whose writes of records matching `refused` fail with `error`. */
    class RefusingStore extends MemoryHistoryStore {
      constructor(private readonly refused: (r: StepRecord) => boolean, private readonly error: () => Error) {
        super();
      }
      override async write(record: StepRecord): Promise<void> {
        if (this.refused(record)) throw this.error();
        return super.write(record);
      }
    }
    const busy = (dn: string) => new LdapResultError(ResultCode.Busy, 'modify', dn, 'Server is busy', 'cn=Directory Manager');

    it('a refused history write stops the run naming the record and what to do, and records nothing more', async () => {
      const store = new RefusingStore((r) => r.stepId === '1.1.0/01-A' && r.outcome === 'started', () => busy('cn=1.1.0/01-A,cn=history'));
      let ran = false;
      const { failure } = await engine(store, registry(step('1.1.0/01-A', { upgrade: async () => void (ran = true) }))).run();
      expect(failure).toBeInstanceOf(DirectoryError);
      expect(failure).toMatchObject({
        message: expect.stringContaining('could not record step 1.1.0/01-A as started in the upgrade history: modify cn=1.1.0/01-A,cn=history failed: LDAP result 51'),
        hint: 'the server is busy: wait a while, then run pki-db-upgrade again: it resumes where it stopped',
      });
      expect(ran).toBe(false);
      expect(store.state.cluster.has('1.1.0/01-A')).toBe(false);
    });

    it("a step's failure is reported even when recording it fails too; the record stays started", async () => {
      const store = new RefusingStore((r) => r.outcome === 'failed', () => busy('cn=1.1.0/01-Boom,cn=history'));
      const steps = registry(step('1.1.0/01-Boom', { upgrade: async () => { throw new LdapResultError(ResultCode.UnwillingToPerform, 'modify', 'cn=x', 'database is read-only'); } }));
      const result = await engine(store, steps).run();
      expect(result.failure?.message).toMatch(/^step 1\.1\.0\/01-Boom failed: modify cn=x failed: LDAP result 53 \(database is read-only\) \(the failure could not be recorded: .*LDAP result 51/);
      expect(result.failure?.hint).toMatch(/^the server refuses writes to this database .*; the database stays at version 1\.0\.0/);
      expect(store.state.cluster.get('1.1.0/01-Boom')?.outcome).toBe('started');
    });

    it('a step that lost the server ends the run as an outage (exit 4); its record says failed when that could still be written', async () => {
      const store = new MemoryHistoryStore();
      const lost = new ServerUnreachableError('lost the connection to 389 DS at ldap://ds1:389 during modify cn=x');
      const result = await engine(store, registry(step('1.1.0/01-Lost', { upgrade: async () => { throw lost; } }))).run();
      expect(result.failure).toBe(lost);
      expect(result.failure?.exitCode).toBe(4);
      expect(store.state.cluster.get('1.1.0/01-Lost')?.outcome).toBe('failed');
    });
  });

  it('fenced: a run that lost its claim stops before the next step, and writes nothing more, not even the failure', async () => {
    const store = new MemoryHistoryStore();
    let lost = false;
    const fence = { verify: async () => { if (lost) throw new ClaimLostError('this run lost the cluster claim'); } };
    const ran: string[] = [];
    const steps = registry(
      step('1.1.0/01-A', { upgrade: async () => { ran.push('A'); lost = true; } }),
      step('1.1.0/02-B', { upgrade: async () => void ran.push('B') }),
    );
    const run = new UpgradeEngine({ steps: orderRegistry(steps, '2.0.0'), packageVersion: '2.0.0', serverId: SERVER, store, logger: silentLogger, clock, contextFor: () => ({}) as StepContext, dryRun: false, fence });
    const stopped = await run.run();
    expect(stopped.failure).toBeInstanceOf(ClaimLostError);
    // The step before the loss stays in the results, done.
    expect(stopped.results.map((r) => `${r.step.id} ${r.outcome}`)).toEqual(['1.0.0/01-Tracking done', '1.1.0/01-A done']);
    expect(ran).toEqual(['A']);
    expect(store.writes.filter((w) => w.includes('02-B'))).toEqual([]);

    // Lost in the middle of a step (a bulk pass found out): the record stays `started`.
    const again = new MemoryHistoryStore();
    const inside = registry(step('1.1.0/01-A', { upgrade: async () => { throw new ClaimLostError('lost between two batches'); } }));
    const fenced = new UpgradeEngine({ steps: orderRegistry(inside, '2.0.0'), packageVersion: '2.0.0', serverId: SERVER, store: again, logger: silentLogger, clock, contextFor: () => ({}) as StepContext, dryRun: false });
    expect((await fenced.run()).failure).toBeInstanceOf(ClaimLostError);
    expect(again.state.cluster.get('1.1.0/01-A')?.outcome).toBe('started');
    expect(again.writes.slice(-1)).toEqual(['1.1.0/01-A:started']);
  });

  it('takes the backup once, before the first step that asks for it, and names it in the result', async () => {
    const store = new MemoryHistoryStore();
    const taken: string[] = [];
    const backup = {
      before: (s: RegisteredStep) => s.id === '1.2.0/01-Data' || s.id === '2.0.0/01-More',
      take: async () => {
        taken.push(`taken with history ${[...store.state.cluster.keys()].join(',')}`);
        return '/var/lib/dirsrv/slapd-x/ldif/backup.ldif';
      },
    };
    const steps = registry(step('1.1.0/01-Index', { scope: 'server' }), step('1.2.0/01-Data'), step('2.0.0/01-More'));
    const result = await engine(store, steps, false, { backup }).run();
    expect(result.failure).toBeUndefined();
    expect(result.backup).toBe('/var/lib/dirsrv/slapd-x/ldif/backup.ldif');
    expect(taken).toEqual(['taken with history 1.0.0/01-Tracking']); // after the index step, before the data step's record
  });

  it('stops where the backup fails: that step is neither recorded nor run', async () => {
    const store = new MemoryHistoryStore();
    let ran = false;
    const backup = { before: () => true, take: async () => Promise.reject(new Error('export task exit 1')) };
    const result = await engine(store, registry(step('1.1.0/01-Data', { upgrade: async () => void (ran = true) })), false, { backup }).run();
    expect(result.failure?.message).toBe('export task exit 1');
    expect(result.failure?.exitCode).toBe(1);
    expect(ran).toBe(false);
    expect(store.writes).toEqual([]); // 'always': before even the tracking step
  });
});
