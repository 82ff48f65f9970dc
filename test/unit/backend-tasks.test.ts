import { DirectoryEntry, LdapResultError, ResultCode, type LdapSession, type SearchOptions } from '../../src/core/directory';
import { DirectoryError } from '../../src/core/errors';
import { waitForBackendTasks } from '../../src/ldap/backend-tasks';

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
  let clock = 0;
  const timing = { pollMs: 100, sleep: async (ms: number) => void (clock += ms), now: () => clock };
  beforeEach(() => (clock = 0));

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

  it('gives up at the deadline naming the task and what to do', async () => {
    const ldap = tasksSession(() => [task('import-1')]);
    const err = await waitForBackendTasks(ldap, 'ca', { ...timing, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DirectoryError);
    expect(err).toMatchObject({
      message: expect.stringContaining('389 DS task cn=import-1,cn=index,cn=tasks,cn=config on backend ca (ca: Indexed 2000 entries (49%).) is still running after 1 s'),
      hint: expect.stringContaining('wait until it has finished (nsTaskExitCode appears in cn=import-1'),
    });
  });

  it('does not wait when the bind DN may not see cn=config (its writes will say what is wrong)', async () => {
    const ldap = tasksSession(() => new LdapResultError(ResultCode.InsufficientAccess, 'search', 'cn=tasks,cn=config', 'Insufficient access'));
    await waitForBackendTasks(ldap, 'ca', timing);
    expect(ldap.calls).toHaveLength(1);
  });
});
