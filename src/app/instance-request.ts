/**
 * What an instance-mode run is asked to do, typed: the command line's instance-mode options and
 * nothing else, so the run does not depend on how they were given.
 */
import type { ClusterTiming } from '../converge/cluster-context';
import type { CliArgs, RunMode } from './cli-args';
import type { BackupPolicy } from '../core/backup';
import { clusterTiming } from './cluster-command';

export interface InstanceRequest {
  /** run and dry-run upgrade; status, history and check only read. */
  action: 'run' | 'dry-run' | 'status' | 'history' | 'check' | 'lock' | 'mark-done' | 'forget';
  /** posttrans: unattended (dnf), honours auto_upgrade, one console line; interactive: may prompt. */
  mode: RunMode;
  /** db-upgrade.conf to use instead of the instance's own and root's. */
  configFile?: string;
  logFile?: string;
  passwordFile?: string;
  /** Seconds; undefined = db-upgrade.conf's or the default. */
  waitSec?: number;
  connectTimeoutSec?: number;
  verbose: boolean;
  json: boolean;
  /** --replication-timeout and --claim-wait. */
  timing: Partial<ClusterTiming>;
  /** --backup, over db-upgrade.conf's backup. */
  backup?: BackupPolicy;
  /** Start mode under systemd: the unit's notify socket, to extend its start timeout (src/process/start-timeout.ts). */
  notifySocket?: string;
}

export function instanceRequestOf(args: CliArgs): InstanceRequest {
  if (args.command === 'cluster' || args.command === 'new') throw new Error(`${args.command} is not an instance-mode command`);
  return {
    action: args.command,
    mode: args.mode,
    configFile: args.configFile,
    logFile: args.logFile,
    passwordFile: args.passwordFile,
    waitSec: args.waitSec,
    connectTimeoutSec: args.connectTimeoutSec,
    verbose: args.verbose,
    json: args.json,
    timing: clusterTiming(args),
    backup: args.backup,
    notifySocket: args.mode === 'start' ? process.env.NOTIFY_SOCKET || undefined : undefined,
  };
}
