/**
 * Instance mode: the fully automated local run (RPM %posttrans) and its manual counterpart. For
 * each PKI instance: read db-upgrade.conf, open the log, take the instance lock, remove what a
 * killed run left, then upgrade every subsystem database, and record the outcome in the status file.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { systemClock } from '../core/clock';
import { ClusterNotReadyError, ConfigError, errorMessage, ExitCode, LockHeldError, PkiDbUpgradeError, ReplicationPendingError, ServerUnreachableError } from '../core/errors';
import { seconds } from '../core/engine';
import type { Io } from './io';
import type { CliArgs } from './cli-args';
import { clusterTiming, runDatabaseWithClusterSafety } from './cluster-command';
import { heldBackText } from '../report/run-report';
import type { ClusterRunResult } from '../converge/cluster-run';
import { databaseOn, type Registry } from './database';
import { loadToolConfig, type ToolConfig } from '../config/tool-config';
import type { SystemPaths } from '../config/paths';
import { authCandidates, findLdapiSockets } from '../auth/ldapi-sockets';
import { connectDatabase } from '../auth/connect';
import { databasesOf, type PkiInstance, type Subsystem } from '../config/instance-discovery';
import { escapeControl } from '../logging/escape';
import { createRunLogger, type RunLogger } from '../logging/run-logger';
import { InstancePasswords } from '../auth/instance-password';
import { isInteractiveTerminal } from '../auth/tty-prompt';
import { removeLeftoverPasswordConf } from '../auth/password-conf';
import { setSignalNotice } from '../process/exit-cleanup';
import { acquireInstanceLock } from '../lock/instance-lock';
import { readStatusFile, recordRun, writeStatusFile, type DatabaseOutcome, type RunResult, type RunStatus } from '../record/status-file';

/** Which outcome decides the exit code when databases differ: the first of this list present. */
const SEVERITY: [RunResult, number][] = [
  ['failed', ExitCode.UpgradeFailed],
  ['interrupted', ExitCode.UpgradeFailed],
  ['config-error', ExitCode.UsageOrConfig],
  ['server-down', ExitCode.ServerUnreachable],
  ['waiting-for-replication', ExitCode.ClusterNotReady],
  ['replicating', ExitCode.ReplicationPending],
];

export function overallResult(outcomes: DatabaseOutcome[]): { result: RunResult; exitCode: number } {
  for (const [result, exitCode] of SEVERITY) if (outcomes.some((o) => o.result === result)) return { result, exitCode };
  return { result: outcomes.some((o) => o.result === 'upgraded') ? 'upgraded' : 'up-to-date', exitCode: ExitCode.Ok };
}

export function loadInstanceConfig(paths: SystemPaths, instance: PkiInstance, args: CliArgs): ToolConfig {
  if (args.configFile) {
    const config = loadToolConfig(args.configFile);
    if (!config.file) throw new ConfigError(`the configuration file ${args.configFile} does not exist`, 'fix --config');
    return config;
  }
  // The instance's own file, then root's (/etc/pki-db-upgrade/<instance>.conf), whose keys win.
  return loadToolConfig(paths.rootToolConfig(instance.name), loadToolConfig(paths.toolConfig(instance.name)));
}

export interface InstanceContext {
  paths: SystemPaths;
  instance: PkiInstance;
  config: ToolConfig;
  args: CliArgs;
  logger: RunLogger;
  passwords: InstancePasswords;
  connectTimeoutSec: number;
}

export interface ContextOptions {
  /** Restore a missing password.conf for the run (run, dry-run). */
  restore: boolean;
  /** A person may be asked for the password. */
  mayPrompt: boolean;
  consoleLevel: 'debug' | 'info' | 'warn' | 'silent';
  /** undefined: no log file (a read-only look such as status). */
  logFile?: string;
}

export function instanceContext(paths: SystemPaths, instance: PkiInstance, config: ToolConfig, args: CliArgs, io: Io, options: ContextOptions): InstanceContext {
  let passwords: InstancePasswords | undefined;
  const logger = createRunLogger({
    consoleLevel: options.consoleLevel,
    logFile: options.logFile,
    stderr: io.stderr,
    secrets: () => passwords?.secrets() ?? [],
  });
  passwords = new InstancePasswords({
    instanceId: instance.instanceId,
    passwordConf: paths.passwordConf(instance.name),
    owner: instance.owner,
    stateDir: paths.stateDir(instance.name),
    passwordFileOption: args.passwordFile,
    useKeyring: config.useKeyring,
    configuredPasswordFile: config.passwordFile,
    trustedServers: config.trustedServers,
    mayPrompt: options.mayPrompt,
    restore: options.restore,
    logger,
  });
  return { paths, instance, config, args, logger, passwords, connectTimeoutSec: args.connectTimeoutSec ?? config.connectTimeoutSec };
}

/** Connects to one subsystem's database by the documented authentication order. */
export function connectSubsystem(ctx: InstanceContext, sub: Subsystem) {
  const db = sub.cs.internalDb;
  const isRoot = process.getuid?.() === 0;
  const candidates = authCandidates(db, {
    isRoot,
    machineName: sub.cs.machineName,
    sockets: isRoot ? findLdapiSockets(ctx.config.ldapiSocket, ctx.logger) : [],
    caFile: ctx.config.caFile,
  });
  return connectDatabase({
    db,
    candidates,
    connectTimeoutSec: ctx.connectTimeoutSec,
    operationTimeoutSec: ctx.config.operationTimeoutSec,
    logger: ctx.logger,
    startHint: `start the 389 DS of ${ctx.instance.name} (systemctl start dirsrv@INSTANCE)`,
    password: async () => {
      const password = await ctx.passwords.get(db.passwordKey);
      ctx.passwords.checkDestination(db.passwordKey, `${db.host}:${db.port}`, { file: sub.cs.file, rootControlled: sub.cs.rootControlled });
      return password;
    },
    passwordSource: () => ctx.passwords.sourceOf(db.passwordKey),
  });
}

export async function runInstance(paths: SystemPaths, instance: PkiInstance, args: CliArgs, registry: Registry, io: Io): Promise<number> {
  const posttrans = args.mode === 'posttrans';
  const dryRun = args.command === 'dry-run';
  const stateDir = paths.stateDir(instance.name);
  const say = (line: string, failure: boolean) => (failure ? io.stderr : io.stdout).write(`pki-db-upgrade: ${instance.name}: ${escapeControl(line)}\n`);

  let config: ToolConfig;
  try {
    config = loadInstanceConfig(paths, instance, args);
  } catch (err) {
    say(oneLine(errorMessage(err)), true);
    return ExitCode.UsageOrConfig;
  }
  const ctx = instanceContext(paths, instance, config, args, io, {
    restore: true,
    mayPrompt: !posttrans && isInteractiveTerminal(),
    consoleLevel: posttrans ? 'silent' : args.verbose ? 'debug' : 'info',
    logFile: args.logFile ?? config.logFile ?? paths.defaultLogFile(instance.name),
  });
  const { logger, passwords } = ctx;
  const status: RunStatus = {
    instance: instance.name,
    packageVersion: registry.packageVersion,
    mode: args.mode,
    pid: process.pid,
    startTime: new Date().toISOString(),
    result: 'running',
    logFile: logger.logFile,
    databases: [],
  };
  logger.info(
    `==== pki-db-upgrade ${registry.packageVersion} ${args.command}: instance ${instance.name}, mode ${args.mode}, ` +
      `host ${os.hostname()}, pid ${process.pid}, uid ${process.getuid?.() ?? '?'}`,
    { root: paths.root, config: config.file ?? '(none: defaults)', subsystems: instance.subsystems.map((s) => s.name), fileOnly: true },
  );
  for (const w of config.warnings) logger.warn(w);

  let exitCode: number;
  let summary: string;
  let record = !dryRun;
  // Whether this run holds the lock, and with it the status file (a signal then records there too).
  let ownsStatus = false;
  // Every run's log ends with its closing line, also when a signal ends it (the %posttrans time limit).
  setSignalNotice((signal, signalExitCode) => {
    const message = `interrupted by ${signal}; the database stays at the last completed step: run pki-db-upgrade again to resume`;
    logger.appendSync('error', message);
    const endTime = new Date().toISOString();
    if (ownsStatus) {
      status.result = 'interrupted';
      status.message = message;
      status.endTime = endTime;
      status.exitCode = signalExitCode;
      recordRun(stateDir, status);
    }
    logger.appendSync('info', `==== INTERRUPTED (exit ${signalExitCode}) in ${seconds(Date.parse(endTime) - Date.parse(status.startTime))}: ${message}`);
  });
  try {
    if (posttrans && !config.autoUpgrade && !dryRun) {
      const why = `skipped: auto_upgrade = false in ${config.autoUpgradeFile ?? config.file}; run "pki-db-upgrade --instance ${instance.name}" to upgrade`;
      logger.info(why);
      status.result = 'skipped';
      status.message = why;
      exitCode = ExitCode.Ok;
      summary = why;
    } else {
      const lock = await acquireInstanceLock({ stateDir, instance: instance.name, mode: args.mode, waitSec: args.waitSec ?? config.lockWaitSec, logger });
      try {
        if (record) {
          ownsStatus = true;
          writeStatusFile(stateDir, { lastRun: status, pending: readStatusFile(stateDir)?.pending });
        }
        removeLeftoverPasswordConf(stateDir, paths.passwordConf(instance.name), logger);
        status.databases = await upgradeDatabases(ctx, registry, dryRun, io);
      } finally {
        ownsStatus = false;
        passwords.release();
        await lock.release();
      }
      const overall = overallResult(status.databases);
      status.result = overall.result;
      exitCode = overall.exitCode;
      summary = summarize(status.databases, dryRun);
      status.message = summary;
    }
  } catch (err) {
    if (err instanceof LockHeldError) record = false; // the other run owns the status file
    status.result = resultOf(err);
    exitCode = err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
    summary = oneLine(errorMessage(err));
    status.message = summary;
    logger.error(errorMessage(err));
    if (!(err instanceof PkiDbUpgradeError)) logger.debug((err as Error).stack ?? String(err));
  }
  status.endTime = new Date().toISOString();
  status.exitCode = exitCode;
  const elapsed = seconds(Date.parse(status.endTime) - Date.parse(status.startTime));
  setSignalNotice(undefined);
  logger.info(`==== ${exitCode === 0 ? 'finished' : `FAILED (exit ${exitCode})`} in ${elapsed}: ${summary}`);
  if (record) recordRun(stateDir, status);
  await logger.close();
  if (posttrans) {
    const where = exitCode !== 0 && logger.logFile ? `; see ${logger.logFile}` : '';
    say(`${exitCode === 0 ? '' : 'database upgrade did not complete: '}${summary}${where}`, exitCode !== 0);
  }
  return exitCode;
}

async function upgradeDatabases(ctx: InstanceContext, registry: Registry, dryRun: boolean, io: Io): Promise<DatabaseOutcome[]> {
  const { logger, instance } = ctx;
  const outcomes: DatabaseOutcome[] = [];
  const downServers = new Map<string, string>();
  for (const sub of databasesOf(instance)) {
    const db = sub.cs.internalDb;
    const outcome: DatabaseOutcome = { subsystem: sub.name, baseDN: db.baseDN, result: 'up-to-date', steps: [] };
    outcomes.push(outcome);
    const server = `${db.host}:${db.port}`;
    const down = downServers.get(server);
    if (down) {
      Object.assign(outcome, { result: 'server-down', message: down });
      continue;
    }
    logger.info(`${sub.name}: database ${db.baseDN} on ${server}`);
    try {
      const { session, via } = await connectSubsystem(ctx, sub);
      outcome.url = via.url;
      try {
        const database = await databaseOn(session, { suffix: db.baseDN, backend: db.backend, subsystem: sub.name }, registry);
        // Not a dry-run: a replicated database gets the automated mode's cluster safety (README.cluster.md).
        const result = dryRun
          ? await database.engine({ dryRun, logger, clock: systemClock, ldif: (text) => io.stdout.write(text) }).run()
          : await runDatabaseWithClusterSafety(database, {
              suffix: db.baseDN,
              registry,
              logger,
              connectTimeoutSec: ctx.connectTimeoutSec,
              operationTimeoutSec: ctx.config.operationTimeoutSec,
              peerCredentials:
                via.kind === 'basic'
                  ? async (peer) => {
                      const password = await ctx.passwords.get(db.passwordKey);
                      ctx.passwords.checkDestination(db.passwordKey, peer, { file: 'a replication agreement', rootControlled: false });
                      return { bindDN: via.bindDN, password };
                    }
                  : undefined,
              // Peers reached by LDAPS or StartTLS trust the same CA as the local server.
              tlsOptions: ctx.config.caFile ? { ca: readFileSync(ctx.config.caFile) } : undefined,
              timing: clusterTiming(ctx.args),
            });
        outcome.fromVersion = result.plan.databaseVersion ?? null;
        outcome.toVersion = result.databaseVersion ?? null;
        outcome.steps = result.results.map((r) => ({ id: r.step.id, outcome: r.outcome, durationMs: r.durationMs, error: r.error }));
        const { heldBack, heldBackReason } = result as Partial<ClusterRunResult>;
        if (heldBack?.length) Object.assign(outcome, { heldBack, heldBackReason });
        if (result.failure) {
          outcome.result = 'failed';
          outcome.message = oneLine(result.failure.describe());
          logger.error(`${sub.name}: ${result.failure.describe()}`);
        } else if (!dryRun && result.results.length > 0) {
          outcome.result = 'upgraded';
        }
      } finally {
        await session.close();
      }
    } catch (err) {
      outcome.message = oneLine(errorMessage(err));
      outcome.result = resultOf(err);
      if (outcome.result === 'server-down') downServers.set(server, outcome.message);
      logger.error(`${sub.name}: ${errorMessage(err)}`);
      if (!(err instanceof PkiDbUpgradeError)) logger.debug((err as Error).stack ?? String(err));
    }
  }
  return outcomes;
}

/** What an error means for the status file (its exit code comes with the error). */
function resultOf(err: unknown): RunResult {
  if (err instanceof ServerUnreachableError) return 'server-down';
  if (err instanceof ClusterNotReadyError) return 'waiting-for-replication';
  if (err instanceof ReplicationPendingError) return 'replicating';
  if (err instanceof PkiDbUpgradeError && err.exitCode === ExitCode.UsageOrConfig) return 'config-error';
  return 'failed';
}

function summarize(outcomes: DatabaseOutcome[], dryRun: boolean): string {
  const parts = outcomes.map((o) => {
    const total = o.steps.reduce((sum, s) => sum + s.durationMs, 0);
    const held = heldBackText(o.heldBack, o.heldBackReason);
    switch (o.result) {
      case 'upgraded':
        return o.fromVersion === o.toVersion
          ? `${o.subsystem}: ${o.steps.length} step(s) applied (${seconds(total)}), database still at ${o.toVersion}${held}`
          : `${o.subsystem} upgraded from ${o.fromVersion ?? '(untracked)'} to ${o.toVersion} (${o.steps.length} step(s), ${seconds(total)})${held}`;
      case 'up-to-date':
        if (dryRun) return `${o.subsystem}: dry-run, ${o.steps.length} step(s) would be applied${held}`;
        return held ? `${o.subsystem}: nothing applied, database at ${o.toVersion}${held}` : `${o.subsystem} up to date at ${o.toVersion}`;
      case 'server-down':
        return `${o.subsystem}: ${o.message}; upgrade pending`;
      case 'waiting-for-replication':
        return `${o.subsystem}: waiting for replication: ${o.message}; upgrade pending`;
      default:
        return `${o.subsystem}: ${o.message}`;
    }
  });
  return parts.join('; ') || 'no database';
}

/** Collapses a multi-line description (message + hint) for one-line consoles and status fields. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*→\s*/g, ' → ').replace(/\s*\n\s*/g, ' ');
}
