/**
 * Runs the bundled tool as an administrator would: `node dist/pki-db-upgrade.js ...` in a child
 * process. Fixture bundles (other upgrade folders) are built once per test process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './temp-dir';

export const ROOT = path.resolve(__dirname, '../..');
export const MAIN_BUNDLE = path.join(ROOT, 'dist/pki-db-upgrade.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const built = new Map<string, string>();
let bundleDir: string | undefined;

/** Bundle of the tool around test/fixtures/upgrades/<name> (package version 2.0.0). */
export function fixtureBundle(name: string): string {
  const existing = built.get(name);
  if (existing) return existing;
  bundleDir ??= tempDir('pkidbu-bundles-');
  const out = path.join(bundleDir, `${name}.js`);
  const result = spawnSync(
    process.execPath,
    [path.join(ROOT, 'packaging/build.mjs'), '--upgrades', path.join(ROOT, 'test/fixtures/upgrades', name), '--package-version', '2.0.0', '--out', out],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`building fixture bundle ${name} failed:\n${result.stderr}${result.stdout}`);
  built.set(name, out);
  return out;
}

export function startCli(bundle: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [bundle, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCli(bundle: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return collect(startCli(bundle, args, options.env), options.timeoutMs);
}

/** Waits for a started child and gathers its output; kills it after `timeoutMs` so a hang cannot outlive the test. */
export function collect(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
