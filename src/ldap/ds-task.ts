/**
 * 389 DS tasks (cn=tasks,cn=config), the one way this tool starts and follows them: a task is
 * started by adding its entry under cn=<kind>,cn=tasks,cn=config and has ended when the server
 * writes nsTaskExitCode into it (as lib389's Task does).
 *
 * Tasks also hold a backend: while an index task runs, the backend is read-only (every write fails
 * with 53, "database is read-only"); an import takes it offline. The task goes on inside the server
 * when the run that started it dies, so a run following a killed one (dnf retried, an administrator
 * reran it) would fail on its very first write: it waits instead (waitForBackendTasks).
 */
import { systemClock, type Clock } from '../core/clock';
import { hasResultCode, ResultCode, type LdapSession } from '../core/directory';
import { DirectoryError } from '../core/errors';
import type { Logger } from '../core/logger';
import { escapeFilterValue, escapeRdnValue } from './filter';

/** How a task ended: nsTaskExitCode (0 = success), its last status line and its log. */
export interface TaskOutcome {
  exitCode: number;
  status: string;
  log: string;
}

/** A task this run started. */
export interface DsTask {
  dn: string;
  name: string;
}

/**
 * Starts a task of `kind` (index, import, export, ...) named `name`, with the task's own
 * attributes (e.g. nsInstance, nsIndexAttribute).
 */
export async function startTask(ldap: LdapSession, kind: string, name: string, attributes: Record<string, string | string[]>): Promise<DsTask> {
  const dn = `cn=${escapeRdnValue(name)},cn=${escapeRdnValue(kind)},cn=tasks,cn=config`;
  await ldap.add(dn, { objectClass: ['top', 'extensibleObject'], cn: name, ...attributes });
  return { dn, name };
}

export interface TaskFollowOptions {
  /** Monotonic ms of `clock` after which the wait gives up, whatever the task's progress. */
  deadlineMs?: number;
  /** Gives up when the task's status line stays the same this long (a long build goes on while it moves). */
  stallMs?: number;
  pollMs?: number;
  clock?: Clock;
  /** Called with each new status line (389 DS writes the progress there: "ca: Indexed 20000 entries (2%)."). */
  onStatus?: (status: string) => void;
}

/**
 * Waits until `task` has ended and returns how. Throws when its entry disappears first (389 DS
 * removes finished task entries after their TTL, far longer than a poll), at the deadline, or once
 * its status has not moved for `stallMs`, saying that the task may still be running.
 */
export async function waitForTask(ldap: LdapSession, task: DsTask, options: TaskFollowOptions): Promise<TaskOutcome> {
  const clock = options.clock ?? systemClock;
  let status: string | undefined;
  let movedAt = clock.monotonicMs();
  for (;;) {
    const entry = await ldap.read(task.dn, ['nsTaskExitCode', 'nsTaskStatus', 'nsTaskLog']);
    if (!entry) throw new DirectoryError(`389 DS task ${task.dn} disappeared before reporting its result`, 'check the errors log of the server');
    const exit = entry.first('nsTaskExitCode');
    if (exit !== undefined) return { exitCode: Number(exit), status: entry.first('nsTaskStatus') ?? '', log: entry.first('nsTaskLog') ?? '' };
    const now = clock.monotonicMs();
    const current = entry.first('nsTaskStatus') ?? '';
    if (current !== status) {
      if (status !== undefined || current) options.onStatus?.(current);
      status = current;
      movedAt = now;
    }
    const stalled = options.stallMs !== undefined && now - movedAt > options.stallMs;
    if (stalled || (options.deadlineMs !== undefined && now > options.deadlineMs)) {
      throw new DirectoryError(
        `389 DS task ${task.name} did not finish ${stalled ? `and its status has not changed for ${Math.round(options.stallMs! / 1000)} s` : 'in time'} (last: ${status || 'none'}); it may still be running`,
        `check ${task.dn} (nsTaskStatus), then run pki-db-upgrade again`,
      );
    }
    await clock.sleep(options.pollMs ?? 250);
  }
}

export interface TaskWaitOptions {
  logger?: Logger;
  /** How long the running task may show no progress (default 30 min). */
  timeoutMs?: number;
  pollMs?: number;
  /** How often a waiting line is logged. */
  progressMs?: number;
  clock?: Clock;
}

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

/**
 * Returns once no task holds `backend`. Throws DirectoryError when the task still running has
 * shown no progress (the same task, the same status line) for `timeoutMs`: a long index build
 * left by an interrupted run is waited for as long as it moves.
 */
export async function waitForBackendTasks(ldap: LdapSession, backend: string, options: TaskWaitOptions = {}): Promise<void> {
  const clock = options.clock ?? systemClock;
  const now = () => clock.monotonicMs();
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const started = now();
  let lastReport: number | undefined;
  let seen = '';
  let movedAt = started;
  for (;;) {
    const running = await runningBackendTasks(ldap, backend);
    if (running.length === 0) {
      if (lastReport !== undefined) options.logger?.info(`backend ${backend} is free again after ${Math.round((now() - started) / 1000)} s`);
      return;
    }
    const task = running[0];
    const what = `389 DS task ${task.dn} on backend ${backend}${task.status ? ` (${task.status})` : ''}`;
    if (what !== seen) {
      seen = what;
      movedAt = now();
    }
    if (now() - movedAt >= timeoutMs) {
      throw new DirectoryError(
        `${what} is still running, with no progress for ${Math.round(timeoutMs / 1000)} s; the backend is read-only until it ends`,
        `wait until it has finished (nsTaskExitCode appears in ${task.dn}), then run pki-db-upgrade again`,
      );
    }
    if (lastReport === undefined || now() - lastReport >= (options.progressMs ?? 10_000)) {
      options.logger?.info(`waiting for ${what} to finish: the backend is read-only while it runs (a run interrupted during an index task leaves it running)`);
      lastReport = now();
    }
    await clock.sleep(options.pollMs ?? 250);
  }
}
