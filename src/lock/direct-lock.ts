/**
 * The lock of a direct run (--url): instance mode locks the PKI instance; a direct run names a
 * database instead, so its lock is named after the server and the base DN. It lives with the
 * instance locks (/var/lib/pki-db-upgrade/direct-<hash>); when that folder cannot be written
 * (an administrator without root), the run goes on unlocked and says so.
 */
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
  /** Ends a wait for another run's lock. */
  signal?: AbortSignal;
}

/** Where the lock of a direct run on that database lives. */
export function directLockStateDir(request: Pick<DirectLockRequest, 'url' | 'suffix' | 'root'>): string {
  const key = fnv1a64(`${request.url.toLowerCase()}\n${request.suffix.toLowerCase()}`);
  return systemPaths(request.root).stateDir(`direct-${key}`);
}

/**
 * FNV-1a (64 bits) of the UTF-8 of `text`, in hex. The key names a folder and guards nothing (a
 * collision would only make two databases share a lock), and node:crypto costs ~4 ms to load in
 * a run that may have nothing else to do.
 */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, '0');
}

export async function acquireDirectLock(request: DirectLockRequest, logger: Logger): Promise<InstanceLock | undefined> {
  const stateDir = directLockStateDir(request);
  try {
    return await acquireInstanceLock({ stateDir, instance: `${request.suffix} on ${request.url}`, mode: request.command, waitSec: request.waitSec, signal: request.signal, logger });
  } catch (err) {
    if (err instanceof PkiDbUpgradeError) throw err;
    logger.warn(`running without a lock: cannot create ${stateDir} (${(err as Error).message})`);
    return undefined;
  }
}
