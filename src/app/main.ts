/**
 * pki-db-upgrade: the command line edge. Everything here is argv, streams and exit codes; the
 * decisions are made by the engine (src/core).
 */
import { systemClock } from '../core/clock';
import { errorMessage, ExitCode, PkiDbUpgradeError } from '../core/errors';
import { escapeTerminal } from '../logging/escape';
import { createRunLogger, type RunLogger } from '../logging/run-logger';
import { packageVersion, steps } from '../../upgrades/registry.generated';
import { parseCli, usage, type CliArgs } from './cli-args';
import { openDatabase, runOrder, withIndexBuilds, type OpenDatabase, type Registry } from './database';
import { acquireDirectLock } from '../lock/direct-lock';
import type { InstanceLock } from '../lock/instance-lock';
import { requestCodeCache } from '../process/code-cache-request';
import { type UpgradeEngine } from '../core/engine';
import { appliedOf } from '../core/run-result';
import { clusterCommand, runWithClusterSafety } from './cluster-command';
import { allRecords, formatHistory, formatStatus, recordJson, runSummary, statusReport, waitingForRestartText } from '../report/run-report';
import { directLockRequest, targetFromArgs, type Target } from './target';
import type { Io } from './io';
import { runInstances } from './instance-mode';
import { checkCommand } from './check';
import { lockCommand } from './lock-command';
import { recoveryCommand } from './recovery-command';
import { createStep, type NewStepRequest } from './new-step';

export type { Io };

const defaultIo: Io = { stdout: process.stdout, stderr: process.stderr };

export async function main(argv: string[], io: Io = defaultIo, registry: Registry = { steps, packageVersion }): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCli(argv);
  } catch (err) {
    io.stderr.write(`pki-db-upgrade: ${errorMessage(err)}\n`);
    return ExitCode.UsageOrConfig;
  }
  if (args.help) {
    io.stdout.write(usage());
    return ExitCode.Ok;
  }
  // A developer's command: before the registry is checked (a new step may be for a version the
  // bundle's package does not ship yet), and with no instance, lock or server.
  if (args.newStep) return newStepCommand(args.newStep, registry.packageVersion, io);
  const ordered = runOrder(registry);
  if (args.version) {
    const last = ordered.steps[ordered.steps.length - 1];
    io.stdout.write(`pki-db-upgrade ${registry.packageVersion} (${ordered.steps.length} steps, last ${last?.id ?? 'none'})\n`);
    return ExitCode.Ok;
  }

  // Read only, in both modes, with exit codes of its own.
  if (args.command === 'check') return checkCommand(args, ordered, io);
  if (args.command === 'lock') return lockCommand(args, ordered, io);
  if (args.recovery) return recoveryCommand(args, ordered, io);

  // Instance mode (CS.cfg, password.conf, lock, log, status file) unless one database is named by --url.
  // (cluster status|upgrade is the administrator's, on one database named by --url.)
  if (!args.url && args.command !== 'cluster') return runInstances(args, ordered, io);

  const logger = createRunLogger({
    consoleLevel: args.verbose ? 'debug' : args.json ? 'warn' : 'info',
    logFile: args.logFile,
    stderr: io.stderr,
  });
  try {
    return await dispatch(args, ordered, logger, io);
  } catch (err) {
    const code = err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
    logger.error(errorMessage(err));
    if (!(err instanceof PkiDbUpgradeError)) logger.debug((err as Error).stack ?? String(err));
    return code;
  } finally {
    await logger.close();
  }
}

async function dispatch(args: CliArgs, registry: Registry, logger: RunLogger, io: Io): Promise<number> {
  if (args.command === 'cluster') return clusterCommand(args, registry, logger, io);
  const target = targetFromArgs(args);
  const dryRun = args.command === 'dry-run';
  const readOnly = dryRun || args.command === 'status' || args.command === 'history';
  const { db, lock } = await openWithLock(target, args, registry, logger, !readOnly);
  try {
    const engine = db.engine({ dryRun, logger, clock: systemClock, ldif: (text) => io.stdout.write(text) });

    if (args.command === 'status' || args.command === 'history') {
      const { plan, state } = await engine.plan();
      if (args.command === 'status') {
        const report = statusReport(target.label, plan, state, await db.owedIndexBuilds());
        io.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : escapeTerminal(formatStatus(report)));
      } else {
        const records = allRecords(state);
        io.stdout.write(args.json ? JSON.stringify(records.map(recordJson), null, 2) + '\n' : escapeTerminal(formatHistory(records, plan.notApplicable, state.audit)));
      }
      return ExitCode.Ok;
    }
    return await applyAndReport(db, target, args, registry, logger, engine, dryRun, io);
  } finally {
    await Promise.all([lock?.release(), db.close()]);
  }
}

/**
 * The database, and for a run that may write, the direct run's lock: concurrent runs on this host
 * against the same database would apply the same steps twice, so direct runs take a lock of their
 * own, named after the server and the base DN. It is taken while the session opens (the bind is
 * most of what a run with nothing to do waits for). A session that fails ends a wait for another
 * run's lock (--wait), so that the failure is told at once; either failing undoes the other.
 */
async function openWithLock(target: Target, args: CliArgs, registry: Registry, logger: RunLogger, locks: boolean): Promise<{ db: OpenDatabase; lock?: InstanceLock }> {
  const openFailed = new AbortController();
  const [opened, locked] = await Promise.allSettled([
    openDatabase(target, registry, args.connectTimeoutSec ?? 10).catch((err: unknown) => {
      openFailed.abort();
      throw err;
    }),
    locks ? acquireDirectLock({ ...directLockRequest(target, args), signal: openFailed.signal }, logger) : undefined,
  ]);
  if (opened.status === 'rejected') {
    if (locked.status === 'fulfilled') await locked.value?.release();
    throw opened.reason;
  }
  if (locked.status === 'rejected') {
    await opened.value.close();
    throw locked.reason;
  }
  return { db: opened.value, lock: locked.value };
}

/** Runs the engine (with the cluster safety for a replicated database) and says what it did. */
async function applyAndReport(
  db: OpenDatabase,
  target: Target,
  args: CliArgs,
  registry: Registry,
  logger: RunLogger,
  engine: UpgradeEngine,
  dryRun: boolean,
  io: Io,
): Promise<number> {
  const started = systemClock.monotonicMs();
  // A replicated database gets the automated mode's cluster safety (src/converge/cluster-run.ts).
  const ran = dryRun ? await engine.run() : await runWithClusterSafety(db, target, args, registry, logger);
  const result = await withIndexBuilds(db, ran, { dryRun, logger, clock: systemClock, ldif: (text) => io.stdout.write(text) });
  const elapsed = (systemClock.monotonicMs() - started) / 1000;
  if (result.failure) {
    logger.error(result.failure.describe());
    if (result.backup) logger.info(`the backup taken before the first change: ${result.backup}`);
    return result.failure.exitCode;
  }
  if (dryRun) {
    const n = appliedOf(result).length;
    const build = result.indexBuild?.outcome === 'planned' ? `, then an index task for ${result.indexBuild.names.join(', ')}` : '';
    // A changed VLV definition is owed too, though no run before a restart of 389 DS can build it.
    const waiting = result.indexBuild && result.indexBuild.outcome !== 'none' ? (result.indexBuild.waiting ?? []) : [];
    const left = waitingForRestartText(waiting);
    logger.info(n === 0 && !build && !left ? 'dry-run: nothing to do' : `dry-run: ${n} step(s) would be applied${build}${left}; nothing was changed`);
  } else {
    logger.info(runSummary(target.label, result, elapsed));
    if (appliedOf(result).length === 0 && result.indexBuild?.outcome !== 'built') requestCodeCache();
  }
  return ExitCode.Ok;
}

/** new VERSION Name: writes the step and prints its path; a bad request is exit 2 with a hint. */
function newStepCommand(request: NewStepRequest, packageVersion: string, io: Io): number {
  try {
    const { file, notes } = createStep(request, packageVersion);
    io.stdout.write(`${file}\n`);
    for (const note of notes) io.stderr.write(`${note}\n`);
    return ExitCode.Ok;
  } catch (err) {
    io.stderr.write(`pki-db-upgrade: ${errorMessage(err)}\n`);
    return err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`pki-db-upgrade: internal error: ${(err as Error).stack ?? err}\n`);
      process.exitCode = ExitCode.UpgradeFailed;
    },
  );
}
