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
import { acquireInstanceLock, type InstanceLock } from '../run/lock';
import type { CliArgs } from './args';
import type { Target } from './target';

export async function acquireDirectLock(target: Target, args: CliArgs, logger: Logger): Promise<InstanceLock | undefined> {
  const key = createHash('sha256').update(`${target.url.toLowerCase()}\n${target.suffix.toLowerCase()}`).digest('hex').slice(0, 16);
  const name = `direct-${key}`;
  try {
    return await acquireInstanceLock({
      stateDir: systemPaths(args.root).stateDir(name),
      instance: `${target.suffix} on ${target.url}`,
      mode: args.command,
      waitSec: args.waitSec ?? 0,
      logger,
    });
  } catch (err) {
    if (err instanceof PkiDbUpgradeError) throw err;
    logger.warn(`running without a lock: cannot create ${systemPaths(args.root).stateDir(name)} (${(err as Error).message})`);
    return undefined;
  }
}
