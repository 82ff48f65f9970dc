/** Instance mode: every PKI instance found under <root>/etc/pki (or the one named), one after the other. */
import { errorMessage, ExitCode, PkiDbUpgradeError } from '../core/errors';
import { systemPaths } from '../config/paths';
import { listInstanceNames, loadInstance } from '../config/instance-discovery';
import { oneLine } from './instance-outcome';
import { instanceRequestOf } from './instance-request';
import { runInstance } from './instance-run';
import { showInstance } from './instance-status';
import type { CliArgs } from './cli-args';
import type { Registry } from './database';
import type { Io } from './io';

export async function runInstances(args: CliArgs, registry: Registry, io: Io): Promise<number> {
  const paths = systemPaths(args.root);
  const names = args.instance ? [args.instance] : listInstanceNames(paths);
  if (names.length === 0) {
    // A package update on a machine without a PKI instance: nothing to upgrade, nothing to say to dnf.
    if (args.mode === 'interactive') {
      io.stderr.write(`pki-db-upgrade: no PKI instance under ${paths.pkiConfigDir}; nothing to do (use --url to name a database directly)\n`);
    }
    return ExitCode.Ok;
  }
  const request = instanceRequestOf(args);
  let firstFailure: number = ExitCode.Ok;
  for (const name of names) {
    let code: number;
    try {
      // One instance whose CS.cfg is broken must not keep the others from being upgraded.
      const instance = loadInstance(paths, name);
      code =
        request.action === 'status' || request.action === 'history'
          ? await showInstance(paths, instance, request, registry, io)
          : await runInstance(paths, instance, request, registry, io);
    } catch (err) {
      code = err instanceof PkiDbUpgradeError ? err.exitCode : ExitCode.UpgradeFailed;
      // One line, as dnf shows it. Start mode: an instance that cannot be read must not keep the
      // PKI server down (start-policy.ts).
      const start = request.mode === 'start';
      io.stderr.write(`pki-db-upgrade: ${name}: ${start ? `starting anyway (exit ${code} left for later): ` : ''}${oneLine(errorMessage(err))}\n`);
      if (start) code = ExitCode.Ok;
    }
    if (firstFailure === ExitCode.Ok) firstFailure = code;
  }
  return firstFailure;
}
