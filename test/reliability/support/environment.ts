/**
 * Set-up shared by the reliability files: 389 DS instances of a file's own (for cases that stop,
 * kill or reconfigure a server, or need a pristine cn=schema) and fake PKI trees whose CS.cfg
 * points at a database, with the password in a root-only file named in db-upgrade.conf (so every
 * run restores password.conf and removes it again: the path the suite checks most).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createInstance, removeInstance, type DsInstance } from '../../harness/dirsrv';
import { readRunInfo } from '../../harness/run-info';
import { createFakePki, type CsCfgOptions, type FakePki } from '../../support/fake-pki';
import { unbufferAccessLog } from './directory-export';
import type { ReliabilityGuard } from './guard';

/**
 * Port offsets from PKI_TEST_PORT_BASE for the suite's own servers (LDAP port, and +1 reserved for
 * LDAPS) and proxy. Other test files use +20 (harness-dirsrv), +22 (upgrade-steps-own-server) and
 * +24 (rpm-package) in the same run; the bench +30.
 */
export const PORTS = { crash: 40, reference: 42, faults: 44, concurrency: 46, proxy: 50 } as const;

/**
 * A fresh instance under the run root (removed by the global teardown even if the file crashes),
 * with a password only this file uses, and an unbuffered access log.
 */
export async function ownInstance(name: string, portOffset: number, rootPassword: string): Promise<DsInstance> {
  const info = readRunInfo();
  const port = info.portBase + portOffset;
  const ds = await createInstance({ name: `${name}${port}`, port, securePort: port + 1, root: path.join(info.runRoot, name), rootPassword });
  await unbufferAccessLog(ds);
  return ds;
}

export async function dropInstance(ds: DsInstance | undefined): Promise<void> {
  if (ds) await removeInstance(ds);
}

export interface Tree extends FakePki {
  passwordSource: string;
}

/**
 * A fake instance for `ds`/`suffix`; the password comes from a root-only file named in
 * db-upgrade.conf (password.conf is restored for each run). Tracked by the guard.
 */
export function pkiTree(
  guard: ReliabilityGuard,
  ds: DsInstance,
  suffix: string,
  options: { cs?: Partial<CsCfgOptions>; config?: Record<string, string | number | boolean>; password?: string; passwordSource?: boolean } = {},
): Tree {
  const pki = createFakePki({ port: ds.port, baseDN: suffix, ...options.cs });
  const passwordSource = path.join(pki.root, 'root-only.pass');
  fs.writeFileSync(passwordSource, `internaldb=${options.password ?? ds.rootPassword}\n`, { mode: 0o600 });
  const config: Record<string, string | number | boolean> = { password_file: passwordSource, ldapi_socket: '/nonexistent/slapd.socket', use_keyring: false, connect_timeout: 5, ...options.config };
  // Without it: password.conf (if the test writes one) is the only source.
  if (options.passwordSource === false) delete config.password_file;
  fs.writeFileSync(pki.toolConfig, Object.entries(config).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  guard.track(pki, { secretHolders: [passwordSource] });
  return { ...pki, passwordSource };
}
