/**
 * A fake PKI installation in a temporary folder, for the instance-mode tests: <root>/etc/pki/<name>
 * with a subsystem CS.cfg pointing at a real 389 DS, optional password.conf and db-upgrade.conf,
 * and helpers to run the bundled tool against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FakePki {
  root: string;
  name: string;
  instanceDir: string;
  passwordConf: string;
  toolConfig: string;
  logFile: string;
  stateDir: string;
  statusFile: string;
}

export interface CsCfgOptions {
  host?: string;
  port: number;
  baseDN: string;
  secure?: boolean;
  authType?: 'BasicAuth' | 'SslClientAuth';
  bindDN?: string;
  instanceId?: string;
  subsystem?: string;
}

export function csCfgText(o: CsCfgOptions): string {
  return [
    '_000=##',
    '_001=## Certificate Authority (CA) Configuration File (test)',
    ...(o.instanceId ? [`instanceId=${o.instanceId}`] : []),
    'machineName=localhost',
    'internaldb._000=##',
    `internaldb.basedn=${o.baseDN}`,
    `internaldb.ldapauth.authtype=${o.authType ?? 'BasicAuth'}`,
    `internaldb.ldapauth.bindDN=${o.bindDN ?? 'cn=Directory Manager'}`,
    'internaldb.ldapauth.bindPWPrompt=internaldb',
    'internaldb.ldapauth.clientCertNickname=',
    `internaldb.ldapconn.host=${o.host ?? '127.0.0.1'}`,
    `internaldb.ldapconn.port=${o.port}`,
    `internaldb.ldapconn.secureConn=${o.secure ? 'true' : 'false'}`,
    '',
  ].join('\n');
}

export function createFakePki(cs: CsCfgOptions, name = `pki-${randomBytes(3).toString('hex')}`): FakePki {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-tree-'));
  const instanceDir = path.join(root, 'etc/pki', name);
  const sub = path.join(instanceDir, cs.subsystem ?? 'ca');
  fs.mkdirSync(sub, { recursive: true });
  fs.writeFileSync(path.join(sub, 'CS.cfg'), csCfgText(cs));
  const stateDir = path.join(root, 'var/lib/pki-db-upgrade', name);
  return {
    root,
    name,
    instanceDir,
    passwordConf: path.join(instanceDir, 'password.conf'),
    toolConfig: path.join(instanceDir, 'db-upgrade.conf'),
    logFile: path.join(root, 'var/log/pki', name, 'db-upgrade.log'),
    stateDir,
    statusFile: path.join(stateDir, 'status.json'),
  };
}

export function writeToolConfig(pki: FakePki, lines: Record<string, string | number | boolean>): void {
  fs.writeFileSync(pki.toolConfig, Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
}

export function readStatus(pki: FakePki): any {
  return JSON.parse(fs.readFileSync(pki.statusFile, 'utf8'));
}

export interface RunningTool {
  child: ChildProcess;
  done: Promise<ToolResult>;
}

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Starts `node <bundle> ARGS` with stdin closed (as under dnf); never through a shell. A run still
 * going after `killAfterMs` is killed, so a hang fails the test instead of outliving it.
 */
export function startTool(bundle: string, args: string[], env: Record<string, string> = {}, killAfterMs = 40_000): RunningTool {
  const started = Date.now();
  const child = spawn(process.execPath, [bundle, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const done = new Promise<ToolResult>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    }),
  );
  return { child, done };
}

export function runTool(bundle: string, args: string[], env: Record<string, string> = {}): Promise<ToolResult> {
  return startTool(bundle, args, env).done;
}

/** Resolves once `file` exists (the controlled step writes it when it starts). */
export async function waitForFile(file: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
