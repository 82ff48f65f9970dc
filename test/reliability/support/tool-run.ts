/**
 * Runs the bundled tool for the reliability suite, and keeps what every run printed so the suite
 * can check it afterwards (no password anywhere).
 *
 * Each run gets a /tmp of its own: as root, the tool starts in a private mount namespace whose
 * /tmp is a directory of the test's (`unshare --mount`, then a bind mount over /tmp), with only the
 * test's fake PKI tree mounted back in. Whatever the tool (or a library it bundles) writes to
 * /tmp, by os.tmpdir() or by a literal path, lands in that directory, which the suite checks is
 * empty after every case. Other processes on the machine writing to the real /tmp at the same time
 * cannot disturb the check. Without the right to unshare (not root), the run only gets
 * TMPDIR=<that directory>, which catches os.tmpdir() and nothing else; `isolation` says which.
 *
 * `unshare` and `sh` exec into node, so the child's pid is the tool's pid: kill -9 hits the tool.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface ToolProcess {
  child: ChildProcess;
  pid: number;
  /** What it printed so far (stdout then stderr are kept apart; this is both). */
  output(): string;
  stderr(): string;
  /** Resolves once it exited (it is killed with SIGKILL after the run's timeout). */
  done: Promise<ToolResult>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Paths directly under /tmp the tool must see (fake PKI trees, password files). */
  expose?: string[];
  timeoutMs?: number;
  /** Run as this uid/gid (setpriv), e.g. to find out what an unreadable file does. */
  user?: { uid: number; gid: number };
}

const NAMESPACE_SCRIPT = [
  'set -e',
  'private="$1"; shift',
  'while [ "$1" != "--" ]; do mount --bind "/tmp/$1" "$private/$1"; shift; done',
  'shift',
  'mount --rbind "$private" /tmp',
  'exec "$@"',
].join('\n');

let canUnshare: boolean | undefined;

/** True when runs get a private /tmp (root, with the right to create mount namespaces). */
export function privateTmpSupported(): boolean {
  if (canUnshare === undefined) {
    const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
    canUnshare = probe.status === 0;
  }
  return canUnshare;
}

export class ToolRunner {
  /** Every run started, in order: the suite scans their output for secrets. */
  readonly runs: ToolProcess[] = [];
  readonly privateTmp: string;
  /** Names under the private /tmp that are (empty) mount points of exposed paths. */
  private readonly mountPoints = new Set<string>();
  /** A copy of the bundle that any user can read, for runs as another user (made on first use). */
  private readableCopy?: string;

  constructor(
    private readonly bundle: string,
    name: string,
  ) {
    this.privateTmp = fs.mkdtempSync(path.join(os.tmpdir(), `pkidbu-reltmp-${name}-`));
    fs.chmodSync(this.privateTmp, 0o1777); // it is the run's /tmp, also for a run as another user
  }

  get isolation(): 'private /tmp (mount namespace)' | 'TMPDIR only' {
    return privateTmpSupported() ? 'private /tmp (mount namespace)' : 'TMPDIR only';
  }

  start(args: string[], options: StartOptions = {}): ToolProcess {
    const started = Date.now();
    const env = { ...process.env, TMPDIR: '/tmp', ...options.env };
    let command = process.execPath;
    const bundle = options.user ? this.readableBundle() : this.bundle;
    let argv = [bundle, ...args];
    if (privateTmpSupported()) {
      // The bundle itself may live under /tmp (a CI clone there): it must stay visible too.
      const exposed = [...(options.expose ?? []), ...topOfTmp(bundle)].map((p) => {
        const rel = path.relative('/tmp', p);
        if (!rel || rel.startsWith('..') || rel.includes('/')) throw new Error(`${p} is not directly under /tmp`);
        fs.mkdirSync(path.join(this.privateTmp, rel), { recursive: true });
        this.mountPoints.add(rel);
        return rel;
      });
      argv = ['--mount', '--propagation', 'private', 'sh', '-c', NAMESPACE_SCRIPT, 'sh', this.privateTmp, ...exposed, '--', ...wrapUser(options.user), command, ...argv];
      command = 'unshare';
    } else {
      env.TMPDIR = this.privateTmp;
      if (options.user) {
        argv = [...wrapUser(options.user).slice(1), command, ...argv];
        command = 'setpriv';
      }
    }
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<ToolResult>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
      });
    });
    const run: ToolProcess = { child, pid: child.pid!, output: () => stdout + stderr, stderr: () => stderr, done };
    this.runs.push(run);
    return run;
  }

  run(args: string[], options: StartOptions = {}): Promise<ToolResult> {
    return this.start(args, options).done;
  }

  /**
   * What the tool left in its /tmp: nothing but the empty mount points of exposed paths. Returns
   * the offending paths (empty = clean).
   */
  leftInTmp(): string[] {
    const left: string[] = [];
    for (const name of fs.readdirSync(this.privateTmp)) {
      const p = path.join(this.privateTmp, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory() && this.mountPoints.has(name) && fs.readdirSync(p).length === 0) continue; // a mount point
      left.push(p);
    }
    return left;
  }

  dispose(): void {
    fs.rmSync(this.privateTmp, { recursive: true, force: true });
    if (this.readableCopy) fs.rmSync(path.dirname(this.readableCopy), { recursive: true, force: true });
  }

  /** The clone (and so the bundle) may sit in a folder only root can enter, e.g. one made by mktemp -d. */
  private readableBundle(): string {
    if (!this.readableCopy) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-relbin-'));
      fs.chmodSync(dir, 0o755);
      const copy = path.join(dir, path.basename(this.bundle));
      fs.copyFileSync(this.bundle, copy);
      fs.chmodSync(copy, 0o644);
      this.readableCopy = copy;
    }
    return this.readableCopy;
  }
}

/** The path's first component under /tmp ("/tmp/check/dist/x.js" → ["/tmp/check"]), if any. */
function topOfTmp(file: string): string[] {
  const rel = path.relative('/tmp', path.resolve(file));
  if (!rel || rel.startsWith('..')) return [];
  return [path.join('/tmp', rel.split(path.sep)[0])];
}

function wrapUser(user?: { uid: number; gid: number }): string[] {
  return user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'] : [];
}
