import { DirectoryEntry, LdapResultError, ResultCode, type LdapSession, type SearchOptions } from '../../src/core/directory';
import { DirectoryError } from '../../src/core/errors';
import { startTask, waitForBackendTasks, waitForTask } from '../../src/ldap/ds-task';
import { ManualClock } from '../support/manual-clock';

/** Answers the task search with the tasks still running at each call, from a script. */
function tasksSession(script: (call: number, options?: SearchOptions) => DirectoryEntry[] | Error): LdapSession & { calls: SearchOptions[] } {
  const calls: SearchOptions[] = [];
  return {
    url: 'ldap://fake',
    calls,
    async search(_base: string, options?: SearchOptions) {
      calls.push(options ?? {});
      const answer = script(calls.length, options);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as LdapSession & { calls: SearchOptions[] };
}

const task = (name: string) => new DirectoryEntry(`cn=${name},cn=index,cn=tasks,cn=config`, { nsTaskStatus: 'ca: Indexed 2000 entries (49%).' });

describe('waiting for a task that holds the backend', () => {
  let timing: { pollMs: number; clock: ManualClock };
  beforeEach(() => (timing = { pollMs: 100, clock: new ManualClock(0) }));

  it('returns at once when no unfinished task names the backend', async () => {
    const ldap = tasksSession(() => []);
    await waitForBackendTasks(ldap, 'ca', timing);
    expect(ldap.calls).toHaveLength(1);
    expect(ldap.calls[0].filter).toBe('(&(nsInstance=ca)(!(nsTaskExitCode=*)))');
  });

  it('waits while one runs (a killed run left it), saying so once, then goes on', async () => {
    const lines: string[] = [];
    const logger = { debug: () => undefined, info: (m: string) => lines.push(m), warn: () => undefined, error: () => undefined };
    const ldap = tasksSession((call) => (call <= 3 ? [task('pki-db-upgrade-1-42')] : []));
    await waitForBackendTasks(ldap, 'ca', { ...timing, logger });
    expect(ldap.calls).toHaveLength(4);
    expect(lines).toEqual([
      'waiting for 389 DS task cn=pki-db-upgrade-1-42,cn=index,cn=tasks,cn=config on backend ca (ca: Indexed 2000 entries (49%).) to finish: the backend is read-only while it runs (a run interrupted during an index task leaves it running)',
      'backend ca is free again after 0 s',
    ]);
  });

  it('gives up when the task shows no progress for the timeout, naming it and what to do', async () => {
    const ldap = tasksSession(() => [task('import-1')]);
    const err = await waitForBackendTasks(ldap, 'ca', { ...timing, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectoryError);
    expect(err).toMatchObject({
      message: expect.stringContaining('389 DS task cn=import-1,cn=index,cn=tasks,cn=config on backend ca (ca: Indexed 2000 entries (49%).) is still running, with no progress for 1 s'),
      hint: expect.stringContaining('wait until it has finished (nsTaskExitCode appears in cn=import-1'),
    });
  });

  it('waits for as long as the task moves: the deadline counts from its last progress', async () => {
    // The status moves every 400 ms for 3 s: longer than the 1 s without progress that fails.
    const moving = (call: number) => [new DirectoryEntry('cn=pki-db-upgrade-1-42,cn=index,cn=tasks,cn=config', { nsTaskStatus: `ca: Indexed ${Math.floor(call / 4) * 1000} entries.` })];
    const ldap = tasksSession((call) => (call <= 30 ? moving(call) : []));
    await waitForBackendTasks(ldap, 'ca', { ...timing, timeoutMs: 1000 });
    expect(ldap.calls).toHaveLength(31);
    expect(timing.clock.monotonicMs()).toBe(3000);
  });

  it('does not wait when the bind DN may not see cn=config (its writes will say what is wrong)', async () => {
    const ldap = tasksSession(() => new LdapResultError(ResultCode.InsufficientAccess, 'search', 'cn=tasks,cn=config', 'Insufficient access'));
    await waitForBackendTasks(ldap, 'ca', timing);
    expect(ldap.calls).toHaveLength(1);
  });
});

describe('a task this run starts', () => {
  /** A server whose task entry shows, read after read, the given attributes (undefined: gone). */
  function taskServer(readings: (Record<string, string> | undefined)[]) {
    const added: { dn: string; attributes: Record<string, unknown> }[] = [];
    let reads = 0;
    const ldap = {
      url: 'ldap://fake',
      async add(dn: string, attributes: Record<string, unknown>) {
        added.push({ dn, attributes });
      },
      async read(dn: string) {
        const attrs = readings[Math.min(reads++, readings.length - 1)];
        return attrs && new DirectoryEntry(dn, attrs);
      },
    } as unknown as LdapSession;
    return { ldap, added, reads: () => reads };
  }

  it('is added under cn=<kind>,cn=tasks,cn=config with its own attributes, and ends with its exit code, status and log', async () => {
    const server = taskServer([{ nsTaskStatus: 'Indexing' }, { nsTaskStatus: 'Indexing' }, { nsTaskExitCode: '0', nsTaskStatus: 'Finished indexing.', nsTaskLog: 'ca: Indexed 4000 entries.' }]);
    const task = await startTask(server.ldap, 'index', 'pki-db-upgrade-1-42', { nsInstance: 'ca', nsIndexAttribute: ['issuerName'] });
    expect(server.added).toEqual([
      { dn: 'cn=pki-db-upgrade-1-42,cn=index,cn=tasks,cn=config', attributes: { objectClass: ['top', 'extensibleObject'], cn: 'pki-db-upgrade-1-42', nsInstance: 'ca', nsIndexAttribute: ['issuerName'] } },
    ]);
    const clock = new ManualClock(0);
    expect(await waitForTask(server.ldap, task, { deadlineMs: 10_000, pollMs: 250, clock })).toEqual({ exitCode: 0, status: 'Finished indexing.', log: 'ca: Indexed 4000 entries.' });
    expect(server.reads()).toBe(3);
    expect(clock.ms).toBe(500);
  });

  it('reports a failed task by its exit code, and fails when its entry disappears or the deadline passes', async () => {
    const failed = taskServer([{ nsTaskExitCode: '1', nsTaskStatus: 'Failed', nsTaskLog: 'is in the middle of another task' }]);
    const task = { dn: 'cn=t,cn=index,cn=tasks,cn=config', name: 't' };
    expect(await waitForTask(failed.ldap, task, { deadlineMs: 1000, clock: new ManualClock(0) })).toMatchObject({ exitCode: 1, log: 'is in the middle of another task' });

    const gone = taskServer([{ nsTaskStatus: 'Indexing' }, undefined]);
    await expect(waitForTask(gone.ldap, task, { deadlineMs: 1000, clock: new ManualClock(0) })).rejects.toThrow('389 DS task cn=t,cn=index,cn=tasks,cn=config disappeared before reporting its result');

    const running = taskServer([{ nsTaskStatus: 'Indexing' }]);
    const late = await waitForTask(running.ldap, task, { deadlineMs: 1000, pollMs: 250, clock: new ManualClock(0) }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(DirectoryError);
    expect(late).toMatchObject({ message: '389 DS task t did not finish in time (last: Indexing); it may still be running', hint: expect.stringContaining('check cn=t,cn=index,cn=tasks,cn=config (nsTaskStatus)') });
  });

  it('follows its progress: each new status line is reported, and a status that stops moving ends the wait', async () => {
    const task = { dn: 'cn=t,cn=index,cn=tasks,cn=config', name: 't' };
    const seen: string[] = [];
    const moving = taskServer([{ nsTaskStatus: 'ca: Indexed 1000 entries (10%).' }, { nsTaskStatus: 'ca: Indexed 1000 entries (10%).' }, { nsTaskStatus: 'ca: Indexed 2000 entries (20%).' }, { nsTaskExitCode: '0', nsTaskStatus: 'Finished indexing.' }]);
    expect(await waitForTask(moving.ldap, task, { stallMs: 1000, pollMs: 250, clock: new ManualClock(0), onStatus: (s) => seen.push(s) })).toMatchObject({ exitCode: 0 });
    expect(seen).toEqual(['ca: Indexed 1000 entries (10%).', 'ca: Indexed 2000 entries (20%).']);

    const stuck = taskServer([{ nsTaskStatus: 'ca: Indexed 3000 entries (30%).' }]);
    const clock = new ManualClock(0);
    const err = await waitForTask(stuck.ldap, task, { stallMs: 1000, pollMs: 250, clock }).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: '389 DS task t did not finish and its status has not changed for 1 s (last: ca: Indexed 3000 entries (30%).); it may still be running' });
    expect(clock.monotonicMs()).toBe(1250);
  });
});
