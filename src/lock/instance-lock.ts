/**
 * One run at a time per PKI instance: a proper-lockfile lock in the instance's state folder, with
 * the holder's pid written beside it so a second run can say who holds it (exit 3), or wait for it
 * (--wait SECONDS).
 *
 * A run killed with SIGKILL leaves its lock behind. When the recorded holder pid is no longer
 * alive the lock is taken over at once; should the pid have been reused by another process,
 * proper-lockfile's own staleness (the holder refreshes the lock's mtime every few seconds) still
 * frees it after STALE_MS. Taking over and acquiring happen under a short second lock (the guard)
 * so that two runs finding the same dead holder cannot both take over.
 *
 * A kill can land between any two file operations, so no moment may leave a lock without a
 * record of who made it: the record is written (as `run.holder.json.<pid>`) before the lock is
 * made and renamed into place after, and on release (or exit) the lock goes first, then the
 * record. A record without a lock is never read. Release takes the guard too, so that a run
 * taking the lock just after it never has its record removed by the one leaving.
 */
import { systemClock, type Clock } from '../core/clock';
import { isAlive } from '../process/alive';
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../files/make-dirs';
import lockfile from 'proper-lockfile';
import { onProcessExit } from '../process/shutdown';
import { LockHeldError } from '../core/errors';
import type { Logger } from '../core/logger';

const STALE_MS = 30_000;
const UPDATE_MS = 5_000;
const POLL_MS = 250;

export interface LockHolder {
  pid: number;
  since: string;
  mode: string;
}

export interface InstanceLock {
  /** The dead run whose lock was taken over, if any. */
  tookOverFrom?: LockHolder;
  release(): Promise<void>;
}

export interface LockOptions {
  stateDir: string;
  instance: string;
  mode: string;
  /** Seconds to wait for another run to finish; 0 = fail at once. */
  waitSec: number;
  /** Ends the wait for another run (the lock was taken alongside something that failed). */
  signal?: AbortSignal;
  logger: Logger;
  clock?: Clock;
}

type Attempt = { acquired: InstanceLock } | { heldBy?: LockHolder };

export async function acquireInstanceLock(options: LockOptions): Promise<InstanceLock> {
  makeDirs(options.stateDir, 0o700);
  const clock = options.clock ?? systemClock;
  const deadline = clock.monotonicMs() + options.waitSec * 1000;
  let announced = false;
  for (;;) {
    const attempt = await tryOnce(options);
    if ('acquired' in attempt) return attempt.acquired;
    const who = attempt.heldBy ? `pid ${attempt.heldBy.pid} (${attempt.heldBy.mode} run since ${attempt.heldBy.since})` : 'another run';
    const held = `another pki-db-upgrade run holds the lock of instance ${options.instance}: ${who}`;
    if (options.signal?.aborted) throw new LockHeldError(held, 'the wait for it was given up');
    if (clock.monotonicMs() >= deadline) {
      throw new LockHeldError(
        held,
        options.waitSec > 0
          ? `it was still running after ${options.waitSec} s; let it finish, then run again`
          : 'let it finish, or run again with --wait SECONDS to wait for it',
      );
    }
    if (!announced) {
      options.logger.info(`waiting up to ${options.waitSec} s for ${who} to release the lock of ${options.instance}`);
      announced = true;
    }
    await clock.sleep(Math.min(POLL_MS, Math.max(deadline - clock.monotonicMs(), 1)));
  }
}

async function tryOnce(options: LockOptions): Promise<Attempt> {
  const { stateDir } = options;
  const target = path.join(stateDir, 'run');
  const holderFile = path.join(stateDir, HOLDER_FILE);
  const releaseGuard = await takeGuard(stateDir);
  try {
    const lockOptions = {
      realpath: false,
      stale: STALE_MS,
      update: UPDATE_MS,
      // The default throws from a timer (a crash); a blocked event loop must not kill an upgrade.
      onCompromised: (err: Error) => options.logger.warn(`the run lock of ${options.instance} was compromised: ${err.message}`),
    };
    // Read before writing our own candidate record: a dead candidate may be the lock's maker.
    const { records, candidateFiles } = readRecords(stateDir);
    const me: LockHolder = { pid: process.pid, since: new Date().toISOString(), mode: options.mode };
    const myCandidate = writeCandidate(stateDir, me);
    let tookOverFrom: LockHolder | undefined;
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(target, lockOptions);
    } catch (err) {
      const live = records.find((r) => r.holder.pid === process.pid || isAlive(r.holder.pid));
      // Under the guard, the lock was made by a run named in one of these records; it is free to
      // take over only when none of them still runs.
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED' || live || records.length === 0) {
        fs.rmSync(myCandidate, { force: true });
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
        return { heldBy: live?.holder };
      }
      const maker = records.find((r) => r.file !== holderFile) ?? records[0];
      options.logger.warn(`taking over the lock left by pid ${maker.holder.pid} (${maker.holder.mode} run since ${maker.holder.since}), which is no longer running`);
      fs.rmSync(`${target}.lock`, { recursive: true, force: true });
      release = await lockfile.lock(target, lockOptions);
      tookOverFrom = maker.holder;
    }
    fs.renameSync(myCandidate, holderFile);
    // Left by runs killed while taking the lock; nobody else can be writing one under the guard.
    for (const file of candidateFiles) if (file !== myCandidate) fs.rmSync(file, { force: true });
    // On an exit without release (an error, a signal; synchronous, so without the guard): the
    // lock as proper-lockfile would remove it, then the record, only while the record is ours
    // (after a release, another run may hold the lock already).
    const forget = onProcessExit(() => {
      if (readHolder(holderFile)?.pid !== me.pid) return;
      fs.rmSync(`${target}.lock`, { recursive: true, force: true });
      fs.rmSync(holderFile, { force: true });
    });
    return {
      acquired: {
        tookOverFrom,
        release: async () => {
          const releaseGuardAgain = await takeGuard(stateDir);
          try {
            await release().catch(() => undefined);
            fs.rmSync(holderFile, { force: true });
          } finally {
            await releaseGuardAgain().catch(() => undefined);
          }
          forget();
        },
      },
    };
  } finally {
    await releaseGuard().catch(() => undefined);
  }
}

const HOLDER_FILE = 'run.holder.json';

/** The short lock under which the run lock is taken, taken over and released. */
function takeGuard(stateDir: string): Promise<() => Promise<void>> {
  return lockfile.lock(path.join(stateDir, 'guard'), {
    realpath: false,
    stale: 5_000,
    retries: { retries: 200, minTimeout: 10, maxTimeout: 50 },
  });
}

interface HolderRecord {
  file: string;
  holder: LockHolder;
}

/**
 * The last holder's record and the candidate records (whole or not) left by runs killed while
 * taking the lock.
 */
function readRecords(stateDir: string): { records: HolderRecord[]; candidateFiles: string[] } {
  const candidateFiles = fs
    .readdirSync(stateDir)
    .filter((name) => name.startsWith(`${HOLDER_FILE}.`))
    .map((name) => path.join(stateDir, name));
  const records: HolderRecord[] = [];
  for (const file of [path.join(stateDir, HOLDER_FILE), ...candidateFiles]) {
    const holder = readHolder(file);
    if (holder) records.push({ file, holder });
  }
  return { records, candidateFiles };
}

/** Written whole under a temporary name then renamed, so that a reader never sees half a record. */
function writeCandidate(stateDir: string, me: LockHolder): string {
  const file = path.join(stateDir, `${HOLDER_FILE}.${me.pid}`);
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, JSON.stringify(me) + '\n', { mode: 0o644 });
  fs.renameSync(partial, file);
  return file;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && h.pid > 0 ? h : undefined;
  } catch {
    return undefined;
  }
}

/** What the lock of a state folder shows now: free, held by a live run, or left by one that is gone. */
export interface LockState {
  state: 'free' | 'held' | 'left behind';
  /** The run named by the lock's records (the last holder first). */
  holder?: LockHolder;
}

export function inspectInstanceLock(stateDir: string): LockState {
  if (!fs.existsSync(path.join(stateDir, 'run.lock'))) return { state: 'free' };
  const { records } = fs.existsSync(stateDir) ? readRecords(stateDir) : { records: [] };
  const live = records.find((r) => isAlive(r.holder.pid));
  if (live) return { state: 'held', holder: live.holder };
  return { state: 'left behind', holder: records[0]?.holder };
}

/**
 * Removes the lock and its records, under the guard. A live holder's lock is refused (LockHeldError)
 * unless `force`: the administrator then takes the risk of two runs at once. Returns what was there.
 */
export async function releaseInstanceLock(stateDir: string, options: { force: boolean; instance: string }): Promise<LockState> {
  if (!fs.existsSync(stateDir)) return { state: 'free' };
  const releaseGuard = await takeGuard(stateDir);
  try {
    const found = inspectInstanceLock(stateDir);
    if (found.state === 'held' && !options.force) {
      throw new LockHeldError(
        `the lock of ${options.instance} is held by pid ${found.holder!.pid} (${found.holder!.mode} run since ${found.holder!.since}), which is running`,
        'let it finish; or stop it first; --force releases it anyway (two runs may then upgrade at once)',
      );
    }
    fs.rmSync(path.join(stateDir, 'run.lock'), { recursive: true, force: true });
    for (const file of [path.join(stateDir, HOLDER_FILE), ...readRecords(stateDir).candidateFiles]) fs.rmSync(file, { force: true });
    return found;
  } finally {
    await releaseGuard().catch(() => undefined);
  }
}
