/**
 * `pki-db-upgrade check`: what each database needs, read only (no LDAP write, no file written, no
 * password.conf restored, no prompt), for monitoring, scripts and the start of the PKI server.
 * Its exit codes are its own (CHECK_EXIT_CODES): up to date, pending, held back, newer than the
 * package, cannot tell. Held-back steps are judged by the servers the history knows, as `status`
 * judges them.
 */
import { systemPaths, type SystemPaths } from '../config/paths';
import { listInstanceNames, loadInstance, type PkiInstance, type Subsystem } from '../config/instance-discovery';
import { systemClock } from '../core/clock';
import { DowngradeError, errorMessage, ExitCode, PkiDbUpgradeError } from '../core/errors';
import { CHECK_PRECEDENCE, CheckExitCode, type CheckExitCodeValue } from '../core/exit-codes';
import { silentLogger } from '../core/logger';
import { escapeControl } from '../logging/escape';
import { statusReport } from '../report/run-report';
import type { CliArgs } from './cli-args';
import { databaseOn, openDatabase, type OpenDatabase, type Registry } from './database';
import { lookAtEachSubsystem } from './instance-context';
import { oneLine } from './instance-outcome';
import { instanceRequestOf } from './instance-request';
import type { Io } from './io';
import { targetFromArgs } from './target';

export type CheckState = 'up-to-date' | 'pending' | 'held-back' | 'newer' | 'cannot-tell' | 'config-error';

export interface DatabaseCheck {
  /** "pki-tomcat/ca o=pki-tomcat-CA", or the direct target. */
  database: string;
  state: CheckState;
  exitCode: CheckExitCodeValue;
  databaseVersion: string | null;
  packageVersion: string;
  /** Steps a run would apply now. */
  pending: string[];
  /** Pending steps that wait for the other servers, with why. */
  heldBack: { id: string; why: string }[];
  /** Index definitions not built yet (a run builds them). */
  indexBuilds: string[];
  /** What happened, when the state is not read from the history. */
  message?: string;
}

const STATE_OF: Record<CheckExitCodeValue, CheckState> = { 0: 'up-to-date', 2: 'config-error', 4: 'cannot-tell', 10: 'pending', 11: 'held-back', 12: 'newer' };

/** The state of one open database, from its history and this package's steps. */
export async function checkDatabase(db: OpenDatabase, database: string, packageVersion: string): Promise<DatabaseCheck> {
  try {
    const { plan, state } = await db.engine({ dryRun: true, logger: silentLogger, clock: systemClock }).plan();
    const report = statusReport(database, plan, state, await db.owedIndexBuilds());
    const heldBack = report.pending.filter((p) => p.heldBack).map((p) => ({ id: p.id, why: p.heldBack! }));
    const pending = report.pending.filter((p) => !p.heldBack).map((p) => p.id);
    // This server has not recorded that it runs this package: the others hold back what waits for it.
    const serverRecordOwed = !state.ready || state.serverInfo.get(plan.serverId)?.packageVersion !== plan.packageVersion;
    // A version record a run would move (not one that waits for held-back steps).
    const indexBuilds = report.indexBuilds.owed;
    const owed = pending.length > 0 || serverRecordOwed || (plan.needsBookkeeping && heldBack.length === 0) || indexBuilds.length > 0;
    const exitCode = owed ? CheckExitCode.Pending : heldBack.length > 0 ? CheckExitCode.HeldBack : CheckExitCode.UpToDate;
    return { database, state: STATE_OF[exitCode], exitCode, databaseVersion: report.databaseVersion, packageVersion, pending, heldBack, indexBuilds };
  } catch (err) {
    return failedCheck(database, packageVersion, err);
  }
}

function failedCheck(database: string, packageVersion: string, err: unknown): DatabaseCheck {
  const exitCode: CheckExitCodeValue =
    err instanceof DowngradeError ? CheckExitCode.DatabaseNewer
    : err instanceof PkiDbUpgradeError && err.exitCode === ExitCode.UsageOrConfig ? CheckExitCode.UsageOrConfig
    : CheckExitCode.CannotTell;
  return { database, state: STATE_OF[exitCode], exitCode, databaseVersion: null, packageVersion, pending: [], heldBack: [], indexBuilds: [], message: oneLine(errorMessage(err)) };
}

/** The exit code of several checks: the first of CHECK_PRECEDENCE present. */
export function overallCheck(checks: DatabaseCheck[]): CheckExitCodeValue {
  return CHECK_PRECEDENCE.find((code) => checks.some((c) => c.exitCode === code)) ?? CheckExitCode.UpToDate;
}

export function describeCheck(c: DatabaseCheck): string {
  const at = `database at ${c.databaseVersion ?? '(untracked)'}, package ${c.packageVersion}`;
  switch (c.state) {
    case 'up-to-date':
      return `up to date (${at})`;
    case 'pending': {
      const steps = c.pending.length > 0 ? c.pending.join(', ') : c.indexBuilds.length > 0 ? 'no step' : "no step, but this server's record of its package (the other servers wait for it)";
      const what = steps + (c.indexBuilds.length > 0 ? `; index build: ${c.indexBuilds.join(', ')}` : '');
      const held = c.heldBack.length > 0 ? `; held back: ${c.heldBack.map((h) => h.id).join(', ')}` : '';
      return `upgrade pending: ${what} (${at})${held}; run pki-db-upgrade to apply`;
    }
    case 'held-back':
      return `held back: ${c.heldBack.map((h) => h.id).join(', ')} (${at}); ${c.heldBack[0].why}`;
    default:
      return c.message ?? c.state;
  }
}

/** `check` in instance mode: every subsystem of the instances of this machine (or the one named). */
async function checkInstances(args: CliArgs, registry: Registry, io: Io): Promise<DatabaseCheck[]> {
  const paths = systemPaths(args.root);
  const checks: DatabaseCheck[] = [];
  for (const name of args.instance ? [args.instance] : listInstanceNames(paths)) {
    try {
      checks.push(...(await checkInstance(paths, loadInstance(paths, name), args, registry, io)));
    } catch (err) {
      checks.push(failedCheck(name, registry.packageVersion, err));
    }
  }
  return checks;
}

function checkInstance(paths: SystemPaths, instance: PkiInstance, args: CliArgs, registry: Registry, io: Io): Promise<DatabaseCheck[]> {
  const label = (sub: Subsystem) => `${instance.name}/${sub.name} ${sub.cs.internalDb.baseDN}`;
  return lookAtEachSubsystem(
    paths,
    instance,
    instanceRequestOf(args),
    io,
    async (sub, session) => {
      const db = await databaseOn(session, { suffix: sub.cs.internalDb.baseDN, backend: sub.cs.internalDb.backend, subsystem: sub.name }, registry);
      return checkDatabase(db, label(sub), registry.packageVersion);
    },
    (sub, err) => failedCheck(label(sub), registry.packageVersion, err),
  );
}

async function checkDirect(args: CliArgs, registry: Registry): Promise<DatabaseCheck[]> {
  const target = targetFromArgs(args);
  let db: OpenDatabase;
  try {
    db = await openDatabase(target, registry, args.connectTimeoutSec ?? 10);
  } catch (err) {
    return [failedCheck(target.label, registry.packageVersion, err)];
  }
  try {
    return [await checkDatabase(db, target.label, registry.packageVersion)];
  } finally {
    await db.close();
  }
}

/** The command: one line per database (stdout when up to date, stderr otherwise), or --json. */
export async function checkCommand(args: CliArgs, registry: Registry, io: Io): Promise<number> {
  let checks: DatabaseCheck[];
  try {
    checks = args.url ? await checkDirect(args, registry) : await checkInstances(args, registry, io);
  } catch (err) {
    // Before any database was looked at (e.g. no --base-dn, an unreadable password file).
    checks = [failedCheck(args.url ?? 'instance mode', registry.packageVersion, err)];
  }
  const exitCode = overallCheck(checks);
  if (args.json) io.stdout.write(JSON.stringify({ exitCode, state: STATE_OF[exitCode], packageVersion: registry.packageVersion, databases: checks }, null, 2) + '\n');
  else if (checks.length === 0) io.stdout.write('pki-db-upgrade: no PKI instance on this machine: nothing to check\n');
  else for (const c of checks) (c.exitCode === 0 ? io.stdout : io.stderr).write(`pki-db-upgrade: ${escapeControl(c.database)}: ${escapeControl(describeCheck(c))}\n`);
  return exitCode;
}
