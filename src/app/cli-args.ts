/** Command line of pki-db-upgrade: parsed strictly, so a typo is an error (exit 2), never ignored. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors';
import { exitCodeRows, type ExitCodeMode } from '../core/exit-codes';
import type { StepScope } from '../core/step';
import { BACKUP_POLICIES, type BackupPolicy } from '../core/backup';

export const COMMANDS = ['run', 'status', 'history', 'dry-run', 'check', 'lock', 'mark-done', 'forget', 'cluster', 'new'] as const;
export const LOCK_ACTIONS = ['status', 'release'] as const;
export const CLUSTER_ACTIONS = ['status', 'upgrade'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command;
  help: boolean;
  version: boolean;
  json: boolean;
  verbose: boolean;
  url?: string;
  bindDN: string;
  passwordFile?: string;
  /** Direct mode: PEM CA certificate(s) trusted for LDAPS and StartTLS (instance mode: ca_file). */
  caFile?: string;
  baseDN?: string;
  backend?: string;
  serverId?: string;
  /** Direct mode: the PKI instance id and the CA's issuer DN, for steps that need them (VLV searches). */
  instanceId?: string;
  caIssuerDN?: string;
  /** Seconds; undefined = the default (10, or connect_timeout in db-upgrade.conf). */
  connectTimeoutSec?: number;
  logFile?: string;
  /** cluster status | cluster upgrade, and their options (see src/app/cluster-command.ts). */
  clusterAction?: (typeof CLUSTER_ACTIONS)[number];
  /** lock status | lock release [--force] (see src/app/lock-command.ts). */
  lockAction?: (typeof LOCK_ACTIONS)[number];
  force: boolean;
  dryRun: boolean;
  replicationTimeoutSec?: number;
  claimWaitSec?: number;
  /** Instance mode (no --url): one PKI instance under <root>/etc/pki, or every one found. */
  instance?: string;
  /**
   * posttrans: unattended (dnf), honours auto_upgrade, one console line; start: the same, before
   * the PKI server starts (src/app/start-policy.ts); interactive: may prompt.
   */
  mode: RunMode;
  /** Seconds to wait for another run's lock (default 0, or lock_wait in db-upgrade.conf). */
  waitSec?: number;
  /** Root of the system paths (default /, or PKI_DB_UPGRADE_ROOT). */
  root?: string;
  /** db-upgrade.conf to use instead of /etc/pki/<instance>/db-upgrade.conf. */
  configFile?: string;
  /** new VERSION Name [--dir DIR] [--scope SCOPE]: the step to create (src/app/new-step.ts). */
  newStep?: { version: string; name: string; dir: string; scope: StepScope };
  /** --backup: whether a run exports the database first (instance mode: overrides db-upgrade.conf). */
  backup?: BackupPolicy;
  /** mark-done STEP | forget STEP, --reason TEXT [--subsystem NAME] (src/app/recovery-command.ts). */
  recovery?: { action: 'mark-done' | 'forget'; stepId: string; reason: string; subsystem?: string };
}

export const RUN_MODES = ['interactive', 'posttrans', 'start'] as const;
export type RunMode = (typeof RUN_MODES)[number];

/** The exit-code part of --help, from the table (src/core/exit-codes.ts), as the README shows it. */
export function exitCodesHelp(width = 98): string {
  const titles: Record<ExitCodeMode, string> = {
    direct: 'Exit codes (direct mode, cluster and new commands):',
    instance: 'Exit codes in instance mode (several instances: the first that did not succeed sets it):',
    check: 'Exit codes of check (several databases: the first of 2, 12, 4, 10, 11 present):',
  };
  return (['direct', 'instance', 'check'] as const)
    .map((mode) => [titles[mode], ...exitCodeRows(mode).map((r) => wrap(`  ${r.codes}  ${r.meaning.replace(/`/g, '')}`, width, 5))].join('\n') + '\n')
    .join('\n');
}

/** Breaks `text` at spaces into lines of at most `width` columns, continuation lines indented. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/(?<=\S) (?=\S)/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/** The --help text; made when asked for (its exit-code table is wrapped at run time). */
export function usage(): string {
  return `Usage: pki-db-upgrade [COMMAND] [OPTIONS]

Upgrades the database of a PKI server (389 Directory Server) to the version of the installed
package, one recorded step at a time.

Commands:
  run        apply the pending upgrade steps (default)
  status     show the database version, the pending steps and the last result
             (instance mode: also the last recorded run, even while the 389 DS is down)
  history    list every recorded step (when, where, how long, outcome)
  dry-run    print the LDIF the pending steps would apply; change nothing
  check      say, read only, whether the databases are up to date, an upgrade is pending or held
             back, or the database is newer than this package: by its exit code (below), one
             line per database, or --json; for monitoring and the start of the PKI server
  cluster status    every server of the replicated database: agreements, RUV, convergence,
                    database version, freezes and claims
  cluster upgrade   the semi-automated upgrade: freeze the other suppliers (writes refused,
                    replication still applied), upgrade here, make them writable again (also on
                    failure or interrupt), wait until every server has the changes
  lock status       the instance lock (or the direct run's) and the cluster claims in the
                    database: free, held by a running run, or left behind by one that is gone
  lock release      remove what was left behind; a live holder only with --force (exit 3 without)
  mark-done STEP --reason TEXT
                    record STEP (VERSION/NN-Name) done without running it, after fixing by hand
                    what it does; who, when and why go into the history (see history)
  forget STEP --reason TEXT
                    delete the record of STEP so that the next run applies it again; audited too
                    (instance mode: --instance NAME, and --subsystem ca|kra|... when the
                    instance has several databases; refused while a cluster claim is live,
                    unless --force)
  new VERSION Name  (developers) write upgrades/VERSION/NN-Name.ts from a template, NN the next
                    number of that version; needs no root, instance or server

Instance mode (the default: reads the PKI instances' CS.cfg, see docs/operating.md):
  --instance NAME        the PKI instance under /etc/pki (default: every instance found)
  --mode MODE            interactive (default); posttrans (unattended, as run by the RPM:
                         honours auto_upgrade in db-upgrade.conf, prints one summary line); or
                         start (as posttrans, run by the PKI server's unit before Tomcat starts:
                         exits 0 unless the database holds a change this package does not ship
                         that is not backward compatible, and keeps systemd's start timeout
                         from expiring while it works)
  --wait SEC             wait up to SEC seconds for another run's lock (default: fail at once;
                         both modes)
  --config FILE          db-upgrade.conf to use (default /etc/pki/<instance>/db-upgrade.conf)
  --root DIR             prefix of every system path (/etc/pki, /var/log/pki, /var/lib);
                         default / (or PKI_DB_UPGRADE_ROOT)
  --password-file FILE   file whose first line is the database password
  --backup POLICY        (run) when to export the database first: always, before-data-steps
                         (default in instance mode, or backup in db-upgrade.conf) or never
                         (default in direct mode); see docs/operating.md, "Backups"

Direct mode (one database named on the command line):
  --url URL              ldap://host:port, ldaps://host:port, ldap+starttls://host:port (StartTLS
                         before the bind) or ldapi://%2Frun%2Fslapd-X.socket
  --base-dn DN           the PKI subsystem database, e.g. o=pki-tomcat-CA
  --bind-dn DN           default: cn=Directory Manager
  --password-file FILE   file whose first line is the bind password (never pass it as an argument)
  --ca-file FILE         PEM certificate of the CA that issued the 389 DS certificate, trusted for
                         ldaps:// and ldap+starttls:// URLs (default: node's built-in CAs)
  --backend NAME         389 DS backend of the base DN (default: looked up in cn=config)
  --server-id ID         name of this server in the history (default: host:port from cn=config)
  --instance-id ID       the PKI instance id, for steps that name things after it (VLV searches)
  --ca-issuer-dn DN      the CA's issuer DN (subject of its signing certificate), for such steps
  --connect-timeout SEC  give up connecting after SEC seconds (default 10; both modes)

Cluster:
  --dry-run              (cluster upgrade) print the freeze, upgrade and thaw LDIF; change nothing
  --force                (cluster upgrade) apply steps that are not backward compatible even when
                         some server has not recorded a package that ships them
                         (lock release) release a lock or claim whose holder still runs
  --replication-timeout SEC  a wait for replication fails after SEC s without progress
                         (default 120; at most 20 min per wait, progress or not)
  --claim-wait SEC       how long to wait for another server's running upgrade (default 60)

New step:
  --dir DIR              (new) the upgrades folder (default ./upgrades)
  --scope SCOPE          (new) cluster (default: replicated data and schema, applied once) or
                         server (cn=config such as indexes, applied on every server)

Output:
  --json                 machine-readable output (status, history)
  --log-file FILE        write the full log to FILE (instance mode: instead of log_file)
  -v, --verbose          debug lines on the console
  -h, --help             this text
  --version              the package version and the database version it upgrades to

${exitCodesHelp()}`;
}

export function parseCli(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        url: { type: 'string' },
        'bind-dn': { type: 'string' },
        'password-file': { type: 'string' },
        'ca-file': { type: 'string' },
        'base-dn': { type: 'string' },
        backend: { type: 'string' },
        'server-id': { type: 'string' },
        'instance-id': { type: 'string' },
        'ca-issuer-dn': { type: 'string' },
        'connect-timeout': { type: 'string' },
        'log-file': { type: 'string' },
        force: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'replication-timeout': { type: 'string' },
        'claim-wait': { type: 'string' },
        instance: { type: 'string' },
        mode: { type: 'string' },
        wait: { type: 'string' },
        root: { type: 'string' },
        config: { type: 'string' },
        dir: { type: 'string' },
        scope: { type: 'string' },
        reason: { type: 'string' },
        backup: { type: 'string' },
        subsystem: { type: 'string' },
      },
    });
  } catch (err) {
    throw new ConfigError((err as Error).message, 'see pki-db-upgrade --help');
  }
  const { values, positionals } = parsed;
  const command = (positionals[0] ?? 'run') as Command;
  if (!COMMANDS.includes(command)) {
    throw new ConfigError(`unknown command "${command}"`, `use one of: ${COMMANDS.join(', ')} (see --help)`);
  }
  const clusterAction = command === 'cluster' ? parseClusterAction(positionals[1]) : undefined;
  const lockAction = command === 'lock' ? parseLockAction(positionals[1]) : undefined;
  const newStep = command === 'new' && !values.help ? parseNewStep(positionals, values) : undefined;
  const recovery = (command === 'mark-done' || command === 'forget') && !values.help ? parseRecovery(command, positionals, values) : undefined;
  if (!recovery && (values.reason !== undefined || values.subsystem !== undefined)) throw new ConfigError('--reason and --subsystem belong to mark-done and forget', 'see pki-db-upgrade --help');
  const allowed = command === 'cluster' || command === 'lock' || recovery ? 2 : command === 'new' ? 3 : 1;
  if (positionals.length > allowed) throw new ConfigError(`unexpected argument "${positionals[allowed]}"`, 'see pki-db-upgrade --help');
  if (values['dry-run'] && clusterAction !== 'upgrade') throw new ConfigError('--dry-run belongs to cluster upgrade', 'see pki-db-upgrade --help');
  if (values.force && clusterAction !== 'upgrade' && lockAction !== 'release' && !recovery) {
    throw new ConfigError('--force belongs to cluster upgrade, lock release, mark-done and forget', 'see pki-db-upgrade --help');
  }
  for (const option of ['dir', 'scope'] as const) {
    if (values[option] !== undefined && command !== 'new') throw new ConfigError(`--${option} belongs to new`, 'see pki-db-upgrade --help');
  }
  const timeout = values['connect-timeout'] === undefined ? undefined : Number(values['connect-timeout']);
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) {
    throw new ConfigError(`--connect-timeout must be a positive number of seconds, not "${values['connect-timeout']}"`);
  }
  const wait = values.wait === undefined ? undefined : Number(values.wait);
  if (wait !== undefined && (!Number.isFinite(wait) || wait < 0)) {
    throw new ConfigError(`--wait must be a number of seconds (0 or more), not "${values.wait}"`);
  }
  if ((command === 'check' || command === 'lock' || recovery) && (values.mode !== undefined || values.wait !== undefined)) {
    throw new ConfigError(`${command}: --mode and --wait belong to run`, 'see pki-db-upgrade --help');
  }
  const backup = values.backup?.trim().toLowerCase();
  if (backup !== undefined && !(BACKUP_POLICIES as readonly string[]).includes(backup)) throw new ConfigError(`--backup must be always, before-data-steps or never, not "${values.backup}"`);
  if (backup !== undefined && command !== 'run') throw new ConfigError('--backup belongs to run', 'see pki-db-upgrade --help');
  const mode = (values.mode ?? 'interactive') as RunMode;
  if (!RUN_MODES.includes(mode)) throw new ConfigError(`--mode must be interactive, posttrans or start, not "${values.mode}"`);
  if (!values.url && (values['instance-id'] !== undefined || values['ca-issuer-dn'] !== undefined)) {
    throw new ConfigError('--instance-id and --ca-issuer-dn belong to direct mode (--url)', 'in instance mode they come from the instance: its folder name and the CA\'s CS.cfg');
  }
  if (values.url && (values.instance || values.root || values.config || values.mode)) {
    throw new ConfigError('--url names one database directly; --instance, --root, --config and --mode belong to instance mode', 'use one mode or the other (see --help)');
  }
  if (values['ca-file'] !== undefined && !values.url) {
    throw new ConfigError('--ca-file belongs to direct mode (--url)', 'in instance mode name the CA in ca_file of /etc/pki-db-upgrade/<instance>.conf (see docs/operating.md)');
  }
  return {
    command,
    help: values.help ?? false,
    version: values.version ?? false,
    json: values.json ?? false,
    verbose: values.verbose ?? false,
    url: values.url,
    bindDN: values['bind-dn'] ?? 'cn=Directory Manager',
    passwordFile: values['password-file'],
    caFile: values['ca-file'],
    baseDN: values['base-dn'],
    backend: values.backend,
    serverId: values['server-id'],
    instanceId: values['instance-id'],
    caIssuerDN: values['ca-issuer-dn'],
    connectTimeoutSec: timeout,
    logFile: values['log-file'],
    clusterAction,
    lockAction,
    force: values.force ?? false,
    dryRun: values['dry-run'] ?? false,
    replicationTimeoutSec: seconds(values['replication-timeout'], '--replication-timeout'),
    claimWaitSec: seconds(values['claim-wait'], '--claim-wait', true),
    instance: values.instance,
    mode,
    waitSec: wait,
    root: values.root,
    configFile: values.config,
    newStep,
    recovery,
    backup: backup as BackupPolicy | undefined,
  };
}

function parseRecovery(action: 'mark-done' | 'forget', positionals: string[], values: { reason?: string; subsystem?: string }): CliArgs['recovery'] {
  const stepId = positionals[1];
  if (!stepId) throw new ConfigError(`${action} needs the step, as VERSION/NN-Name (e.g. 11.6.0/01-CAIndexes)`, 'see pki-db-upgrade history for the ids');
  if (!/^[0-9][0-9A-Za-z.~+-]*\/\d+-\w+$/.test(stepId)) throw new ConfigError(`"${stepId}" is not a step id (VERSION/NN-Name, e.g. 11.6.0/01-CAIndexes)`, 'see pki-db-upgrade history for the ids');
  if (!values.reason?.trim()) throw new ConfigError(`${action} needs --reason TEXT`, 'say why, in a few words: it is kept in the history with who ran the command');
  return { action, stepId, reason: values.reason.trim(), subsystem: values.subsystem };
}

/** new VERSION Name: a developer's command, so the options of a run do not belong to it. */
function parseNewStep(positionals: string[], values: Record<string, string | boolean | undefined>): CliArgs['newStep'] {
  const [, version, name] = positionals;
  if (!version || !name) throw new ConfigError('new needs a VERSION and a Name', 'e.g. pki-db-upgrade new 11.7.0 AddIssuerNameIndex [--dir DIR] [--scope cluster|server]');
  const foreign = Object.keys(values).find((option) => !['dir', 'scope', 'help', 'verbose'].includes(option));
  if (foreign) throw new ConfigError(`--${foreign} does not apply to new`, 'new takes --dir and --scope only (see --help)');
  const scope = (values.scope ?? 'cluster') as StepScope;
  if (scope !== 'cluster' && scope !== 'server') throw new ConfigError(`--scope must be cluster or server, not "${values.scope}"`, 'see docs/writing-steps.md');
  return { version, name, dir: (values.dir as string | undefined) ?? 'upgrades', scope };
}

function parseLockAction(action: string | undefined): CliArgs['lockAction'] {
  if (!action || !(LOCK_ACTIONS as readonly string[]).includes(action)) {
    throw new ConfigError(action ? `unknown lock action "${action}"` : 'lock needs an action', `use one of: ${LOCK_ACTIONS.map((a) => `lock ${a}`).join(', ')}`);
  }
  return action as CliArgs['lockAction'];
}

function parseClusterAction(action: string | undefined): CliArgs['clusterAction'] {
  if (!action) throw new ConfigError('cluster needs an action', `use one of: ${CLUSTER_ACTIONS.map((a) => `cluster ${a}`).join(', ')}`);
  if (!(CLUSTER_ACTIONS as readonly string[]).includes(action)) {
    throw new ConfigError(`unknown cluster action "${action}"`, `use one of: ${CLUSTER_ACTIONS.map((a) => `cluster ${a}`).join(', ')}`);
  }
  return action as CliArgs['clusterAction'];
}

function seconds(raw: string | undefined, option: string, zeroAllowed = false): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
    throw new ConfigError(`${option} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds, not "${raw}"`);
  }
  return value;
}
