/** Instance mode: every PKI instance found under <root>/etc/pki (or the one named), one after the other. */
import { errorMessage, ExitCode, PkiDbUpgradeError } from '../core/errors';
import { systemPaths } from '../config/paths';
import { discoverInstances, type PkiInstance } from '../instance/discovery';
import { runInstance } from '../run/local-run';
import { showInstance } from '../run/local-status';
import type { CliArgs } from './args';
import type { Registry } from './database';
import type { Io } from './io';

export async function runInstances(args: CliArgs, registry: Registry, io: Io): Promise<number> {
  const paths = systemPaths(args.root);
  let instances: PkiInstance[];
  try {
    instances = discoverInstances(paths, args.instance);
  } catch (err) {
    io.stderr.write(`pki-db-upgrade: ${errorMessage(err)}\n`);
    return err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UsageOrConfig;
  }
  if (instances.length === 0) {
    // A package update on a machine without a PKI instance: nothing to upgrade, nothing to say to dnf.
    if (args.mode === 'interactive') {
      io.stderr.write(`pki-db-upgrade: no PKI instance under ${paths.pkiConfigDir}; nothing to do (use --url to name a database directly)\n`);
    }
    return ExitCode.Ok;
  }
  let worst: number = ExitCode.Ok;
  for (const instance of instances) {
    let code: number;
    try {
      code =
        args.command === 'status' || args.command === 'history'
          ? await showInstance(paths, instance, args, registry, io)
          : await runInstance(paths, instance, args, registry, io);
    } catch (err) {
      io.stderr.write(`pki-db-upgrade: ${instance.name}: ${errorMessage(err)}\n`);
      code = err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
    }
    if (worst === ExitCode.Ok) worst = code;
  }
  return worst;
}
