/** Command line of pki-db-upgrade: parsed strictly, so a typo is an error (exit 2), never ignored. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors';

export const COMMANDS = ['run', 'status', 'history', 'dry-run'] as const;
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
  baseDN?: string;
  backend?: string;
  serverId?: string;
  /** Seconds; undefined = the default (10, or connect_timeout in db-upgrade.conf). */
  connectTimeoutSec?: number;
  logFile?: string;
  /** Instance mode (no --url): one PKI instance under <root>/etc/pki, or every one found. */
  instance?: string;
  /** posttrans: unattended (dnf), honours auto_upgrade, one console line; interactive: may prompt. */
  mode: RunMode;
  /** Seconds to wait for another run's lock (default 0, or lock_wait in db-upgrade.conf). */
  waitSec?: number;
  /** Root of the system paths (default /, or PKI_DB_UPGRADE_ROOT). */
  root?: string;
  /** db-upgrade.conf to use instead of /etc/pki/<instance>/db-upgrade.conf. */
  configFile?: string;
}

export const RUN_MODES = ['interactive', 'posttrans'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export const USAGE = `Usage: pki-db-upgrade [COMMAND] [OPTIONS]

Upgrades the database of a PKI server (389 Directory Server) to the version of the installed
package, one recorded step at a time.

Commands:
  run        apply the pending upgrade steps (default)
  status     show the database version, the pending steps and the last result
             (instance mode: also the last recorded run, even while the 389 DS is down)
  history    list every recorded step (when, where, how long, outcome)
  dry-run    print the LDIF the pending steps would apply; change nothing

Instance mode (the default: reads the PKI instances' CS.cfg, see README "Local run"):
  --instance NAME        the PKI instance under /etc/pki (default: every instance found)
  --mode MODE            interactive (default) or posttrans (unattended, as run by the RPM:
                         honours auto_upgrade in db-upgrade.conf, prints one summary line)
  --wait SEC             wait up to SEC seconds for another run's lock (default: fail at once)
  --config FILE          db-upgrade.conf to use (default /etc/pki/<instance>/db-upgrade.conf)
  --root DIR             prefix of every system path (/etc/pki, /var/log/pki, /var/lib);
                         default / (or PKI_DB_UPGRADE_ROOT)
  --password-file FILE   file whose first line is the database password

Direct mode (one database named on the command line):
  --url URL              ldap://host:port, ldaps://host:port or ldapi://%2Frun%2Fslapd-X.socket
  --base-dn DN           the PKI subsystem database, e.g. o=pki-tomcat-CA
  --bind-dn DN           default: cn=Directory Manager
  --password-file FILE   file whose first line is the bind password (never pass it as an argument)
  --backend NAME         389 DS backend of the base DN (default: looked up in cn=config)
  --server-id ID         name of this server in the history (default: host:port from cn=config)
  --connect-timeout SEC  give up connecting after SEC seconds (default 10; both modes)

Output:
  --json                 machine-readable output (status, history)
  --log-file FILE        write the full log to FILE (instance mode: instead of log_file)
  -v, --verbose          debug lines on the console
  -h, --help             this text
  --version              the package version and the database version it upgrades to

Exit codes:
  0  upgraded, or nothing to do
  1  an upgrade step failed (the database stays at the last completed version; rerun to resume)
  2  usage or configuration error, bad tracking entries, or a database newer than this package
  3  another run holds the lock
  4  the 389 DS could not be reached (instance mode: an upgrade is recorded as pending)
  129, 130, 143  stopped by SIGHUP, SIGINT, SIGTERM (a restored password.conf is removed first)
`;

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
        'base-dn': { type: 'string' },
        backend: { type: 'string' },
        'server-id': { type: 'string' },
        'connect-timeout': { type: 'string' },
        'log-file': { type: 'string' },
        instance: { type: 'string' },
        mode: { type: 'string' },
        wait: { type: 'string' },
        root: { type: 'string' },
        config: { type: 'string' },
      },
    });
  } catch (err) {
    throw new ConfigError((err as Error).message, 'see pki-db-upgrade --help');
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new ConfigError(`unexpected argument "${positionals[1]}"`, 'see pki-db-upgrade --help');
  const command = (positionals[0] ?? 'run') as Command;
  if (!COMMANDS.includes(command)) {
    throw new ConfigError(`unknown command "${command}"`, `use one of: ${COMMANDS.join(', ')} (see --help)`);
  }
  const timeout = values['connect-timeout'] === undefined ? undefined : Number(values['connect-timeout']);
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) {
    throw new ConfigError(`--connect-timeout must be a positive number of seconds, not "${values['connect-timeout']}"`);
  }
  const wait = values.wait === undefined ? undefined : Number(values.wait);
  if (wait !== undefined && (!Number.isFinite(wait) || wait < 0)) {
    throw new ConfigError(`--wait must be a number of seconds (0 or more), not "${values.wait}"`);
  }
  const mode = (values.mode ?? 'interactive') as RunMode;
  if (!RUN_MODES.includes(mode)) throw new ConfigError(`--mode must be interactive or posttrans, not "${values.mode}"`);
  if (values.url && (values.instance || values.root || values.config || values.mode || values.wait !== undefined)) {
    throw new ConfigError('--url names one database directly; --instance, --root, --config, --mode and --wait belong to instance mode', 'use one mode or the other (see --help)');
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
    baseDN: values['base-dn'],
    backend: values.backend,
    serverId: values['server-id'],
    connectTimeoutSec: timeout,
    logFile: values['log-file'],
    instance: values.instance,
    mode,
    waitSec: wait,
    root: values.root,
    configFile: values.config,
  };
}
