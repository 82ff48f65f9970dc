/**
 * A fake PKI installation in a temporary folder, for the instance-mode tests: <root>/etc/pki/<name>
 * with a subsystem CS.cfg pointing at a real 389 DS, optional password.conf and db-upgrade.conf.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend, type DsInstance } from '../harness/dirsrv';
import { uniqueSuffix } from '../harness/test-env';
import { fakeCaSigningCert } from './pki-facts';

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
  /** internaldb.database: the database's 389 DS backend, as pkispawn writes it. */
  database?: string;
  /**
   * ca.signing.cert: the CA signing certificate (DER), as a CA's CS.cfg holds it in base64. A CA's
   * CS.cfg always has one: by default fakeCaSigningCert() (pki-facts.ts); null leaves the line out.
   */
  caSigningCert?: Buffer | null;
  /** internaldb.ldapauth.clientCertNickname (SslClientAuth). */
  clientCertNickname?: string;
  /** jss.configDir: the NSS database, as CS.cfg names it. */
  nssDatabaseDir?: string;
}

function caSigningCertOf(o: CsCfgOptions): Buffer | undefined {
  if (o.caSigningCert !== undefined) return o.caSigningCert ?? undefined;
  return (o.subsystem ?? 'ca') === 'ca' ? fakeCaSigningCert() : undefined;
}

export function csCfgText(o: CsCfgOptions): string {
  return [
    '_000=##',
    '_001=## Certificate Authority (CA) Configuration File (test)',
    ...(o.instanceId ? [`instanceId=${o.instanceId}`] : []),
    ...(caSigningCertOf(o) ? [`ca.signing.cert=${caSigningCertOf(o)!.toString('base64')}`] : []),
    'machineName=localhost',
    ...(o.nssDatabaseDir ? [`jss.configDir=${o.nssDatabaseDir}`] : []),
    'internaldb._000=##',
    `internaldb.basedn=${o.baseDN}`,
    ...(o.database ? [`internaldb.database=${o.database}`] : []),
    `internaldb.ldapauth.authtype=${o.authType ?? 'BasicAuth'}`,
    `internaldb.ldapauth.bindDN=${o.bindDN ?? 'cn=Directory Manager'}`,
    'internaldb.ldapauth.bindPWPrompt=internaldb',
    `internaldb.ldapauth.clientCertNickname=${o.clientCertNickname ?? ''}`,
    `internaldb.ldapconn.host=${o.host ?? '127.0.0.1'}`,
    `internaldb.ldapconn.port=${o.port}`,
    `internaldb.ldapconn.secureConn=${o.secure ? 'true' : 'false'}`,
    '',
  ].join('\n');
}

const created: string[] = [];

/** Removes every tree createFakePki made in this test file (call from afterAll). */
export function removeFakePkis(): void {
  for (const root of created.splice(0)) fs.rmSync(root, { recursive: true, force: true });
}

export function createFakePki(cs: CsCfgOptions, name = `pki-${randomBytes(3).toString('hex')}`): FakePki {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-tree-'));
  created.push(root);
  return fakePkiIn(root, cs, name);
}

/** The instance `name` (its subsystem folder and CS.cfg) in the tree `root`, which the caller owns. */
export function fakePkiIn(root: string, cs: CsCfgOptions, name: string): FakePki {
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

/** Adds a subsystem folder (kra, ocsp, ...) with its own CS.cfg to the instance. */
export function addSubsystem(pki: FakePki, subsystem: string, cs: CsCfgOptions): void {
  fs.mkdirSync(path.join(pki.instanceDir, subsystem), { recursive: true });
  fs.writeFileSync(path.join(pki.instanceDir, subsystem, 'CS.cfg'), csCfgText(cs));
}

export function writeToolConfig(pki: FakePki, lines: Record<string, string | number | boolean>): void {
  fs.writeFileSync(pki.toolConfig, Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
}

export function readStatus(pki: Pick<FakePki, 'statusFile'>): any {
  return JSON.parse(fs.readFileSync(pki.statusFile, 'utf8'));
}

/** Resolves once `file` exists (the controlled step writes it when it starts). */
export async function waitForFile(file: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A fake instance whose CA database is a fresh suffix on `ds`, the password as passwordFromConfigFile puts it. */
export async function instanceOnServer(ds: DsInstance, prefix: string): Promise<{ pki: FakePki; suffix: string }> {
  const { suffix, backendName } = uniqueSuffix(prefix);
  await createBackend(ds, suffix, backendName);
  const pki = createFakePki({ port: ds.port, baseDN: suffix });
  passwordFromConfigFile(pki, ds);
  return { pki, suffix };
}

/** A root-only file with the database password of `ds`, named in db-upgrade.conf (no LDAPI socket, no keyring), with `more` settings. */
export function passwordFromConfigFile(pki: FakePki, ds: DsInstance, more: Record<string, string | number | boolean> = {}): string {
  const file = path.join(pki.root, 'root-only.pass');
  fs.writeFileSync(file, `internaldb=${ds.rootPassword}\n`, { mode: 0o600 });
  writeToolConfig(pki, { password_file: file, ldapi_socket: '/nonexistent/slapd.socket', use_keyring: false, ...more });
  return file;
}
