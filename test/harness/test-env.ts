/**
 * What test files use to reach the run's servers (started by global-setup.ts).
 *
 *   const ds = standalone();                       // shared standalone instance
 *   const { suffix, backendName } = uniqueSuffix('upg');
 *   await createBackend(ds, suffix, backendName);  // a database of this test's own
 *   const client = await ldapClient(ds);           // bound as cn=Directory Manager
 *
 *   const { a, b } = await pair();                 // shared replicated pair, created on first use
 *   await createReplicatedSuffix({ a, b }, suffix, backendName);
 *
 * Tests share servers but never suffixes, so they may run in parallel workers and need no cleanup.
 */
import type { Client } from 'ldapts';
import path from 'node:path';
import { createInstance, type DsInstance } from './dirsrv';
import { createTlsInstance } from './dirsrv-tls';
import { connect } from './ldap';
import type { ReplicatedPair } from './replication';
import { readRunInfo } from './run-info';
import { ensurePair } from './shared-pair';
import type { ServerCertificate } from './tls-certificates';

export type { DsInstance, ReplicatedPair };

/** The run's standalone instance. */
export function standalone(): DsInstance {
  return readRunInfo().standalone;
}

/**
 * The run's replicated pair (suppliers a and b, replica ids 1 and 2 on every replicated suffix).
 * Async because the first caller in the run creates it (~5 s); later calls return at once.
 */
export function pair(): Promise<ReplicatedPair> {
  return ensurePair(readRunInfo().pair);
}

let counter = 0;

/**
 * A suffix and backend name no other test (in any worker) uses: the worker's pid and a counter make
 * it unique within the run, and every run starts with fresh servers.
 */
/**
 * A 389 DS of the test file's own, for what must not touch the shared server (its cn=schema, its
 * LDIF folder, its certificate): on PKI_TEST_PORT_BASE + `offset` (and + 1), the offsets
 * README.md lists; with `tls`, 389 DS's own TLS serves that certificate (dirsrv-tls.ts). The
 * caller removes it (removeInstance) in afterAll.
 */
export function ownInstance(name: string, offset: number, options: { tls?: ServerCertificate } = {}): Promise<DsInstance> {
  const { runRoot, portBase } = readRunInfo();
  const port = portBase + offset;
  const create = { name: `${name}${port}`, port, securePort: port + 1, root: path.join(runRoot, name) };
  return options.tls ? createTlsInstance(create, options.tls) : createInstance(create);
}

export function uniqueSuffix(prefix = 't'): { suffix: string; backendName: string } {
  const clean = prefix.replace(/[^A-Za-z0-9]/g, '').slice(0, 16) || 't';
  counter += 1;
  const backendName = `${clean}${process.pid.toString(36)}x${counter}`;
  return { suffix: `o=${backendName}`, backendName };
}

/** An LDAP client bound as cn=Directory Manager; the caller unbinds it. */
export function ldapClient(ds: DsInstance = standalone()): Promise<Client> {
  return connect(ds.url, ds.rootDN, ds.rootPassword);
}

/** Runs `fn` with a Directory Manager client and unbinds afterwards. */
export async function withLdap<T>(ds: DsInstance, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await ldapClient(ds);
  try {
    return await fn(c);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/** Whether the entry exists (a search on it answers; "no such object" says it does not). */
export async function entryExists(ds: DsInstance, dn: string): Promise<boolean> {
  return withLdap(ds, async (c) => {
    try {
      await c.search(dn, { scope: 'base', attributes: ['1.1'] });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 32) return false;
      throw err;
    }
  });
}
