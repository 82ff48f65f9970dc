/**
 * The automated mode (`run` on every server, as %posttrans does) on the real replicated pair: what
 * each server applies, simultaneous runs, refusals, and steps that are not backward compatible.
 */
import { LdapHistoryStore } from '../src/record/ldap-history-store';
import { LdaptsSession } from '../src/ldap/ldapts-session';
import { agreementStatus } from './harness/replication';
import { withLdap } from './harness/test-env';
import { conflictEntries, converge, entryExists, historyOf, registryOf, replicatedDatabase, setAgreement, tool, type Applications } from './support/cluster';

const ou = (name: string) => ({ objectClass: ['top', 'organizationalUnit'], ou: name });

describe('automated runs on a replicated database', () => {
  it("an upgrade on A reaches B, whose own run then applies only its server-scope steps; another server's interrupted step is refused, and resumed by cluster upgrade", async () => {
    const db = await replicatedDatabase('clab');
    const { a, b } = db.p;
    const applied: Applications = new Map();
    const steps = [
      { id: '1.1.0/01-Entries', scope: 'cluster' as const },
      { id: '1.1.0/02-Index', scope: 'server' as const },
      { id: '2.0.0/01-More', scope: 'cluster' as const },
    ];
    const registry = registryOf('2.0.0', applied, steps);

    const onA = await tool(db.args(a, 'run'), registry);
    expect(onA.stderr).toMatch(/upgraded from \(untracked\) to 2\.0\.0, 5 step\(s\)/);
    expect(onA.stderr).toMatch(/every server has this run's changes/);
    expect(onA.code).toBe(0);

    // A waited for B: B's copy already says 2.0.0, and B has only its index left.
    const statusB = JSON.parse((await tool(db.args(b, 'status', '--json'), registry)).stdout);
    // (A's log in the failure message: what its wait saw.)
    expect({ databaseVersion: statusB.databaseVersion, pending: statusB.pending.map((p: { id: string }) => p.id), logOfA: onA.stderr }).toEqual({
      databaseVersion: '2.0.0',
      pending: ['1.1.0/02-Index'],
      logOfA: expect.any(String),
    });

    const onB = await tool(db.args(b, 'run'), registry);
    expect(onB.code).toBe(0);
    expect(onB.stderr).toMatch(/applying 1\.1\.0\/02-Index \(server\)/);
    expect(onB.stderr).not.toMatch(/applying .*\(cluster/);
    expect(onB.stderr).not.toMatch(/cluster claim/); // nothing replicated to change: no coordination

    expect(Object.fromEntries(applied)).toEqual({
      '1.1.0/01-Entries': [a.url],
      '1.1.0/02-Index': [a.url, b.url],
      '2.0.0/01-More': [a.url],
    });
    const history = await historyOf(b, db.suffix);
    expect([...history.cluster.values()].map((r) => `${r.stepId} ${r.server} ${r.outcome}`)).toEqual([
      `10.0.0/01-TrackingSchema localhost:${a.port} done`,
      `10.0.0/02-TrackingAudit localhost:${a.port} done`,
      `1.1.0/01-Entries localhost:${a.port} done`,
      `2.0.0/01-More localhost:${a.port} done`,
    ]);
    expect(history.servers.get(`localhost:${b.port}`)?.get('1.1.0/02-Index')?.outcome).toBe('done');
    expect(await entryExists(b, `cn=indextest,cn=index,cn=${db.backendName},cn=ldbm database,cn=plugins,cn=config`)).toBe(true);
    expect(await conflictEntries(a, db.suffix)).toEqual([]);
    expect(await conflictEntries(b, db.suffix)).toEqual([]);

    // A run of B's died inside a 3.0.0 step: its `started` record replicated to A.
    const next = registryOf('3.0.0', applied, [...steps, { id: '3.0.0/01-Newer', scope: 'cluster' as const }]);
    const session = await LdaptsSession.open({ url: b.url, credentials: { kind: 'simple', bindDN: b.rootDN, password: b.rootPassword } });
    try {
      await new LdapHistoryStore(session, db.suffix).write({
        stepId: '3.0.0/01-Newer',
        version: '3.0.0',
        scope: 'cluster',
        description: 'test step Newer (cluster)',
        checksum: 'test-3.0.0/01-Newer',
        server: `localhost:${b.port}`,
        packageVersion: '3.0.0',
        startTime: new Date(),
        outcome: 'started',
      });
    } finally {
      await session.close();
    }
    await converge(db);
    const refused = await tool(db.args(a, 'run'), next);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(new RegExp(`step 3\\.0\\.0/01-Newer was started by localhost:${b.port} at .* and never finished`));
    expect(refused.stderr).toMatch(/cluster upgrade/);
    expect(applied.get('3.0.0/01-Newer')).toBeUndefined();

    const resumed = await tool(db.args(a, 'cluster', 'upgrade'), next);
    expect(resumed.stderr).toMatch(new RegExp(`resuming step 3\\.0\\.0/01-Newer, interrupted on localhost:${b.port}`));
    expect(resumed.code).toBe(0);
    expect(applied.get('3.0.0/01-Newer')).toEqual([a.url]);
  });

  it('two servers upgraded at once apply each cluster step once, with no replication conflict', async () => {
    const db = await replicatedDatabase('clsim');
    const { a, b } = db.p;
    const applied: Applications = new Map();
    const registry = registryOf('2.0.0', applied, [
      {
        id: '1.1.0/01-ManyEntries',
        scope: 'cluster',
        // Long enough for the two runs to overlap.
        upgrade: async (ctx) => {
          for (let i = 0; i < 40; i++) {
            const dn = `ou=e${i},${ctx.database.suffix}`;
            if (!(await ctx.ldap.read(dn, ['1.1']))) await ctx.ldap.add(dn, ou(`e${i}`));
          }
        },
      },
      { id: '1.1.0/02-Index', scope: 'server' },
      { id: '2.0.0/01-Last', scope: 'cluster' },
    ]);

    const [onA, onB] = await Promise.all([tool(db.args(a, 'run'), registry), tool(db.args(b, 'run'), registry)]);
    expect([onA.code, onB.code]).toEqual([0, 0]);
    for (const id of ['1.1.0/01-ManyEntries', '2.0.0/01-Last']) {
      expect(applied.get(id)).toHaveLength(1);
    }
    // The history's own steps too: one run applied them, the other found them done.
    expect([onA, onB].filter((r) => /applying 10\.0\.0\/01-TrackingSchema/.test(r.stderr))).toHaveLength(1);
    expect([...(applied.get('1.1.0/02-Index') ?? [])].sort()).toEqual([a.url, b.url].sort());
    // The one that did not hold the claim said so, and re-planned once it could.
    const loser = applied.get('1.1.0/01-ManyEntries')![0] === a.url ? onB : onA;
    expect(loser.stderr).toMatch(/another upgrade holds the cluster claim|claimed at the same time/);

    await converge(db);
    expect(await conflictEntries(a, db.suffix)).toEqual([]);
    expect(await conflictEntries(b, db.suffix)).toEqual([]);
    const history = await historyOf(a, db.suffix);
    expect(history.databaseVersion).toBe('2.0.0');
    expect([...history.serverInfo.values()].map((s) => s.packageVersion)).toEqual(['2.0.0', '2.0.0']);
    // The claims are gone: the next run has nothing to wait for.
    const status = JSON.parse((await tool(db.args(b, 'cluster', 'status', '--json'), registry)).stdout);
    expect(status.claims).toEqual([]);
  });

  it('refuses cluster-scope steps while an agreement is paused or in error, changing nothing', async () => {
    const db = await replicatedDatabase('clref');
    const { a, b } = db.p;
    const applied: Applications = new Map();
    const registry = registryOf('2.0.0', applied, [{ id: '1.1.0/01-Entries', scope: 'cluster' }]);
    const args = [...db.args(a, 'run'), '--replication-timeout', '5'];

    await setAgreement(a, b, db.suffix, 'nsds5ReplicaEnabled', 'off');
    const paused = await tool(args, registry);
    expect(paused.code).toBe(5);
    expect(paused.stderr).toMatch(new RegExp(`agreement on localhost:${a.port}: to-\\w+ \\(127\\.0\\.0\\.1:${b.port}\\): paused \\(nsds5ReplicaEnabled: off\\): changes made now would not reach`));
    expect(paused.stderr).toMatch(/nothing was changed/);
    expect(applied.size).toBe(0);
    expect(await entryExists(a, `cn=dbUpgrade,${db.suffix}`)).toBe(false);
    await setAgreement(a, b, db.suffix, 'nsds5ReplicaEnabled', 'on');

    // B can no longer authenticate to A: its next session fails and the agreement turns red.
    await setAgreement(b, a, db.suffix, 'nsDS5ReplicaCredentials', 'wrong password');
    await withLdap(b, (c) => c.add(`ou=fromb,${db.suffix}`, ou('fromb')));
    const deadline = Date.now() + 20_000;
    const reportsBadCredentials = async () =>
      (await agreementStatus(b)).some((s) => s.dn.toLowerCase().includes(db.backendName.toLowerCase()) && /Invalid credentials/.test(s.status));
    while (!(await reportsBadCredentials())) {
      if (Date.now() > deadline) throw new Error('the agreement never reported the bad credentials');
      await new Promise((r) => setTimeout(r, 200));
    }
    const broken = await tool(args, registry);
    expect(broken.code).toBe(5);
    expect(broken.stderr).toMatch(new RegExp(`agreement on localhost:${b.port}: to-\\w+ \\(127\\.0\\.0\\.1:${a.port}\\): error: Error \\(49\\).*Invalid credentials`));
    expect(applied.size).toBe(0);
    expect(await entryExists(a, `cn=dbUpgrade,${db.suffix}`)).toBe(false);
  });
});

describe('steps that are not backward compatible', () => {
  it('wait in automated mode until every server runs a package that ships them; cluster upgrade --force applies them', async () => {
    const db = await replicatedDatabase('clcompat');
    const { a, b } = db.p;
    const applied: Applications = new Map();
    // B last ran the 1.1.0 package (its run waits until A has its changes).
    const old = registryOf('1.1.0', applied, [{ id: '1.1.0/01-Base', scope: 'cluster' }]);
    expect((await tool(db.args(b, 'run'), old)).code).toBe(0);

    const registry = registryOf('2.0.0', applied, [
      { id: '1.1.0/01-Base', scope: 'cluster' },
      { id: '2.0.0/01-Breaking', scope: 'cluster', backwardCompatible: false },
      { id: '2.0.0/02-Index', scope: 'server' },
    ]);
    const held = await tool(db.args(a, 'run'), registry);
    expect(held.code).toBe(0);
    expect(held.stderr).toMatch(
      new RegExp(`step 2\\.0\\.0/01-Breaking is not backward compatible: held back, with the 1 step\\(s\\) after it, until every server runs a package >= 2\\.0\\.0; behind: localhost:${b.port} \\(package 1\\.1\\.0\\)`),
    );
    expect(applied.get('2.0.0/01-Breaking')).toBeUndefined();
    expect(applied.get('2.0.0/02-Index')).toBeUndefined();

    const manual = await tool(db.args(a, 'cluster', 'upgrade'), registry);
    expect(manual.code).toBe(0);
    expect(manual.stderr).toMatch(/or pass --force to apply it now/);
    expect(applied.get('2.0.0/01-Breaking')).toBeUndefined();

    const forced = await tool([...db.args(a, 'cluster', 'upgrade'), '--force'], registry);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/--force: applying 2\.0\.0\/01-Breaking/);
    expect(applied.get('2.0.0/01-Breaking')).toEqual([a.url]);
    expect(applied.get('2.0.0/02-Index')).toEqual([a.url]);
  });
});
