/**
 * A three-supplier full mesh of its own, for the cluster flows that change cn=schema: each
 * supplier on its own loopback address (127.0.0.1, .2, .3: three hosts), each starting with the
 * schema of an old Dogtag release (cn=schema is per server, so a mesh an earlier flow upgraded is
 * never reused), a CA database loaded on the first and replicated to the others.
 *
 * And the checks a cluster result counts by, on EVERY server: no conflict entry, no schema error
 * in the errors log since the mesh was made, the constraint of 11.6.0/02-RequireIssuerName in
 * force, identical exports of the suffix, and (once every server ran every step) the indexes built.
 */
import { Attribute, type Client } from 'ldapts';
import { spawn } from 'node:child_process';
import { promises as fsp, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DsInstance } from '../harness/dirsrv';
import { backendDN, removeInstance, restartInstance } from '../harness/dirsrv';
import { applyLdif, certRecordAttributes, certRecordDN, loadPkiDatabase, loadPkiSchema, readFixture, type LoadResult } from '../harness/pki-database';
import { createReplicatedSuffix, createSuppliers, waitForConvergence } from '../harness/replication';
import { readRunInfo } from '../harness/run-info';
import { withLdap } from '../harness/test-env';
import { collect, MAIN_BUNDLE, runCli, type CliResult } from './bundle';
import { conflictEntries, managerPasswordFile } from './cluster';
import { createFakePki, type FakePki } from './fake-pki';
import { DIRECT_CA_FACTS } from './pki-facts';
import { EST_ADMINISTRATORS, groupDN } from '../../src/pki/groups';
import { PENDING_BUILD } from '../../src/apply/index-marks';
import { escapeFilterValue } from '../../src/ldap/filter';

/** Ports B+60 .. B+89: five meshes of three suppliers (harness README lists the ranges). */
const FIRST_PORT = 60;
const PORTS_PER_MESH = 6;
const SLOTS = 5;
export const MESH_HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

export interface Mesh {
  servers: DsInstance[];
  suffix: string;
  backendName: string;
  database: LoadResult;
  /** The tool's direct-mode command line against one server. */
  args(ds: DsInstance, ...command: string[]): string[];
  /** Size of each server's errors log when the mesh was ready: later lines are the flow's. */
  errorLogOffsets: Map<DsInstance, number>;
  remove(): Promise<void>;
}

/** A fresh mesh in slot `slot` (0..4), with a CA database of `certificates` records. */
export async function freshMesh(slot: number, options: { certificates?: number; withoutIssuerNameRatio?: number } = {}): Promise<Mesh> {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new Error(`mesh slot ${slot} is not within 0..${SLOTS - 1}`);
  const info = readRunInfo();
  const rootDir = path.join(info.runRoot, `m${slot}`);
  const portBase = info.portBase + FIRST_PORT + slot * PORTS_PER_MESH;
  const servers = await createSuppliers({ rootDir, portBase, count: 3, hosts: MESH_HOSTS });
  const remove = async () => {
    await Promise.all(servers.map((ds) => removeInstance(ds).catch(() => undefined)));
    await fsp.rm(rootDir, { recursive: true, force: true });
  };
  try {
    const suffix = 'o=pki-tomcat-CA';
    const backendName = 'ca';
    await createReplicatedSuffix(servers, suffix, backendName);
    // Each server starts with the old release's schema, as a cluster installed with it would.
    for (const ds of servers) await loadPkiSchema(ds);
    const database = await loadPkiDatabase(servers[0], { suffix, backendName, certificates: options.certificates ?? 200, withoutIssuerNameRatio: options.withoutIssuerNameRatio, schema: false });
    // The CA's ACLs as Dogtag 10.5.0 made them, and not yet its EST administrators group, which
    // 11.10.1/02-EstAdministrators adds and names in two of them: a cluster step that changes
    // replicated entries, value by value.
    const acls = await readFixture('releases/10.5.0/ca/acl.ldif');
    await withLdap(servers[0], async (c) => {
      await applyLdif(c, acls, { rootSuffix: suffix });
      await c.del(groupDN(EST_ADMINISTRATORS, suffix));
    });
    await waitForConvergence(servers, suffix, 60_000);
    const errorLogOffsets = new Map(servers.map((ds) => [ds, statSync(ds.errorLog).size]));
    const pw = managerPasswordFile(servers[0]);
    return {
      servers,
      suffix,
      backendName,
      database,
      errorLogOffsets,
      args: (ds, ...command) => [...command, '--url', ds.url, '--base-dn', suffix, '--password-file', pw, ...DIRECT_CA_FACTS],
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** The errors-log lines since the mesh was made that say schema and entries did not agree. */
export async function schemaErrors(mesh: Mesh, ds: DsInstance): Promise<string[]> {
  const text = (await fsp.readFile(ds.errorLog)).subarray(mesh.errorLogOffsets.get(ds) ?? 0).toString('utf8');
  return text.split('\n').filter((l) => /must not be overwritten|unknown object class|Schema violation|unable to replicate schema/i.test(l));
}

/** The result code of adding a certificate record without issuerName (0 when accepted). */
export async function addWithoutIssuerName(ds: DsInstance, mesh: Mesh, serial: bigint): Promise<number> {
  const cert = mesh.database.ca.issue(serial);
  const attributes = certRecordAttributes(cert, { withIssuerName: false, created: new Date() });
  return withLdap(ds, async (c: Client) => {
    try {
      await c.add(certRecordDN(mesh.suffix, serial), attributes as Attribute[]);
      return 0;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw err;
    }
  });
}

/** The suffix as one sorted text of its user attributes (keep-alive entries left out), per server. */
export async function exportOf(ds: DsInstance, suffix: string): Promise<string> {
  return withLdap(ds, async (c) => {
    const { searchEntries } = await c.search(suffix, { scope: 'sub', filter: '(objectClass=*)', attributes: ['*'], paged: { pageSize: 500 } });
    return searchEntries
      .filter((e) => !/^cn=repl keep alive/i.test(e.dn))
      .map((e) => {
        const attrs = Object.entries(e)
          .filter(([k]) => k !== 'dn')
          .map(([k, v]) => `${k.toLowerCase()}: ${(Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('base64') : String(x))).sort().join(' | ')}`)
          .sort();
        return `dn: ${e.dn.toLowerCase()}\n${attrs.join('\n')}`;
      })
      .sort()
      .join('\n\n');
  });
}

/** Everything a cluster flow must leave on every server; returns what does not hold (empty = all good). */
export async function meshProblems(mesh: Mesh, options: { requireIssuerName: boolean; indexesBuilt?: boolean }): Promise<string[]> {
  await waitForConvergence(mesh.servers, mesh.suffix, 60_000);
  const problems: string[] = [];
  const exports: string[] = [];
  let serial = 900_000n + BigInt(Math.floor(Math.random() * 1000)) * 10n;
  for (const ds of mesh.servers) {
    for (const dn of await conflictEntries(ds, mesh.suffix)) problems.push(`${ds.url}: conflict or glue entry ${dn}`);
    for (const l of await schemaErrors(mesh, ds)) problems.push(`${ds.url}: errors log: ${l}`);
    exports.push(await exportOf(ds, mesh.suffix));
  }
  exports.forEach((e, i) => {
    if (e !== exports[0]) problems.push(`${mesh.servers[i].url}: the export of ${mesh.suffix} differs from ${mesh.servers[0].url}'s`);
  });
  if (options.indexesBuilt) {
    for (const ds of mesh.servers) problems.push(...(await indexBuildProblems(ds, mesh)));
  }
  if (options.requireIssuerName) {
    for (const ds of mesh.servers) {
      const code = await addWithoutIssuerName(ds, mesh, serial++);
      // 65: object class violation.
      if (code !== 65) problems.push(`${ds.url}: a certificate record without issuerName got result ${code}, not 65`);
    }
  }
  return problems;
}

/**
 * A server that ran every step must have built what its steps defined (cn=config is each server's
 * own): no definition left marked, and an index that answers for every record. 389 DS leaves an
 * index added online out of searches until it is built (INDEX_OFFLINE), but only until it
 * restarts: then it trusts the index, and a search through the issuerName presence index (which
 * CAIndexes defines after the backfill wrote the values) finds only what was written after the
 * definition, unless the index task ran. Hence the restart first.
 */
async function indexBuildProblems(ds: DsInstance, mesh: Mesh): Promise<string[]> {
  const problems: string[] = [];
  const repository = `ou=certificateRepository,ou=ca,${mesh.suffix}`;
  await restartInstance(ds);
  await withLdap(ds, async (c) => {
    const marked = await c.search(backendDN(mesh.backendName), { scope: 'sub', filter: `(description=${escapeFilterValue(PENDING_BUILD)})`, attributes: ['1.1'] });
    for (const e of marked.searchEntries) problems.push(`${ds.url}: ${e.dn} is still marked for an index build`);
    const count = async (filter: string) => (await c.search(repository, { scope: 'one', filter, attributes: ['1.1'], paged: { pageSize: 1000 } })).searchEntries.length;
    const records = await count('(objectClass=certificateRecord)');
    const throughIndex = await count('(issuerName=*)');
    if (throughIndex !== records) problems.push(`${ds.url}: (issuerName=*) through the issuerName index finds ${throughIndex} of ${records} certificate records: the index was not built`);
  });
  return problems;
}

/** A fake /etc/pki tree per server (as the demo builds), its CS.cfg naming that server, password.conf holding the password. */
export function pkiTreeFor(ds: DsInstance, suffix: string): FakePki {
  const pki = createFakePki({ host: ds.host, port: ds.port, baseDN: suffix, instanceId: 'pki-tomcat' }, 'pki-tomcat');
  writeFileSync(pki.passwordConf, `internaldb=${ds.rootPassword}\n`, { mode: 0o600 });
  return pki;
}

/** `pki-db-upgrade --mode posttrans` on one server's tree, the bundled file in a child process. */
export function posttrans(pki: FakePki, ...more: string[]): Promise<CliResult> {
  return runCli(MAIN_BUNDLE, ['--root', pki.root, '--mode', 'posttrans', ...more], { timeoutMs: 300_000 });
}

/** Exit code of the namespace wrapper when a socket directory could not be hidden. */
const HIDING_FAILED = 97;

/**
 * `posttrans` as a host that has only its own 389 DS: in a mount namespace of its own, where an
 * empty tmpfs covers the socket directory of each `hidden` server, so the run cannot autobind to
 * them whatever it tries. The wrapper checks that each socket is gone before starting the tool.
 */
export async function posttransWithout(pki: FakePki, hidden: DsInstance[], ...more: string[]): Promise<CliResult> {
  const hide = 'n=$1; shift; while [ "$n" -gt 0 ]; do mount -t tmpfs -o size=64k pkidbu-hidden "$(dirname "$1")" && [ ! -e "$1" ] || exit ' + HIDING_FAILED + '; shift; n=$((n-1)); done; exec "$@"';
  const wrapper = ['--mount', '--propagation', 'private', 'sh', '-c', hide, 'sh', String(hidden.length), ...hidden.map((ds) => ds.ldapiPath)];
  const result = await collect(
    spawn('unshare', [...wrapper, process.execPath, MAIN_BUNDLE, '--root', pki.root, '--mode', 'posttrans', ...more], { stdio: ['ignore', 'pipe', 'pipe'] }),
    300_000,
  );
  if (result.code === HIDING_FAILED) throw new Error(`could not hide the LDAPI sockets of ${hidden.map((ds) => ds.url).join(', ')} in a mount namespace:\n${result.stderr}`);
  return result;
}
