/**
 * Multi-supplier replication between harness instances, configured over plain LDAP.
 *
 * We write the cn=config entries that `dsconf replication enable` / `repl-agmt create` would write
 * (replica entry, agreements, replication manager) directly with ldapts: the result is the same,
 * and it avoids a Python start-up (~0.5 s) per dsconf call, which matters because every cluster
 * test gets a replicated suffix of its own. 389 DS >= 1.4.4 keeps the changelog inside each
 * backend, so enabling a supplier needs no separate changelog entry.
 *
 * Topologies are lists of suppliers (full mesh); a "pair" is the common two-supplier case.
 */
import * as path from 'node:path';
import type { Client } from 'ldapts';
import { DsInstance, createBackend, createInstance, describeInstance, mappingTreeDN, removeInstance } from './dirsrv';
import { RESULT, addIfMissing, allStrings, firstString, replaceAttr, resultCode, withClient } from './ldap';
import { pollUntil } from './wait';

export const REPLICATION_MANAGER_DN = 'cn=replication manager,cn=config';
/** Loopback-only test servers: fixed, so a kept cluster (PKI_TEST_KEEP=1) is easy to inspect. */
export const REPLICATION_MANAGER_PASSWORD = 'Repl.Secret.123';

export interface ReplicatedPair {
  a: DsInstance;
  b: DsInstance;
}
/** A pair, or any list of suppliers (full mesh: every supplier sends to every other). */
export type Topology = ReplicatedPair | DsInstance[];

export function suppliersOf(t: Topology): DsInstance[] {
  return Array.isArray(t) ? t : [t.a, t.b];
}

const INIT_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------
// Servers

export interface CreateSuppliersOptions {
  /** Directory that receives one instance root per supplier (<rootDir>/<name>); keep it short. */
  rootDir: string;
  /** Supplier i listens on portBase + 2i (LDAP) and portBase + 2i + 1 (reserved secure port). */
  portBase: number;
  /** Default 2. */
  count?: number;
  /** Default a<port>, b<port>, ... (unique on the machine, see dirsrv removeStatsSemaphore). */
  names?: string[];
  /** Loopback address of each supplier (default 127.0.0.1 for all). */
  hosts?: string[];
  /** fsync every transaction, as production (default false, as createInstance): benchmarks. */
  durableTransactions?: boolean;
}

/**
 * Creates and starts `count` instances in parallel and gives each the replication manager entry.
 * Suffixes are made replicated later, one per test, with createReplicatedSuffix.
 */
export async function createSuppliers(opts: CreateSuppliersOptions): Promise<DsInstance[]> {
  const count = opts.count ?? 2;
  const names = opts.names ?? Array.from({ length: count }, (_, i) => `${String.fromCharCode(97 + i)}${opts.portBase + 2 * i}`);
  const settled = await Promise.allSettled(
    names.map((name, i) =>
      createInstance({
        name,
        port: opts.portBase + 2 * i,
        securePort: opts.portBase + 2 * i + 1,
        host: opts.hosts?.[i],
        // Short root names (a, b, ...): the LDAPI socket path must stay short.
        root: path.join(opts.rootDir, String.fromCharCode(97 + i)),
        durableTransactions: opts.durableTransactions,
      }),
    ),
  );
  const created = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    // Do not leave half a cluster running.
    await Promise.all(created.map((ds) => removeInstance(ds).catch(() => undefined)));
    throw failed.reason;
  }
  await Promise.all(created.map(addReplicationManager));
  return created;
}

export async function createReplicatedPair(opts: Omit<CreateSuppliersOptions, 'count'>): Promise<ReplicatedPair> {
  const [a, b] = await createSuppliers({ ...opts, count: 2 });
  return { a, b };
}

async function addReplicationManager(ds: DsInstance): Promise<void> {
  await withClient(ds, (c) =>
    addIfMissing(c, REPLICATION_MANAGER_DN, {
      // The object classes lib389's BootstrapReplicationManager uses.
      objectClass: ['top', 'inetUser', 'netscapeServer', 'nsAccount'],
      cn: ['replication manager'],
      uid: ['replication manager'],
      userPassword: [REPLICATION_MANAGER_PASSWORD],
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Replicated suffixes

export function replicaDN(suffix: string): string {
  return `cn=replica,${mappingTreeDN(suffix)}`;
}

function agreementName(to: DsInstance): string {
  return `to-${to.name}`;
}

function agreementDN(suffix: string, to: DsInstance): string {
  return `cn=${agreementName(to)},${replicaDN(suffix)}`;
}

/**
 * Creates `suffix` (backend `backendName`) on every supplier, enables it as a supplier replica on
 * each (replica id = position + 1), creates agreements in every direction, total-initialises all
 * others from the first supplier and waits (bounded) until each init has succeeded.
 */
export async function createReplicatedSuffix(topology: Topology, suffix: string, backendName: string): Promise<void> {
  const suppliers = suppliersOf(topology);
  const [first, ...others] = suppliers;
  await Promise.all(suppliers.map((ds) => createBackend(ds, suffix, backendName)));
  await Promise.all(suppliers.map((ds, i) => enableSupplier(ds, suffix, i + 1)));
  for (const from of suppliers) {
    await withClient(from, async (c) => {
      for (const to of suppliers) if (to !== from) await addAgreement(c, suffix, to);
    });
  }
  await Promise.all(others.map((to) => totalInit(first, to, suffix)));
}

async function enableSupplier(ds: DsInstance, suffix: string, replicaId: number): Promise<void> {
  await withClient(ds, (c) =>
    addIfMissing(c, replicaDN(suffix), {
      objectClass: ['top', 'nsds5replica', 'extensibleObject'],
      cn: ['replica'],
      nsDS5ReplicaRoot: [suffix],
      nsDS5ReplicaType: ['3'], // read-write (supplier)
      nsDS5Flags: ['1'], // keeps a changelog
      nsDS5ReplicaId: [String(replicaId)],
      nsDS5ReplicaBindDN: [REPLICATION_MANAGER_DN],
    }),
  );
}

async function addAgreement(c: Client, suffix: string, to: DsInstance): Promise<void> {
  await addIfMissing(c, agreementDN(suffix, to), {
    objectClass: ['top', 'nsds5replicationagreement'],
    cn: [agreementName(to)],
    description: [`${suffix} to ${to.name}`],
    nsDS5ReplicaRoot: [suffix],
    nsDS5ReplicaHost: [to.host],
    nsDS5ReplicaPort: [String(to.port)],
    nsDS5ReplicaTransportInfo: ['LDAP'],
    nsDS5ReplicaBindMethod: ['SIMPLE'],
    nsDS5ReplicaBindDN: [REPLICATION_MANAGER_DN],
    nsDS5ReplicaCredentials: [REPLICATION_MANAGER_PASSWORD],
  });
}

/** Total update of `to` from `from`; "replica busy" (the consumer is mid-session) is retried. */
async function totalInit(from: DsInstance, to: DsInstance, suffix: string): Promise<void> {
  const dn = agreementDN(suffix, to);
  await withClient(from, async (c) => {
    await replaceAttr(c, dn, 'nsds5BeginReplicaRefresh', ['start']);
    await pollUntil(
      async () => {
        const { searchEntries } = await c.search(dn, {
          scope: 'base',
          attributes: ['nsds5BeginReplicaRefresh', 'nsds5ReplicaLastInitStatus'],
        });
        const e = searchEntries[0];
        const status = firstString(e, 'nsds5ReplicaLastInitStatus') ?? '';
        if (firstString(e, 'nsds5BeginReplicaRefresh')) return false; // still queued or running
        if (status.includes('Total update succeeded')) return true;
        if (/replica busy/i.test(status)) {
          await replaceAttr(c, dn, 'nsds5BeginReplicaRefresh', ['start']);
          return false;
        }
        if (/error/i.test(status) && !/Error \(0\)/.test(status)) throw new Error(`total init failed: ${status}`);
        return false;
      },
      {
        timeoutMs: INIT_TIMEOUT_MS,
        intervalMs: 100,
        what: `total init of ${suffix} from ${from.name} (${from.url}) to ${to.name} (${to.url})`,
        describe: () => `${describeInstance(from)}\n${describeInstance(to)}`,
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Convergence

/** One RUV element: replica id -> max CSN (elements without CSNs are left out). */
export type Ruv = Map<string, string>;

const RUV_FILTER = '(&(objectclass=nstombstone)(nsUniqueId=ffffffff-ffffffff-ffffffff-ffffffff))';

/**
 * Reads the database RUV of `suffix`. Returns undefined while the server cannot answer for the
 * suffix (e.g. referral 10 during a total init), which callers treat as "not converged".
 */
export async function readRuv(ds: DsInstance, suffix: string): Promise<Ruv | undefined> {
  return withClient(ds, async (c) => {
    try {
      const { searchEntries } = await c.search(suffix, { scope: 'sub', filter: RUV_FILTER, attributes: ['nsds50ruv'] });
      if (searchEntries.length === 0) return undefined;
      return parseRuv(allStrings(searchEntries[0], 'nsds50ruv'));
    } catch (err) {
      const code = resultCode(err);
      if (code === RESULT.referral || code === RESULT.noSuchObject) return undefined;
      throw err;
    }
  });
}

/** "{replica 1 ldap://host:port} <minCSN> <maxCSN>" -> "1" => maxCSN; skips {replicageneration}. */
export function parseRuv(values: string[]): Ruv {
  const ruv: Ruv = new Map();
  for (const v of values) {
    const m = /^\{replica (\d+)[^}]*\}\s+(\S+)\s+(\S+)/.exec(v.trim());
    if (m) ruv.set(m[1], m[3]);
  }
  return ruv;
}

/** True when every server has the same max CSN for every replica id any of them knows. */
export function ruvsConverged(ruvs: Ruv[]): boolean {
  const ids = new Set(ruvs.flatMap((r) => [...r.keys()]));
  for (const id of ids) {
    const csns = ruvs.map((r) => r.get(id));
    if (csns.some((c) => c === undefined) || new Set(csns).size !== 1) return false;
  }
  return true;
}

/**
 * Waits until all suppliers hold the same changes for `suffix`. CSNs are fixed-width hex, so equal
 * strings mean equal positions; a server still being initialised counts as not converged.
 */
export async function waitForConvergence(topology: Topology, suffix: string, timeoutMs = 30_000): Promise<void> {
  const suppliers = suppliersOf(topology);
  let last: (Ruv | undefined)[] = [];
  await pollUntil(
    async () => {
      last = await Promise.all(suppliers.map((ds) => readRuv(ds, suffix)));
      return last.every((r) => r !== undefined) && ruvsConverged(last as Ruv[]);
    },
    {
      timeoutMs,
      intervalMs: 50,
      what: `replication of ${suffix} to converge on ${suppliers.map((s) => `${s.name} (${s.url})`).join(', ')}`,
      describe: () =>
        suppliers
          .map((ds, i) => `RUV on ${ds.name}: ${last[i] ? JSON.stringify([...last[i]!]) : 'unavailable'}\n${describeInstance(ds)}`)
          .join('\n'),
    },
  );
}

/** Agreement status lines of one supplier (for diagnostics in tests). */
export async function agreementStatus(ds: DsInstance): Promise<{ dn: string; status: string }[]> {
  return withClient(ds, async (c) => {
    const { searchEntries } = await c.search('cn=config', {
      scope: 'sub',
      filter: '(objectclass=nsds5replicationagreement)',
      attributes: ['nsds5replicaLastUpdateStatus'],
    });
    return searchEntries.map((e) => ({ dn: e.dn, status: firstString(e, 'nsds5replicaLastUpdateStatus') ?? '' }));
  });
}
