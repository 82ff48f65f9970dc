/**
 * `pki-db-upgrade mark-done` and `forget` on the real replicated pair: the record they write or
 * delete replicates with its audit entry (who, when, why), `history` shows both on every server,
 * the next run goes on from there, and neither runs while another run may be changing the history.
 */
import fs from 'node:fs';
import path from 'node:path';
import { acquireInstanceLock } from '../src/lock/instance-lock';
import { silentLogger } from '../src/core/logger';
import { standalone, withLdap } from './harness/test-env';
import { firstString } from './harness/ldap';
import { conflictEntries, converge, historyOf, registryOf, replicatedDatabase, tool, type Applications } from './support/cluster';
import { createFakePki, instanceOnServer, removeFakePkis } from './support/fake-pki';

// The fake instances' trees hold a password file: none stays in /tmp.
afterAll(() => removeFakePkis());

const REASON = 'added ou=needsfix by hand, ticket PKI-42';

describe('mark-done', () => {
  it('records a failed step done, audited; the next run goes on after it; both servers agree, with no conflict entry', async () => {
    const db = await replicatedDatabase('rcmark');
    const { a, b } = db.p;
    const applied: Applications = new Map();
    const registry = registryOf('2.0.0', applied, [
      { id: '1.1.0/01-Base', scope: 'cluster' },
      {
        id: '2.0.0/01-NeedsFix',
        scope: 'cluster',
        upgrade: async () => {
          throw new Error('this step cannot do it: add ou=needsfix by hand');
        },
      },
      { id: '2.0.0/02-After', scope: 'cluster' },
    ]);
    expect((await tool(db.args(a, 'run'), registry)).code).toBe(1);

    const marked = await tool(db.args(a, 'mark-done', '2.0.0/01-NeedsFix', '--reason', REASON), registry);
    expect(marked).toMatchObject({ code: 0, stderr: '' });
    expect(marked.stdout).toMatch(new RegExp(`^pki-db-upgrade: ${db.suffix} on ${a.url}: 2\\.0\\.0/01-NeedsFix recorded done by hand \\(was: failed on localhost:${a.port} at .*\\); run pki-db-upgrade to move the database version past it\\n$`));

    const history = (await tool(db.args(a, 'history'), registry)).stdout;
    expect(history).toMatch(/\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}done +2\.0\.0\/01-NeedsFix /);
    expect(history).toMatch(new RegExp(`Changed by hand \\(pki-db-upgrade mark-done, forget\\):\\n {2}\\S+ \\S+ {2}mark-done 2\\.0\\.0/01-NeedsFix by \\S+@\\S+ on localhost:${a.port}: "${REASON}" \\(recorded done by hand; before: failed on`));

    const run = await tool(db.args(a, 'run'), registry);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/applying 2\.0\.0\/02-After/);
    expect(run.stderr).not.toMatch(/applying 2\.0\.0\/01-NeedsFix/);
    expect(applied.get('2.0.0/01-NeedsFix')).toEqual([a.url]); // the failed attempt only

    await converge(db);
    for (const ds of [a, b]) {
      const state = await historyOf(ds, db.suffix);
      expect(state.databaseVersion).toBe('2.0.0');
      expect(state.cluster.get('2.0.0/01-NeedsFix')).toMatchObject({ outcome: 'done', markedBy: { reason: REASON } });
      expect(state.audit).toEqual([expect.objectContaining({ action: 'mark-done', stepId: '2.0.0/01-NeedsFix', reason: REASON, server: `localhost:${a.port}` })]);
      expect(await conflictEntries(ds, db.suffix)).toEqual([]);
    }
  });
});

describe('forget', () => {
  it('deletes a record so that the next run applies the step again; the audit keeps what it said', async () => {
    const db = await replicatedDatabase('rcforget');
    const { a, b } = db.p;
    const applied: Applications = new Map();
    const registry = registryOf('2.0.0', applied, [{ id: '1.1.0/01-Base', scope: 'cluster' }, { id: '2.0.0/01-Index', scope: 'server' }]);
    expect((await tool(db.args(a, 'run'), registry)).code).toBe(0);
    await converge(db); // A's run, its claim withdrawn, reaches B

    const forgot = await tool(db.args(b, 'forget', '1.1.0/01-Base', '--reason', 'ou=base was lost in a restore'), registry);
    expect(forgot.code).toBe(0);
    expect(forgot.stdout).toMatch(/the record of 1\.1\.0\/01-Base is deleted \(it said: done on localhost:\d+ at .*\); the next run applies the step again/);
    const json = JSON.parse((await tool(db.args(b, 'history', '--json'), registry)).stdout) as { step: string }[];
    expect(json.map((r) => r.step)).not.toContain('1.1.0/01-Base');

    const again = await tool(db.args(b, 'run'), registry);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/applying 1\.1\.0\/01-Base \(cluster\)/);
    expect(applied.get('1.1.0/01-Base')).toEqual([a.url, b.url]);

    await converge(db);
    for (const ds of [a, b]) {
      const state = await historyOf(ds, db.suffix);
      expect(state.cluster.get('1.1.0/01-Base')).toMatchObject({ outcome: 'done', server: `localhost:${b.port}` });
      expect(state.audit.map((e) => [e.action, e.stepId, e.reason])).toEqual([['forget', '1.1.0/01-Base', 'ou=base was lost in a restore']]);
      expect(state.audit[0].detail).toMatch(new RegExp(`^record deleted; it said: done on localhost:${a.port} at `));
      expect(await conflictEntries(ds, db.suffix)).toEqual([]);
    }
  });
});

describe('both refuse, writing nothing', () => {
  it('without a reason, for a step the package does not ship, and on a database whose history cannot hold an audit entry', async () => {
    const db = await replicatedDatabase('rcrefuse');
    const { a } = db.p;
    const registry = registryOf('2.0.0', new Map(), [{ id: '1.1.0/01-Base', scope: 'cluster' }]);

    const untracked = await tool(db.args(a, 'mark-done', '1.1.0/01-Base', '--reason', REASON), registry);
    expect(untracked).toMatchObject({ code: 2, stderr: expect.stringContaining('cannot hold an audit entry yet (10.0.0/02-TrackingAudit is not done)') });
    expect(await withLdap(a, (c) => c.search(db.suffix, { scope: 'sub', filter: '(cn=dbUpgrade)' }).then((r) => r.searchEntries.length))).toBe(0);

    expect((await tool(db.args(a, 'run'), registry)).code).toBe(0);
    const noReason = await tool(db.args(a, 'forget', '1.1.0/01-Base'), registry);
    expect(noReason).toMatchObject({ code: 2, stderr: expect.stringContaining('forget needs --reason TEXT') });
    const unknown = await tool(db.args(a, 'mark-done', '3.0.0/01-Later', '--reason', REASON), registry);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('this package ships no step 3.0.0/01-Later') });
    expect((await historyOf(a, db.suffix)).audit).toEqual([]);
  });

  it('while another server holds a live cluster claim (exit 3), unless --force', async () => {
    const db = await replicatedDatabase('rcclaim');
    const { a, b } = db.p;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let began!: () => void;
    const beganWaiting = new Promise<void>((resolve) => (began = resolve));
    const registry = registryOf('2.0.0', new Map(), [
      { id: '1.1.0/01-Base', scope: 'cluster' },
      {
        id: '2.0.0/01-Slow',
        scope: 'cluster',
        upgrade: async () => {
          began();
          await released;
        },
      },
    ]);
    expect((await tool(db.args(a, 'run'), registryOf('1.1.0', new Map(), [{ id: '1.1.0/01-Base', scope: 'cluster' }]))).code).toBe(0);
    const running = tool(db.args(b, 'run'), registry);
    await beganWaiting;
    await converge(db); // B's claim reaches A

    const refused = await tool(db.args(a, 'forget', '1.1.0/01-Base', '--reason', REASON), registry);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(new RegExp(`a cluster upgrade is under way: the claim of localhost:${b.port} .* is live`));
    expect((await historyOf(a, db.suffix)).cluster.get('1.1.0/01-Base')?.outcome).toBe('done');

    const forced = await tool(db.args(a, 'forget', '1.1.0/01-Base', '--reason', REASON, '--force'), registry);
    expect(forced.code).toBe(0);
    release();
    expect((await running).code).toBe(0);
  });
});

describe('in direct mode', () => {
  it('refuses while an instance-mode run of this host holds its lock (it may write this history), unless --force', async () => {
    const db = await replicatedDatabase('rcdirect');
    const { a } = db.p;
    const registry = registryOf('2.0.0', new Map(), [{ id: '1.1.0/01-Base', scope: 'cluster' }]);
    expect((await tool(db.args(a, 'run'), registry)).code).toBe(0);
    const tree = createFakePki({ port: a.port, baseDN: db.suffix });
    // A %posttrans run of that instance, going on: its lock taken by a live process (this one).
    const lock = await acquireInstanceLock({ stateDir: path.join(tree.root, 'var/lib/pki-db-upgrade', tree.name), instance: tree.name, mode: 'posttrans', waitSec: 0, logger: silentLogger });
    process.env.PKI_DB_UPGRADE_ROOT = tree.root;
    try {
      const refused = await tool(db.args(a, 'forget', '1.1.0/01-Base', '--reason', REASON), registry);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain(`a pki-db-upgrade run of instance ${tree.name} is going on this host (pid ${process.pid})`);
      expect((await tool(db.args(a, 'forget', '1.1.0/01-Base', '--reason', REASON, '--force'), registry)).code).toBe(0);
    } finally {
      delete process.env.PKI_DB_UPGRADE_ROOT;
      await lock.release();
    }
  });
});

describe('in instance mode', () => {
  it('works on the database of the named instance, and says so in the instance log', async () => {
    const ds = standalone();
    const { pki, suffix } = await instanceOnServer(ds, 'rcinst');
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Schema', scope: 'cluster' }]);
    expect((await tool(['run', '--root', pki.root], registry)).code).toBe(0);

    const forgot = await tool(['forget', '2.0.0/01-Schema', '--reason', 'redo it', '--root', pki.root, '--instance', pki.name], registry);
    expect(forgot).toMatchObject({ code: 0, stderr: '' });
    expect(forgot.stdout).toMatch(new RegExp(`^pki-db-upgrade: ${pki.name}/ca ${suffix}: the record of 2\\.0\\.0/01-Schema is deleted`));
    const log = fs.readFileSync(pki.logFile, 'utf8');
    expect(log).toMatch(new RegExp(`==== pki-db-upgrade 2\\.0\\.0 forget 2\\.0\\.0/01-Schema: ${pki.name}/ca ${suffix}, by \\S+@\\S+`));
    expect(log).toMatch(/the record of 2\.0\.0\/01-Schema is deleted/);
    const audit = await withLdap(ds, (c) => c.search(`cn=audit,cn=dbUpgrade,${suffix}`, { scope: 'one', filter: '(objectClass=pkiDbUpgradeAuditEvent)' }));
    expect(audit.searchEntries.map((e) => [firstString(e, 'pkiDbUpgradeAction'), firstString(e, 'pkiDbUpgradeReason')])).toEqual([['forget', 'redo it']]);

    const several = await tool(['forget', '2.0.0/01-Schema', '--reason', 'x', '--root', pki.root, '--instance', pki.name, '--subsystem', 'kra'], registry);
    expect(several).toMatchObject({ code: 2, stderr: expect.stringContaining(`instance ${pki.name} has no kra database (it has: ca)`) });
  });
});
