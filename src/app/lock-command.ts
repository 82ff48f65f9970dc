/**
 * `pki-db-upgrade lock status|release`: the locks a run takes, seen and, when left behind,
 * removed. Instance mode: each instance's lock (/var/lib/pki-db-upgrade/<instance>) and the
 * cluster claims in each of its databases; direct mode: the direct run's lock and the claims of
 * that database. A live holder (a run still going, a claim refreshed within its stale time) is
 * released only with --force.
 */
import { listInstanceNames, loadInstance } from '../config/instance-discovery';
import { systemPaths } from '../config/paths';
import type { LdapSession } from '../core/directory';
import { errorMessage, ExitCode, PkiDbUpgradeError } from '../core/errors';
import { DEFAULT_TIMING } from '../converge/cluster-context';
import { claimIsLive, describeClaim, hostLiveness, readClaims, type Claim, type Liveness } from '../lock/cluster-claim';
import { directLockStateDir } from '../lock/direct-lock';
import { inspectInstanceLock, releaseInstanceLock, type LockState } from '../lock/instance-lock';
import { escapeControl } from '../logging/escape';
import type { CliArgs } from './cli-args';
import { openDatabase, type Registry } from './database';
import { lookAtEachSubsystem } from './instance-context';
import { oneLine } from './instance-outcome';
import { instanceRequestOf } from './instance-request';
import type { Io } from './io';
import { directLockRequest, targetFromArgs } from './target';

interface Report {
  lines: string[];
  exitCode: number;
}

export async function lockCommand(args: CliArgs, registry: Registry, io: Io): Promise<number> {
  try {
    return await lockCommandOf(args, registry, io);
  } catch (err) {
    // Before any lock was looked at: no --base-dn, an unknown instance, a broken CS.cfg.
    io.stderr.write(`pki-db-upgrade: ${escapeControl(oneLine(errorMessage(err)))}\n`);
    return err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
  }
}

async function lockCommandOf(args: CliArgs, registry: Registry, io: Io): Promise<number> {
  const release = args.lockAction === 'release';
  const report: Report = { lines: [], exitCode: ExitCode.Ok };
  const note = (line: string) => report.lines.push(line);
  const refuse = (err: unknown) => {
    note(oneLine(errorMessage(err)));
    report.exitCode = err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
  };
  if (args.url) {
    const target = targetFromArgs(args);
    await localLock(directLockStateDir(directLockRequest(target, args)), `${target.label}: direct-run lock`, release, args.force, note, refuse);
    try {
      const db = await openDatabase(target, registry, args.connectTimeoutSec ?? 10);
      try {
        if ((await claims(db.session, target.suffix, target.label, release, args.force, note)).refusedLive) report.exitCode = ExitCode.LockHeld;
      } finally {
        await db.close();
      }
    } catch (err) {
      refuse(err);
    }
  } else {
    const paths = systemPaths(args.root);
    for (const name of args.instance ? [args.instance] : listInstanceNames(paths)) {
      await localLock(paths.stateDir(name), `${name}: instance lock`, release, args.force, note, refuse);
      await lookAtEachSubsystem(
        paths,
        loadInstance(paths, name),
        instanceRequestOf(args),
        io,
        async (sub, session) => {
          const { refusedLive } = await claims(session, sub.cs.internalDb.baseDN, `${name}/${sub.name} ${sub.cs.internalDb.baseDN}`, release, args.force, note);
          if (refusedLive) report.exitCode = ExitCode.LockHeld;
        },
        (_sub, err) => refuse(err),
      );
    }
  }
  for (const line of report.lines) io.stdout.write(`pki-db-upgrade: ${escapeControl(line)}\n`);
  return report.exitCode;
}

async function localLock(stateDir: string, label: string, release: boolean, force: boolean, note: (l: string) => void, refuse: (err: unknown) => void): Promise<void> {
  if (!release) {
    note(`${label}: ${describeLock(inspectInstanceLock(stateDir))}`);
    return;
  }
  try {
    const was = await releaseInstanceLock(stateDir, { force, instance: label });
    note(`${label}: ${was.state === 'free' ? 'free, nothing to release' : `released (it was ${describeLock(was)})`}`);
  } catch (err) {
    refuse(err);
  }
}

function describeLock(lock: LockState): string {
  const who = lock.holder ? `pid ${lock.holder.pid} (${lock.holder.mode} run since ${lock.holder.since})` : 'a run that left no record';
  switch (lock.state) {
    case 'free':
      return 'free';
    case 'held':
      return `held by ${who}, which is running`;
    default:
      return `left behind by ${who}, which is no longer running (the next run takes it over)`;
  }
}

/** The cluster claims in a database; released when not live (or with force), each named. */
async function claims(ldap: LdapSession, suffix: string, label: string, release: boolean, force: boolean, note: (l: string) => void): Promise<{ refusedLive: boolean }> {
  let refusedLive = false;
  const liveness = hostLiveness(new Date(), DEFAULT_TIMING.staleClaimMs);
  const found = await readClaims(ldap, suffix);
  if (found.length === 0) note(`${label}: cluster claim: none`);
  for (const claim of found) {
    const live = claimIsLive(claim, liveness);
    const what = `cluster claim of ${describeClaim(claim)}, heartbeat ${claim.heartbeat}: ${live ? 'live' : staleness(claim, liveness)}`;
    if (!release || (live && !force)) {
      note(`${label}: ${what}${release ? '; not released (a live claim: --force releases it)' : ''}`);
      refusedLive ||= release;
      continue;
    }
    await ldap.delete(claim.dn);
    note(`${label}: released the ${what}`);
  }
  return { refusedLive };
}

function staleness(claim: Claim, liveness: Liveness): string {
  if (claim.host === liveness.localHost && !liveness.isProcessAlive(claim.pid)) return 'left behind (its process on this host is gone)';
  return `left behind (no heartbeat for ${Math.round((liveness.now.getTime() - Date.parse(claim.heartbeat)) / 1000)} s)`;
}
