/**
 * Instance mode: the fully automated local run (RPM %posttrans) and its manual counterpart, for
 * one PKI instance, as a named list of phases: skip when opted out, take the instance lock, remove
 * what a killed run left, upgrade each subsystem database; then, on every way out, forget the
 * restored password and release the lock. The run's log ends with its closing line and the
 * status file records the outcome, also when a signal stops it.
 */
import os from 'node:os';
import type { SystemPaths } from '../config/paths';
import type { PkiInstance } from '../config/instance-discovery';
import type { ToolConfig } from '../config/tool-config';
import { seconds } from '../core/run-result';
import { errorMessage, ExitCode, LockHeldError, PkiDbUpgradeError } from '../core/errors';
import { runPhases, type Phase } from '../core/phases';
import { isInteractiveTerminal } from '../auth/tty-prompt';
import { removeLeftoverPasswordConf } from '../auth/password-conf';
import { acquireInstanceLock, type InstanceLock } from '../lock/instance-lock';
import { escapeControl } from '../logging/escape';
import { onSignalNotice } from '../process/shutdown';
import { StartTimeoutExtender } from '../process/start-timeout';
import { systemClock } from '../core/clock';
import { readStatusFile, recordRun, writeStatusFile, type RunStatus } from '../record/status-file';
import type { Registry } from './database';
import { instanceContext, loadInstanceConfig, type InstanceContext } from './instance-context';
import { breakingChangesOf, upgradeDatabases } from './instance-databases';
import { startVerdict } from './start-policy';
import { foundNothingToDo, oneLine, overallResult, resultOf, summarize } from './instance-outcome';
import { requestCodeCache } from '../process/code-cache-request';
import type { InstanceRequest } from './instance-request';
import type { Io } from './io';

export async function runInstance(paths: SystemPaths, instance: PkiInstance, request: InstanceRequest, registry: Registry, io: Io): Promise<number> {
  let config: ToolConfig;
  try {
    config = loadInstanceConfig(paths, instance, request);
  } catch (err) {
    // Start mode: a broken configuration must not keep the PKI server down (start-policy.ts).
    const start = request.mode === 'start';
    say(io, instance, `${start ? 'starting anyway (exit 2 left for later): ' : ''}${oneLine(errorMessage(err))}`, true);
    return start ? ExitCode.Ok : ExitCode.UsageOrConfig;
  }
  return new InstanceRun(paths, instance, config, request, registry, io).run();
}

/** The one line dnf shows for an instance (stderr when it did not succeed). */
function say(io: Io, instance: PkiInstance, line: string, failure: boolean): void {
  (failure ? io.stderr : io.stdout).write(`pki-db-upgrade: ${instance.name}: ${escapeControl(line)}\n`);
}

class InstanceRun {
  private static readonly PHASES: Phase<InstanceRun, true>[] = [
    { name: 'skip when auto_upgrade = false', run: (r) => r.skipWhenOptedOut() },
    { name: "keep systemd's start timeout from expiring (start mode)", run: async (r) => r.startTimeout?.start() },
    { name: 'take the instance lock', run: (r) => r.takeLock() },
    { name: 'remove what a killed run left', run: async (r) => void removeLeftoverPasswordConf(r.stateDir, r.paths.passwordConf(r.instance.name), r.ctx.logger) },
    { name: 'upgrade each database', run: (r) => r.upgradeEach() },
    { name: 'forget the restored password and release the lock', always: true, run: (r) => r.release() },
    { name: "leave systemd's start timeout to systemd again", always: true, run: async (r) => r.startTimeout?.stop() },
  ];

  private readonly ctx: InstanceContext;
  private readonly stateDir: string;
  /** posttrans and start: no prompt, honours auto_upgrade, one line on the console. */
  private readonly unattended: boolean;
  private readonly dryRun: boolean;
  private readonly status: RunStatus;
  private lock?: InstanceLock;
  private readonly startTimeout?: StartTimeoutExtender;
  private exitCode: number = ExitCode.Ok;
  private summary = '';
  /** Whether this run writes the status file (not a dry-run, not a run that found the lock taken). */
  private record: boolean;
  /** Whether this run holds the lock, and with it the status file (a signal then records there too). */
  private ownsStatus = false;

  constructor(
    private readonly paths: SystemPaths,
    private readonly instance: PkiInstance,
    private readonly config: ToolConfig,
    private readonly request: InstanceRequest,
    private readonly registry: Registry,
    private readonly io: Io,
  ) {
    this.unattended = request.mode !== 'interactive';
    this.dryRun = request.action === 'dry-run';
    this.record = !this.dryRun;
    this.stateDir = paths.stateDir(instance.name);
    this.ctx = instanceContext(paths, instance, config, request, io, {
      restore: true,
      mayPrompt: !this.unattended && isInteractiveTerminal(),
      consoleLevel: this.unattended ? 'silent' : request.verbose ? 'debug' : 'info',
      logFile: request.logFile ?? config.logFile ?? paths.defaultLogFile(instance.name),
    });
    if (request.notifySocket) this.startTimeout = new StartTimeoutExtender({ notifySocket: request.notifySocket, clock: systemClock, logger: this.ctx.logger });
    this.status = {
      instance: instance.name,
      packageVersion: registry.packageVersion,
      mode: request.mode,
      pid: process.pid,
      startTime: new Date().toISOString(),
      result: 'running',
      logFile: this.ctx.logger.logFile,
      databases: [],
    };
  }

  async run(): Promise<number> {
    const { logger } = this.ctx;
    logger.info(
      `==== pki-db-upgrade ${this.registry.packageVersion} ${this.request.action}: instance ${this.instance.name}, mode ${this.request.mode}, ` +
        `host ${os.hostname()}, pid ${process.pid}, uid ${process.getuid?.() ?? '?'}`,
      { root: this.paths.root, config: this.config.file ?? '(none: defaults)', subsystems: this.instance.subsystems.map((s) => s.name), fileOnly: true },
    );
    for (const w of this.config.warnings) logger.warn(w);
    // Every run's log ends with its closing line, also when a signal ends it (the %posttrans time limit).
    const forgetNotice = onSignalNotice((signal, exitCode) => this.interrupted(signal, exitCode));
    try {
      await runPhases(InstanceRun.PHASES, this, { onPhase: (name) => logger.debug(`instance run: ${name}`), onLaterError: (phase, err) => logger.warn(`${phase}: ${errorMessage(err)}`) });
    } catch (err) {
      this.failed(err);
    }
    forgetNotice();
    return this.close();
  }

  private async skipWhenOptedOut(): Promise<true | void> {
    if (!this.unattended || this.config.autoUpgrade || this.dryRun) return;
    const why = `skipped: auto_upgrade = false in ${this.config.autoUpgradeFile ?? this.config.file}; run "pki-db-upgrade --instance ${this.instance.name}" to upgrade`;
    this.ctx.logger.info(why);
    // What decides the start is still looked at (start-policy.ts), reading only.
    if (this.request.mode === 'start') this.status.databases = await breakingChangesOf(this.paths, this.instance, this.request, this.registry, this.io);
    Object.assign(this.status, { result: 'skipped', message: why });
    this.summary = why;
    return true;
  }

  private async takeLock(): Promise<void> {
    const { logger } = this.ctx;
    this.lock = await acquireInstanceLock({ stateDir: this.stateDir, instance: this.instance.name, mode: this.request.mode, waitSec: this.request.waitSec ?? this.config.lockWaitSec, logger });
    if (!this.record) return;
    this.ownsStatus = true;
    writeStatusFile(this.stateDir, { lastRun: this.status, pending: readStatusFile(this.stateDir)?.pending });
  }

  private async upgradeEach(): Promise<true> {
    this.status.databases = await upgradeDatabases(this.ctx, this.registry, this.dryRun, this.io);
    const overall = overallResult(this.status.databases);
    this.status.result = overall.result;
    this.exitCode = overall.exitCode;
    this.summary = summarize(this.status.databases, this.dryRun);
    this.status.message = this.summary;
    if (!this.dryRun && this.status.databases.length > 0 && this.status.databases.every(foundNothingToDo)) requestCodeCache();
    return true;
  }

  private async release(): Promise<void> {
    this.ownsStatus = false;
    this.ctx.passwords.release();
    await this.lock?.release();
  }

  private failed(err: unknown): void {
    if (err instanceof LockHeldError) this.record = false; // the other run owns the status file
    this.status.result = resultOf(err);
    this.exitCode = err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
    this.summary = oneLine(errorMessage(err));
    this.status.message = this.summary;
    this.ctx.logger.error(errorMessage(err));
    if (!(err instanceof PkiDbUpgradeError)) this.ctx.logger.debug((err as Error).stack ?? String(err));
  }

  /** A signal ends the run: its log line and status, synchronously, before the process exits. */
  private interrupted(signal: string, exitCode: number): void {
    const { logger } = this.ctx;
    const message = `interrupted by ${signal}; the database stays at the last completed step: run pki-db-upgrade again to resume`;
    logger.appendSync('error', message);
    const endTime = new Date().toISOString();
    if (this.ownsStatus) {
      Object.assign(this.status, { result: 'interrupted', message, endTime, exitCode });
      recordRun(this.stateDir, this.status);
    }
    logger.appendSync('info', `==== INTERRUPTED (exit ${exitCode}) in ${seconds(Date.parse(endTime) - Date.parse(this.status.startTime))}: ${message}`);
  }

  /** The closing line, the status file, and the one line for dnf. */
  private async close(): Promise<number> {
    const { logger } = this.ctx;
    const { status, exitCode, summary } = this;
    status.endTime = new Date().toISOString();
    status.exitCode = exitCode;
    const elapsed = seconds(Date.parse(status.endTime) - Date.parse(status.startTime));
    // Start mode: the status file keeps what the upgrade came to; the start goes on unless it must not.
    const start = this.request.mode === 'start' ? startVerdict(status.databases, exitCode, summary) : undefined;
    if (start) logger.info(`start of the PKI server: ${start.exitCode === 0 ? 'may go on' : `stopped (exit ${start.exitCode})`}`);
    logger.info(`==== ${exitCode === 0 ? 'finished' : `FAILED (exit ${exitCode})`} in ${elapsed}: ${summary}`);
    if (this.record) recordRun(this.stateDir, status);
    const where = exitCode !== 0 && logger.logFile ? `; see ${logger.logFile}` : '';
    if (start) {
      await logger.close();
      say(this.io, this.instance, `${start.line}${start.warning ? where : ''}`, start.warning);
      return start.exitCode;
    }
    await logger.close();
    if (this.unattended) {
      const verdict = exitCode === 0 ? '' : status.result === 'database-newer' ? 'database left as it is: ' : 'database upgrade did not complete: ';
      say(this.io, this.instance, `${verdict}${summary}${where}`, exitCode !== 0);
    }
    return exitCode;
  }
}
