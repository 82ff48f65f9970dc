/**
 * Reliability 3 — server faults. The 389 DS of these cases is this file's own (stopping, killing
 * and restarting the shared server would break the other test files); a proxy of the test's
 * (support/ldap-proxy.ts) stands in front of it where the server must look slow, hung, or answer
 * errors. Each case: a clear message naming the server and what to do, the documented exit code,
 * a history that says no more than what happened (nothing recorded `done` that did not finish),
 * and a next run, once the fault is gone, that completes the upgrade.
 */
import fs from 'node:fs';
import { Attribute, Change } from 'ldapts';
import { CertificateAuthority } from '../harness/certificates';
import { killInstance, restartInstance, startInstance, stopInstance, isRunning, type DsInstance } from '../harness/dirsrv';
import { loadPkiDatabase } from '../harness/pki-database';
import { readRunInfo } from '../harness/run-info';
import { withLdap } from '../harness/test-env';
import { MAIN_BUNDLE } from '../support/bundle';
import { snapshot } from '../support/directory-snapshot';
import { readStatus } from '../support/fake-pki';
import { packageVersion } from '../../upgrades/registry.generated';
import { AccessLogFollower } from './support/access-log';
import { dropInstance, ownInstance, pkiTree, PORTS, type Tree } from './support/environment';
import { recordFigure } from './support/figures';
import { ReliabilityGuard } from './support/guard';
import { expectFullyUpgraded, expectHistoryTruthful, history } from './support/history';
import { LdapProxy } from './support/ldap-proxy';
import { ToolRunner, type ToolProcess } from './support/tool-run';

const PASSWORD = 'Faults-Rel1ability.pw';
const READER_PASSWORD = 'Reader-Rel1ability.pw';
const RECORDS = 1200;

let ds: DsInstance | undefined;
let proxy: LdapProxy;
let runner: ToolRunner;
let guard: ReliabilityGuard;
const ca = new CertificateAuthority();
let counter = 0;

beforeAll(async () => {
  runner = new ToolRunner(MAIN_BUNDLE, 'faults');
  guard = new ReliabilityGuard('3 server faults', runner, [PASSWORD, READER_PASSWORD]);
  ds = await ownInstance('relf', PORTS.faults, PASSWORD);
  proxy = new LdapProxy(ds, readRunInfo().portBase + PORTS.proxy);
  await proxy.listen();
}, 60_000);

afterEach(async () => {
  proxy.reset();
  if (!(await isRunning(ds!))) await startInstance(ds!);
  expect(guard.problems()).toEqual([]);
});

afterAll(async () => {
  await proxy?.close();
  guard?.dispose();
  await dropInstance(ds);
});

interface Database {
  suffix: string;
  backend: string;
  tree: Tree;
}

/** A CA database of its own on this file's server; CS.cfg points at the server, or at the proxy. */
async function caDatabase(options: { viaProxy?: boolean; config?: Record<string, string | number | boolean> } = {}): Promise<Database> {
  counter++;
  const backend = `relf${counter}`;
  const suffix = `o=pki-faults-${counter}`;
  await loadPkiDatabase(ds!, { suffix, backendName: backend, certificates: RECORDS, withoutIssuerNameRatio: 0.5, ca });
  const tree = pkiTree(guard, ds!, suffix, { cs: options.viaProxy ? { port: proxy.port } : {}, config: options.config });
  return { suffix, backend, tree };
}

const run = (db: Database, ...more: string[]) => runner.run(['--root', db.tree.root, ...more], { expose: [db.tree.root] });
const start = (db: Database, ...more: string[]) => runner.start(['--root', db.tree.root, ...more], { expose: [db.tree.root] });

/** Resolves once the server has applied a write to a certificate record: the backfill is under way. */
async function backfillWriting(follower: AccessLogFollower, run: ToolProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!/MOD dn="cn=\d+,ou=certificateRepository,ou=ca,/i.test(follower.text())) {
    if (Date.now() > deadline) throw new Error(`the backfill did not start; the run said:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function oneLine(result: { stdout: string; stderr: string }): string {
  const lines = (result.stdout + result.stderr).trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe('389 DS down or going away', () => {
  it('stopped before the run: exit 4 within the connect timeout, one line for dnf, pending recorded; after a start the next run upgrades', async () => {
    const db = await caDatabase({ config: { connect_timeout: 3 } });
    await stopInstance(ds!);
    const down = await run(db, '--mode', 'posttrans');
    expect(down.code).toBe(4);
    expect(down.ms).toBeLessThan(3000 + 3000);
    const line = oneLine(down);
    expect(line).toContain(`389 DS at ldap://127.0.0.1:${ds!.port} refused the connection`);
    expect(line).toContain('upgrade pending');
    expect(line).toContain(`see ${db.tree.logFile}`);
    expect(readStatus(db.tree)).toMatchObject({ lastRun: { result: 'server-down', exitCode: 4 }, pending: { packageVersion } });

    await startInstance(ds!);
    const up = await run(db, '--mode', 'posttrans');
    expect(up.code).toBe(0);
    expect(oneLine(up)).toContain(`ca upgraded from (untracked) to ${packageVersion}`);
    expect(readStatus(db.tree).pending).toBeUndefined();
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });

  it('killed during the backfill: exit 4 saying the connection was lost; the step stays "started" (not done); the next run resumes it', async () => {
    const db = await caDatabase();
    const follower = new AccessLogFollower(ds!);
    const upgrade = start(db);
    await backfillWriting(follower, upgrade);
    await killInstance(ds!);
    const lost = await upgrade.done;
    expect(lost.code).toBe(4);
    expect(lost.stderr).toContain(`lost the connection to 389 DS at ldap://127.0.0.1:${ds!.port}`);
    expect(lost.stderr).toContain('check that the server is running (why it went away is in its errors log, /var/log/dirsrv/slapd-NAME/errors: a full disk, for one, stops it), then run pki-db-upgrade again: it resumes where it stopped');
    expect(readStatus(db.tree)).toMatchObject({ lastRun: { result: 'server-down', exitCode: 4 }, pending: {} });

    await startInstance(ds!);
    expect((await history(ds!, db.suffix)).records.get('10.3.3/01-IssuerNameBackfill')).toBe('started');
    await expectHistoryTruthful(ds!, db.suffix, db.backend);
    const resumed = await run(db);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('applying 10.3.3/01-IssuerNameBackfill (cluster, interrupted before)');
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });

  it('restarted during the backfill: the run stops with a clear message (exit 4) or rides it out; either way the history is truthful and the next run completes', async () => {
    const db = await caDatabase();
    const follower = new AccessLogFollower(ds!);
    const upgrade = start(db);
    await backfillWriting(follower, upgrade);
    await restartInstance(ds!);
    const result = await upgrade.done;
    recordFigure({ kind: 'note', text: `server restarted during the backfill: the run ${result.code === 0 ? 'rode it out (exit 0)' : `stopped with exit ${result.code}`}` });
    if (result.code !== 0) {
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/lost the connection to 389 DS at ldap:\/\/127\.0\.0\.1:\d+|389 DS at ldap:\/\/127\.0\.0\.1:\d+ refused the connection/);
    }
    await expectHistoryTruthful(ds!, db.suffix, db.backend);
    const next = await run(db);
    expect(next.code).toBe(0);
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });
});

describe('a slow or hung server (through a delaying proxy)', () => {
  it('slow (every answer 15 ms late, a hundred times a loopback round trip): the upgrade completes, correct', async () => {
    const db = await caDatabase({ viaProxy: true });
    proxy.delayMs = 15;
    const slow = await run(db);
    // The exit code first, then the run's output: a failure shows both.
    expect(`exit ${slow.code}\n${slow.stderr}${slow.stdout}`).toMatch(/^exit 0\n/);
    expect(slow.stderr).toContain(`upgraded from (untracked) to ${packageVersion}`);
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });

  it('too slow to answer the bind within connect_timeout: exit 4 in time, saying so', async () => {
    const db = await caDatabase({ viaProxy: true, config: { connect_timeout: 1 } });
    proxy.delayMs = 4000;
    const result = await run(db, '--mode', 'posttrans');
    expect(result.code).toBe(4);
    expect(result.ms).toBeLessThan(1000 + 3000);
    expect(oneLine(result)).toContain(`389 DS at ldap://127.0.0.1:${proxy.port} did not answer within 1 s`);
    expect(await history(ds!, db.suffix)).toEqual({ records: new Map(), version: undefined });
  });

  it('hung in the middle of the backfill: the run waits (no step is cut short); SIGTERM from %posttrans\'s timeout ends it cleanly (exit 143); the next run completes', async () => {
    const db = await caDatabase({ viaProxy: true });
    const follower = new AccessLogFollower(ds!);
    const upgrade = start(db, '--mode', 'posttrans');
    await backfillWriting(follower, upgrade);
    proxy.stall();
    await new Promise((r) => setTimeout(r, 1500));
    expect(upgrade.child.exitCode).toBeNull(); // still waiting for the server
    upgrade.child.kill('SIGTERM');
    const stopped = await upgrade.done;
    expect(stopped.code).toBe(143);
    expect(stopped.ms).toBeLessThan(20_000);
    expect(fs.readFileSync(db.tree.logFile, 'utf8')).toContain('interrupted by SIGTERM; the database stays at the last completed step: run pki-db-upgrade again to resume');
    expect(readStatus(db.tree)).toMatchObject({ lastRun: { result: 'interrupted', exitCode: 143 }, pending: {} });
    await expectHistoryTruthful(ds!, db.suffix, db.backend);

    proxy.reset();
    const next = await run(db);
    expect(next.code).toBe(0);
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });
});

describe('a server answering with errors', () => {
  /**
   * cn=reader,<suffix> becomes CS.cfg's bind DN, with `aci` rights if given; `database` also
   * names the backend in CS.cfg (internaldb.database, as Dogtag writes it).
   */
  async function reader(db: Database, options: { aci?: string; database?: boolean } = {}): Promise<string> {
    const { aci } = options;
    const dn = `cn=reader,${db.suffix}`;
    await withLdap(ds!, async (c) => {
      await c.add(dn, { objectClass: ['top', 'person'], cn: 'reader', sn: 'reader', userPassword: READER_PASSWORD });
      if (aci) await c.modify(db.suffix, [new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [aci] }) })]);
    });
    fs.writeFileSync(db.tree.passwordSource, `internaldb=${READER_PASSWORD}\n`);
    const cs = `${db.tree.instanceDir}/ca/CS.cfg`;
    fs.writeFileSync(cs, fs.readFileSync(cs, 'utf8').replace(/^internaldb\.ldapauth\.bindDN=.*$/m, `internaldb.ldapauth.bindDN=${dn}`));
    if (options.database) fs.appendFileSync(cs, `internaldb.database=${db.backend}\n`);
    return dn;
  }

  function useDirectoryManager(db: Database): void {
    fs.writeFileSync(db.tree.passwordSource, `internaldb=${PASSWORD}\n`);
    const cs = `${db.tree.instanceDir}/ca/CS.cfg`;
    fs.writeFileSync(cs, fs.readFileSync(cs, 'utf8').replace(/^internaldb\.ldapauth\.bindDN=.*$/m, 'internaldb.ldapauth.bindDN=cn=Directory Manager'));
  }

  it('insufficient access, no right to read: exit 2 naming what could not be seen and the bind DN; nothing written', async () => {
    const db = await caDatabase();
    const dn = await reader(db);
    const before = snapshot(ds!, db.suffix, db.backend, { ownServer: true });
    // CS.cfg without internaldb.database: the backend is looked up in cn=config, which it may not read.
    const blind = await run(db, '--mode', 'posttrans');
    expect(blind.code).toBe(2);
    expect(oneLine(blind)).toContain(`no 389 DS backend on ldap://127.0.0.1:${ds!.port} holds the suffix ${db.suffix}, or ${dn} may not read cn=config`);
    // With the backend named, the suffix itself is what it cannot see.
    fs.appendFileSync(`${db.tree.instanceDir}/ca/CS.cfg`, `internaldb.database=${db.backend}\n`);
    const unseen = await run(db, '--mode', 'posttrans');
    expect(unseen.code).toBe(2);
    expect(oneLine(unseen)).toContain(`the base DN ${db.suffix} does not exist on ldap://127.0.0.1:${ds!.port}, or ${dn} may not read it`);
    expect(snapshot(ds!, db.suffix, db.backend, { ownServer: true })).toBe(before);
  });

  it('insufficient access, read but no write: exit 1 naming the refused write and the missing right; nothing recorded; resumable as Directory Manager', async () => {
    const db = await caDatabase();
    const aci = `(targetattr="*")(version 3.0; acl "reader"; allow (read, search, compare) userdn="ldap:///cn=reader,${db.suffix}";)`;
    const dn = await reader(db, { aci, database: true });
    const before = snapshot(ds!, db.suffix, db.backend, { ownServer: true });
    const result = await run(db);
    expect(result.code).toBe(1);
    // The first write refused: the tracking schema (on a server whose cn=schema is not upgraded
    // yet) or the tracking entries.
    expect(result.stderr).toMatch(
      /step 10\.0\.0\/01-TrackingSchema failed: modify cn=schema failed: LDAP result 50 \(Insufficient 'write' privilege|could not create the tracking entries \(cn=dbUpgrade\) in the upgrade history: add cn=dbUpgrade,o=pki-faults-\d+ failed: LDAP result 50 \(Insufficient 'add' privilege/,
    );
    expect(result.stderr).toContain(`${dn} lacks a right the upgrade needs`);
    expect(snapshot(ds!, db.suffix, db.backend, { ownServer: true })).toBe(before);

    useDirectoryManager(db);
    expect((await run(db)).code).toBe(0);
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });

  it('busy (51) on every certificate record: the backfill stops after 20 failures (and those in flight), exit 1, the step recorded failed with the reason; the next run redoes only what is left', async () => {
    const db = await caDatabase({ viaProxy: true });
    proxy.inject(({ type, dn }) => (type === 'modify' && /ou=certificateRepository/i.test(dn) ? 51 : undefined));
    const busy = await run(db);
    expect(busy.code).toBe(1);
    // Writes are pipelined: those already sent when the 20th failure came back fail too (the pass
    // starts with 16 in flight, and 20 failures come long before its first measuring window ends).
    const failed = Number(/issuerName backfill: (\d+) entries failed and the pass stopped early \(0 updated before that\)/.exec(busy.stderr)?.[1]);
    expect(failed).toBeGreaterThanOrEqual(20);
    expect(failed).toBeLessThanOrEqual(20 + 16);
    expect(busy.stderr).toContain('LDAP result 51 (Server is busy');
    expect(busy.stderr).toContain('run pki-db-upgrade again: it resumes at this step');
    expect((await history(ds!, db.suffix)).records.get('10.3.3/01-IssuerNameBackfill')).toBe('failed');
    await expectHistoryTruthful(ds!, db.suffix, db.backend);

    proxy.reset();
    const next = await run(db);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain('applying 10.3.3/01-IssuerNameBackfill (cluster, failed before)');
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });

  it('busy (51) when the history is written: exit 1 saying which record could not be written; nothing half-recorded', async () => {
    const db = await caDatabase({ viaProxy: true });
    // Tracking schema in place, then every write to the history refused.
    proxy.inject(({ dn }) => (/,cn=history,cn=dbUpgrade,/i.test(dn) ? 51 : undefined));
    const busy = await run(db);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/could not record step \S+ as (started|done) in the upgrade history/);
    expect(busy.stderr).toContain('LDAP result 51 (Server is busy');
    expect(busy.stderr).toContain('the server is busy: wait a while, then run pki-db-upgrade again: it resumes where it stopped');
    await expectHistoryTruthful(ds!, db.suffix, db.backend);

    proxy.reset();
    expect((await run(db)).code).toBe(0);
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });

  it('unwilling to perform (53, backend read-only): exit 1 saying the database is read-only and how to fix it; nothing written; resumable', async () => {
    const db = await caDatabase();
    const backendDN = `cn=${db.backend},cn=ldbm database,cn=plugins,cn=config`;
    const readonly = (value: string) =>
      withLdap(ds!, (c) => c.modify(backendDN, [new Change({ operation: 'replace', modification: new Attribute({ type: 'nsslapd-readonly', values: [value] }) })]));
    await readonly('on');
    const before = snapshot(ds!, db.suffix, db.backend, { ownServer: true });
    const refused = await run(db, '--mode', 'posttrans');
    expect(refused.code).toBe(1);
    const line = oneLine(refused);
    expect(line).toContain('LDAP result 53');
    expect(line).toContain('the server refuses writes to this database (read-only: nsslapd-readonly, or a task holding the backend): make it writable, or let the task finish, then run pki-db-upgrade again');
    expect(snapshot(ds!, db.suffix, db.backend, { ownServer: true })).toBe(before);

    await readonly('off');
    expect((await run(db, '--mode', 'posttrans')).code).toBe(0);
    await expectFullyUpgraded(ds!, db.suffix, db.backend);
  });
});
