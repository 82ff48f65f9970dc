/**
 * The lock of a direct run (--url): instance mode locks the PKI instance; a direct run names a
 * database instead, so its lock is named after the server and the base DN. It lives with the
 * instance locks (/var/lib/pki-db-upgrade/direct-<hash>); when that folder cannot be written
 * (an administrator without root), the run goes on unlocked and says so.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../core/logger';
import { PkiDbUpgradeError } from '../core/errors';
import { systemPaths } from '../config/paths';
import { acquireInstanceLock, type InstanceLock } from './instance-lock';

/** What names a direct run's lock and how it waits for it. */
export interface DirectLockRequest {
  url: string;
  suffix: string;
  /** Prefix of every system path (--root); none on a real host. */
  root?: string;
  /** The command, recorded in the holder record. */
  command: string;
  waitSec: number;
}

/** Where the lock of a direct run on that database lives. */
export function directLockStateDir(request: Pick<DirectLockRequest, 'url' | 'suffix' | 'root'>): string {
  const key = createHash('sha256').update(`${request.url.toLowerCase()}\n${request.suffix.toLowerCase()}`).digest('hex').slice(0, 16);
  return systemPaths(request.root).stateDir(`direct-${key}`);
}

export async function acquireDirectLock(request: DirectLockRequest, logger: Logger): Promise<InstanceLock | undefined> {
  const stateDir = directLockStateDir(request);
  try {
    return await acquireInstanceLock({ stateDir, instance: `${request.suffix} on ${request.url}`, mode: request.command, waitSec: request.waitSec, logger });
  } catch (err) {
    if (err instanceof PkiDbUpgradeError) throw err;
    logger.warn(`running without a lock: cannot create ${stateDir} (${(err as Error).message})`);
    return undefined;
  }
}
