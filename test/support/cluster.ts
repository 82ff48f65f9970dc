/**
 * What the cluster tests share: a replicated database of their own on the run's pair, the tool run
 * in-process (main) with a registry of steps that record where they ran, and the checks every
 * cluster test ends with (no replication conflict entry, every server writable).
 */
import { Attribute, Change, type Client } from 'ldapts';
import { writeFileSync } from 'node:fs';
import { tempDir } from './temp-dir';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/app/main';
import type { Registry } from '../../src/app/database';
import type { RegisteredStep, StepContext, StepScope } from '../../src/core/step';
import type { HistoryState } from '../../src/core/history-store';
import { LdaptsSession } from '../../src/ldap/ldapts-session';
import { LdapHistoryStore } from '../../src/record/ldap-history-store';
import type { DsInstance } from '../harness/dirsrv';
import { createReplicatedSuffix, waitForConvergence } from '../harness/replication';
import { pair, uniqueSuffix, withLdap, type ReplicatedPair } from '../harness/test-env';
import { DIRECT_CA_FACTS } from './pki-facts';

let passwordFile: string | undefined;

/** The Directory Manager password (the same on both servers) in a 0600 file. */
export function managerPasswordFile(ds: DsInstance): string {
  if (!passwordFile) {
    passwordFile = path.join(tempDir('pkidbu-pw-'), 'pw');
    writeFileSync(passwordFile, `${ds.rootPassword}\n`, { mode: 0o600 });
  }
  return passwordFile;
}

export interface ReplicatedDatabase {
  p: ReplicatedPair;
  suffix: string;
  backendName: string;
  /** Command line for the tool against `ds`. */
  args(ds: DsInstance, ...command: string[]): string[];
}

export async function replicatedDatabase(prefix: string): Promise<ReplicatedDatabase> {
  const p = await pair();
  const { suffix, backendName } = uniqueSuffix(prefix);
  await createReplicatedSuffix(p, suffix, backendName);
  const pw = managerPasswordFile(p.a);
  return {
    p,
    suffix,
    backendName,
    args: (ds, ...command) => [...command, '--url', ds.url, '--base-dn', suffix, '--password-file', pw, ...DIRECT_CA_FACTS],
  };
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The tool in this process (so steps can record what they did), output captured. */
export async function tool(argv: string[], registry?: Registry): Promise<ToolResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr }, registry);
  return { code, stdout: out, stderr: err };
}

/** Which server (URL) applied each step, in order: steps record themselves here when they run. */
export type Applications = Map<string, string[]>;

export interface TestStep {
  id: string;
  scope: StepScope;
  backwardCompatible?: boolean;
  upgrade?(ctx: StepContext): Promise<void>;
}

/**
 * A registry of `steps` (the tool puts the history store's own steps first). Each step records its application; a cluster
 * step by default adds ou=<name> under the suffix (idempotent), a server step an index.
 */
export function registryOf(packageVersion: string, applications: Applications, steps: TestStep[]): Registry {
  const record = (id: string, ctx: StepContext) => applications.set(id, [...(applications.get(id) ?? []), ctx.ldap.url]);
  const registered: RegisteredStep[] = [];
  for (const s of steps) {
    const [version, file] = s.id.split('/');
    const [index, name] = file.split('-');
    registered.push({
      id: s.id,
      version,
      index: Number(index),
      name,
      checksum: `test-${s.id}`,
      scope: s.scope,
      backwardCompatible: s.backwardCompatible,
      description: `test step ${name} (${s.scope})`,
      upgrade: async (ctx) => {
        record(s.id, ctx);
        if (s.upgrade) return s.upgrade(ctx);
        if (s.scope === 'cluster') await addOu(ctx, name.toLowerCase());
        else await ctx.indexes.ensure([{ attribute: `${name.toLowerCase()}test`, types: ['eq'] }]);
      },
    });
  }
  return { steps: registered, packageVersion };
}

export async function addOu(ctx: StepContext, ou: string): Promise<void> {
  const dn = `ou=${ou},${ctx.database.suffix}`;
  if (!(await ctx.ldap.read(dn, ['1.1']))) await ctx.ldap.add(dn, { objectClass: ['top', 'organizationalUnit'], ou });
}

/** Replication conflict entries (and glue entries) under the suffix: 389 DS hides them as ldapsubentry. */
export async function conflictEntries(ds: DsInstance, suffix: string): Promise<string[]> {
  return withLdap(ds, async (c) => {
    const { searchEntries } = await c.search(suffix, {
      scope: 'sub',
      filter: '(|(nsds5ReplConflict=*)(&(objectClass=ldapsubentry)(nsds5ReplConflict=*))(objectClass=glue))',
      attributes: ['nsds5ReplConflict'],
    });
    return searchEntries.map((e) => e.dn);
  });
}

/** A client write to the suffix entry: 0 when accepted, else the LDAP result code (10 = referral). */
export async function tryWrite(ds: DsInstance, suffix: string, value = `written ${Date.now()}`): Promise<number> {
  return withLdap(ds, async (c: Client) => {
    try {
      await c.modify(suffix, new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [value] }) }));
      return 0;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number') return code;
      throw err;
    }
  });
}

export async function setAgreement(from: DsInstance, to: DsInstance, suffix: string, attribute: string, value: string): Promise<void> {
  await withLdap(from, async (c) => {
    const { searchEntries } = await c.search('cn=mapping tree,cn=config', {
      scope: 'sub',
      filter: `(&(objectClass=nsds5ReplicationAgreement)(nsDS5ReplicaRoot=${suffix})(nsDS5ReplicaPort=${to.port}))`,
      attributes: ['1.1'],
    });
    if (searchEntries.length !== 1) throw new Error(`expected one agreement from ${from.url} to ${to.url} for ${suffix}`);
    await c.modify(searchEntries[0].dn, new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [value] }) }));
  });
}

export { entryExists } from '../harness/test-env';

export async function converge(db: ReplicatedDatabase): Promise<void> {
  await waitForConvergence(db.p, db.suffix, 20_000);
}

/** The upgrade history as `ds` holds it (its own copy of the replicated entries), read as Directory Manager. */
export async function historyOf(ds: DsInstance, suffix: string): Promise<HistoryState> {
  const session = await LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
  try {
    return await new LdapHistoryStore(session, suffix).load();
  } finally {
    await session.close();
  }
}
