/**
 * 389 DS tasks that hold a backend. While an index task runs, the backend is read-only: every
 * write fails with 53 ("database is read-only"); an import takes it offline. The task goes on
 * inside the server when the run that started it dies, so a run following a killed one (dnf
 * retried, an administrator reran it) would fail on its very first write. It waits instead.
 */
import { hasResultCode, ResultCode, type LdapSession } from '../core/directory';
import { DirectoryError } from '../core/errors';
import type { Logger } from '../core/logger';
import { escapeFilterValue } from './filter';

export interface TaskWaitOptions {
  logger?: Logger;
  timeoutMs?: number;
  pollMs?: number;
  /** How often a waiting line is logged. */
  progressMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Task entries (cn=tasks,cn=config) of `backend` that have not finished. */
export async function runningBackendTasks(ldap: LdapSession, backend: string): Promise<{ dn: string; status?: string }[]> {
  try {
    const tasks = await ldap.search('cn=tasks,cn=config', {
      scope: 'sub',
      filter: `(&(nsInstance=${escapeFilterValue(backend)})(!(nsTaskExitCode=*)))`,
      attributes: ['nsTaskStatus'],
    });
    return tasks.map((t) => ({ dn: t.dn, status: t.first('nsTaskStatus') }));
  } catch (err) {
    // A bind DN that may not read cn=config cannot see tasks: its writes will say what is wrong.
    if (hasResultCode(err, ResultCode.NoSuchObject) || hasResultCode(err, ResultCode.InsufficientAccess)) return [];
    throw err;
  }
}

/** Returns once no task holds `backend`; throws DirectoryError when one is still running at the deadline. */
export async function waitForBackendTasks(ldap: LdapSession, backend: string, options: TaskWaitOptions = {}): Promise<void> {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const started = now();
  let lastReport: number | undefined;
  for (;;) {
    const running = await runningBackendTasks(ldap, backend);
    if (running.length === 0) {
      if (lastReport !== undefined) options.logger?.info(`backend ${backend} is free again after ${Math.round((now() - started) / 1000)} s`);
      return;
    }
    const task = running[0];
    const what = `389 DS task ${task.dn} on backend ${backend}${task.status ? ` (${task.status})` : ''}`;
    if (now() - started >= timeoutMs) {
      throw new DirectoryError(
        `${what} is still running after ${Math.round(timeoutMs / 1000)} s; the backend is read-only until it ends`,
        `wait until it has finished (nsTaskExitCode appears in ${task.dn}), then run pki-db-upgrade again`,
      );
    }
    if (lastReport === undefined || now() - lastReport >= (options.progressMs ?? 10_000)) {
      options.logger?.info(`waiting for ${what} to finish: the backend is read-only while it runs (a run interrupted during an index task leaves it running)`);
      lastReport = now();
    }
    await sleep(options.pollMs ?? 250);
  }
}
