/**
 * `pki-db-upgrade mark-done STEP --reason TEXT` and `forget STEP --reason TEXT` on one database:
 * the instance's (--instance, and --subsystem when it has several) or the one named by --url. The
 * command holds the lock a run of its mode takes, and in direct mode refuses while an instance-mode
 * run of this host is going, so no run of this host is changing the history meanwhile; and it
 * refuses while a live cluster claim says a run of another server may be (--force overrides, as
 * for lock release). What it changes is in src/record/history-recovery.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import { listInstanceNames, loadInstance, databasesOf } from '../config/instance-discovery';
import { systemPaths } from '../config/paths';
import { systemClock } from '../core/clock';
import type { LdapSession } from '../core/directory';
import { ConfigError, errorMessage, ExitCode, LockHeldError, PkiDbUpgradeError } from '../core/errors';
import { DEFAULT_TIMING } from '../converge/cluster-context';
import { claimIsLive, describeClaim, hostLiveness, readClaims } from '../lock/cluster-claim';
import { acquireDirectLock } from '../lock/direct-lock';
import { acquireInstanceLock, inspectInstanceLock, type InstanceLock } from '../lock/instance-lock';
import { escapeControl } from '../logging/escape';
import { createRunLogger } from '../logging/run-logger';
import { recover } from '../record/history-recovery';
import { LdapHistoryStore } from '../record/ldap-history-store';
import { identifyServer } from '../ldap/server-identity';
import { LdaptsSession } from '../ldap/ldapts-session';
import type { CliArgs } from './cli-args';
import type { Registry } from './database';
import { connectSubsystem, instanceContext, loadInstanceConfig } from './instance-context';
import { oneLine } from './instance-outcome';
import { instanceRequestOf } from './instance-request';
import type { Io } from './io';
import { directLockRequest, targetConnection, targetFromArgs } from './target';

export async function recoveryCommand(args: CliArgs, registry: Registry, io: Io): Promise<number> {
  try {
    const said = args.url ? await onDirectTarget(args, registry, io) : await onInstance(args, registry, io);
    io.stdout.write(`pki-db-upgrade: ${escapeControl(said)}\n`);
    return ExitCode.Ok;
  } catch (err) {
    const text = err instanceof PkiDbUpgradeError ? err.describe() : errorMessage(err);
    io.stderr.write(`pki-db-upgrade: ${escapeControl(oneLine(text))}\n`);
    return err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
  }
}

async function onDirectTarget(args: CliArgs, registry: Registry, io: Io): Promise<string> {
  const target = targetFromArgs(args);
  if (!args.force) refuseWhileAnInstanceRuns(args.root);
  const logger = createRunLogger({ consoleLevel: args.verbose ? 'debug' : 'warn', logFile: args.logFile, stderr: io.stderr });
  const lock = await acquireDirectLock({ ...directLockRequest(target, args), waitSec: 0 }, logger);
  try {
    const session = await LdaptsSession.open({ ...targetConnection(target), connectTimeoutMs: (args.connectTimeoutSec ?? 10) * 1000 });
    try {
      const serverId = target.serverId ?? (await identifyServer(session));
      return `${target.label}: ${await recoverOn(session, target.suffix, serverId, args, registry)}`;
    } finally {
      await session.close();
    }
  } finally {
    await lock?.release();
    await logger.close();
  }
}

/**
 * A direct-mode command holds the direct lock, which an instance-mode run (%posttrans, start mode)
 * does not take: while such a run of this host is going, it may be writing this very history.
 */
function refuseWhileAnInstanceRuns(root: string | undefined): void {
  const paths = systemPaths(root);
  for (const name of listInstanceNames(paths)) {
    const lock = inspectInstanceLock(paths.stateDir(name));
    if (lock.state === 'held') {
      throw new LockHeldError(
        `a pki-db-upgrade run of instance ${name} is going on this host (pid ${lock.holder?.pid ?? '?'}): it may be writing this history`,
        'let it finish (pki-db-upgrade lock status), or repeat with --force if it works on another database',
      );
    }
  }
}

async function onInstance(args: CliArgs, registry: Registry, io: Io): Promise<string> {
  const paths = systemPaths(args.root);
  const names = args.instance ? [args.instance] : listInstanceNames(paths);
  if (names.length !== 1) {
    throw new ConfigError(names.length === 0 ? 'no PKI instance found' : `several PKI instances: ${names.join(', ')}`, 'name the one with --instance NAME');
  }
  const instance = loadInstance(paths, names[0]);
  const databases = databasesOf(instance);
  const wanted = args.recovery!.subsystem;
  const chosen = wanted ? databases.filter((s) => s.name === wanted) : databases;
  if (chosen.length !== 1) {
    const have = databases.map((s) => s.name).join(', ') || 'none';
    throw new ConfigError(wanted ? `instance ${instance.name} has no ${wanted} database (it has: ${have})` : `instance ${instance.name} has several databases (${have})`, 'name one with --subsystem NAME');
  }
  const sub = chosen[0];
  const request = instanceRequestOf(args);
  const config = loadInstanceConfig(paths, instance, request);
  const ctx = instanceContext(paths, instance, config, request, io, {
    restore: false,
    mayPrompt: false,
    // The command's own line says what happened; the log file has the rest.
    consoleLevel: args.verbose ? 'debug' : 'silent',
    logFile: request.logFile ?? config.logFile ?? paths.defaultLogFile(instance.name),
  });
  const { logger } = ctx;
  let lock: InstanceLock | undefined;
  try {
    lock = await acquireInstanceLock({ stateDir: paths.stateDir(instance.name), instance: instance.name, mode: args.command, waitSec: 0, logger });
    const { session } = await connectSubsystem(ctx, sub);
    try {
      const serverId = await identifyServer(session);
      const label = `${instance.name}/${sub.name} ${sub.cs.internalDb.baseDN}`;
      logger.info(`==== pki-db-upgrade ${registry.packageVersion} ${args.command} ${args.recovery!.stepId}: ${label}, by ${actorOf()}`);
      const said = `${label}: ${await recoverOn(session, sub.cs.internalDb.baseDN, serverId, args, registry)}`;
      logger.info(said);
      return said;
    } finally {
      await session.close();
    }
  } catch (err) {
    logger.error(errorMessage(err));
    throw err;
  } finally {
    await lock?.release();
    await logger.close();
  }
}

async function recoverOn(session: LdapSession, suffix: string, serverId: string, args: CliArgs, registry: Registry): Promise<string> {
  const { action, stepId, reason } = args.recovery!;
  // A run of another server holding the claim may be writing this very record.
  const liveness = hostLiveness(new Date(), DEFAULT_TIMING.staleClaimMs);
  const live = (await readClaims(session, suffix)).filter((c) => claimIsLive(c, liveness));
  if (live.length > 0 && !args.force) {
    throw new LockHeldError(
      `a cluster upgrade is under way: the claim of ${live.map(describeClaim).join(', ')} is live`,
      `let it finish (pki-db-upgrade lock status), or repeat with --force if you know it is gone`,
    );
  }
  const store = new LdapHistoryStore(session, suffix);
  const state = await store.load();
  state.schemaLost = await store.lostSchema(state);
  return recover(store, state, registry.steps, { action, stepId, reason, actor: actorOf(), serverId, packageVersion: registry.packageVersion }, systemClock);
}

/**
 * Who runs the command: the user, and the login user behind sudo or su (the kernel's loginuid
 * survives both, and the wrapper's clean environment drops SUDO_USER), on this host.
 */
export function actorOf(): string {
  const user = os.userInfo().username;
  const login = loginName();
  return `${login && login !== user ? `${login} as ${user}` : user}@${os.hostname()}`;
}

function loginName(): string | undefined {
  try {
    const uid = Number(fs.readFileSync('/proc/self/loginuid', 'utf8').trim());
    if (!Number.isInteger(uid) || uid === 4294967295) return undefined;
    const entry = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    return entry?.split(':')[0] ?? `uid ${uid}`;
  } catch {
    return undefined;
  }
}
