/**
 * How the process ends on a signal (src/process/shutdown.ts), in a child process of its own:
 * the aborts first (awaited, within a deadline), then the notices, then the cleanups, then the
 * exit with 128 + the signal number.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildSync } from 'esbuild';

const SHUTDOWN = path.resolve(__dirname, '../../src/process/shutdown.ts');

/** Runs `body` (which gets the module as `shutdown`) in a child, signals it once it says "ready", and returns its exit code and output. */
function underSignal(body: string, signal: NodeJS.Signals): Promise<{ code: number | null; out: string }> {
  const { outputFiles } = buildSync({
    stdin: { contents: `import * as shutdown from ${JSON.stringify(SHUTDOWN)};\n${body}\nconsole.log('ready');\nsetInterval(() => undefined, 1000);`, resolveDir: __dirname, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
  });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', outputFiles[0].text], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n') && out.length === 'ready\n'.length) child.kill(signal);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: out.replace(/^ready\n/, '') }));
  });
}

describe('a run stopped by a signal', () => {
  it('awaits its aborts, then writes its notices, then runs its cleanups, and exits with 128 + the signal', async () => {
    const { code, out } = await underSignal(
      `shutdown.onProcessExit(() => console.log('cleanup: lock released'));
       shutdown.onSignalNotice((signal, exitCode) => console.log('notice: ' + signal + ' ' + exitCode));
       shutdown.onSignalAbort(async () => { await new Promise((r) => setTimeout(r, 200)); console.log('abort: other servers thawed'); });`,
      'SIGTERM',
    );
    expect(code).toBe(143);
    expect(out.trim().split('\n')).toEqual(['abort: other servers thawed', 'notice: SIGTERM 143', 'cleanup: lock released']);
  });

  it('does not wait for an abort that hangs past the deadline', async () => {
    const { code, out } = await underSignal(
      `shutdown.setAbortDeadline(300);
       shutdown.onSignalNotice(() => console.log('notice'));
       shutdown.onSignalAbort(() => new Promise(() => undefined));`,
      'SIGINT',
    );
    expect(code).toBe(130);
    expect(out.trim()).toBe('notice');
  });

  it('forgets an abort once unregistered', async () => {
    const { code, out } = await underSignal(
      `const forget = shutdown.onSignalAbort(async () => console.log('abort'));
       forget();`,
      'SIGHUP',
    );
    expect(code).toBe(129);
    expect(out).toBe('');
  });
});
