/**
 * A throw-away root for installing the RPM with the real rpm (`rpm --root DIR`): only /bin/sh, node
 * and the commands the scriptlets use are copied in, with their shared libraries (found with ldd),
 * so a scriptlet needing anything else fails visibly. rpm runs the scriptlets chrooted into DIR;
 * the tool there sees DIR as "/" (its /etc/pki, /var/log/pki, /var/lib/pki-db-upgrade), while
 * loopback networking still reaches the harness's 389 DS.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** What the scriptlets and the wrapper run: %pre mkdir; %posttrans rm, timeout; the wrapper env and node. */
export const SCRIPTLET_COMMANDS: Record<string, string> = {
  sh: '/bin/sh',
  env: 'env',
  mkdir: 'mkdir',
  rm: 'rm',
  timeout: 'timeout',
  node: process.execPath,
};

/** A clean environment, as root under dnf (rpm is run with `env -i`). */
export const RPM_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(command: string, args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { env: options.env ?? RPM_ENV, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function which(command: string): string {
  if (command.startsWith('/')) return fs.realpathSync(command);
  for (const dir of RPM_ENV.PATH.split(':')) {
    const candidate = path.join(dir, command);
    if (fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  throw new Error(`${command} not found in ${RPM_ENV.PATH}`);
}

/** The shared libraries of a binary, as ldd lists them (absolute paths, including the loader). */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/**
 * Makes DIR a minimal merged-/usr root: usr/{bin,sbin,lib,lib64} with /bin, /sbin, /lib, /lib64
 * links, /tmp and /var/tmp, and each of `commands` (name: host command) in /usr/bin.
 */
export function makeRoot(dir: string, commands: Record<string, string> = SCRIPTLET_COMMANDS): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'etc', 'root', 'var/lib', 'var/log']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) fs.symlinkSync(`usr/${d}`, path.join(dir, d));
  for (const d of ['tmp', 'var/tmp']) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.chmodSync(path.join(dir, d), 0o1777);
  }
  const copied = new Set<string>();
  const copy = (from: string, to: string) => {
    if (copied.has(to)) return;
    copied.add(to);
    fs.mkdirSync(path.dirname(path.join(dir, to)), { recursive: true });
    fs.copyFileSync(fs.realpathSync(from), path.join(dir, to), fs.constants.COPYFILE_FICLONE);
    fs.chmodSync(path.join(dir, to), fs.statSync(fs.realpathSync(from)).mode & 0o7777);
  };
  for (const [name, command] of Object.entries(commands)) {
    const binary = which(command);
    copy(binary, `/usr/bin/${name}`);
    for (const lib of sharedLibraries(binary)) copy(lib, lib);
  }
}

/** `rpm --root DIR --dbpath /var/lib/rpm --nodeps -Uvh PKG`, in a clean environment. */
export function rpmUpgrade(root: string, rpmFile: string, extraEnv: Record<string, string> = {}): Promise<CommandResult> {
  return run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '--nodeps', '-Uvh', rpmFile], { env: { ...RPM_ENV, ...extraEnv } });
}

/** `rpm --root DIR -q NAME`: the installed version-release, or undefined (`dbpath`: rpmUpgrade's, or dnf's: defaultDbPath()). */
export async function installedVersion(root: string, name: string, dbpath = '/var/lib/rpm'): Promise<string | undefined> {
  const r = await run('rpm', ['--root', root, '--dbpath', dbpath, '-q', '--qf', '%{VERSION}-%{RELEASE}', name]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Where rpm keeps its database when not told (what dnf uses in an installroot): /var/lib/rpm on Fedora, ~/.rpmdb with Debian's rpm. */
export function defaultDbPath(): string {
  return execFileSync('rpm', ['--eval', '%{_dbpath}'], { encoding: 'utf8', env: RPM_ENV }).trim();
}

/** A command of the installed package run inside the root, as an administrator would. */
export function inRoot(root: string, args: string[]): Promise<CommandResult> {
  return run('chroot', [root, ...args]);
}

/** Every path under `dir`, relative ("/etc/pki/..."), directories included. */
export function listTree(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = `${rel}/${entry.name}`;
      out.add(p);
      if (entry.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

/** The lines the transaction printed that come from the package (scriptlets and the tool). */
export function packageLines(r: CommandResult): string[] {
  return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.startsWith('pki-db-upgrade:'));
}
