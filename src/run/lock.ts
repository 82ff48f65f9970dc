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
 */
import { isAlive } from './process-alive';
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../config/paths';
import lockfile from 'proper-lockfile';
import { LockHeldError } from '../core/errors';
import type { Logger } from '../core/logger';
import { onProcessExit } from './exit-cleanup';

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
  logger: Logger;
}

type Attempt = { acquired: InstanceLock } | { heldBy?: LockHolder };

export async function acquireInstanceLock(options: LockOptions): Promise<InstanceLock> {
  makeDirs(options.stateDir, 0o700);
  const deadline = Date.now() + options.waitSec * 1000;
  let announced = false;
  for (;;) {
    const attempt = await tryOnce(options);
    if ('acquired' in attempt) return attempt.acquired;
    const who = attempt.heldBy ? `pid ${attempt.heldBy.pid} (${attempt.heldBy.mode} run since ${attempt.heldBy.since})` : 'another run';
    if (Date.now() >= deadline) {
      throw new LockHeldError(
        `another pki-db-upgrade run holds the lock of instance ${options.instance}: ${who}`,
        options.waitSec > 0
          ? `it was still running after ${options.waitSec} s; let it finish, then run again`
          : 'let it finish, or run again with --wait SECONDS to wait for it',
      );
    }
    if (!announced) {
      options.logger.info(`waiting up to ${options.waitSec} s for ${who} to release the lock of ${options.instance}`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(deadline - Date.now(), 1))));
  }
}

async function tryOnce(options: LockOptions): Promise<Attempt> {
  const { stateDir } = options;
  const target = path.join(stateDir, 'run');
  const holderFile = path.join(stateDir, 'run.holder.json');
  const releaseGuard = await lockfile.lock(path.join(stateDir, 'guard'), {
    realpath: false,
    stale: 5_000,
    retries: { retries: 200, minTimeout: 10, maxTimeout: 50 },
  });
  try {
    const lockOptions = {
      realpath: false,
      stale: STALE_MS,
      update: UPDATE_MS,
      // The default throws from a timer (a crash); a blocked event loop must not kill an upgrade.
      onCompromised: (err: Error) => options.logger.warn(`the run lock of ${options.instance} was compromised: ${err.message}`),
    };
    let tookOverFrom: LockHolder | undefined;
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(target, lockOptions);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const holder = readHolder(holderFile);
      if (!holder || holder.pid === process.pid || isAlive(holder.pid)) return { heldBy: holder };
      options.logger.warn(`taking over the lock left by pid ${holder.pid} (${holder.mode} run since ${holder.since}), which is no longer running`);
      fs.rmSync(`${target}.lock`, { recursive: true, force: true });
      release = await lockfile.lock(target, lockOptions);
      tookOverFrom = holder;
    }
    const me: LockHolder = { pid: process.pid, since: new Date().toISOString(), mode: options.mode };
    fs.writeFileSync(holderFile, JSON.stringify(me) + '\n', { mode: 0o644 });
    const forgetHolder = onProcessExit(() => fs.rmSync(holderFile, { force: true }));
    return {
      acquired: {
        tookOverFrom,
        release: async () => {
          forgetHolder();
          await release().catch(() => undefined);
        },
      },
    };
  } finally {
    await releaseGuard().catch(() => undefined);
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && h.pid > 0 ? h : undefined;
  } catch {
    return undefined;
  }
}
