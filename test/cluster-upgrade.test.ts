/**
 * `pki-db-upgrade cluster upgrade`, the semi-automated procedure (docs/cluster.md, "The recommended
 * procedure"), on the real replicated pair: freeze the other supplier, upgrade here, thaw (on every
 * exit path), wait for replication.
 */
import type { ChildProcess } from 'node:child_process';
import { markerDN } from '../src/converge/freeze';
import { backendDN, type DsInstance } from './harness/dirsrv';
import { firstString } from './harness/ldap';
import { replicaDN } from './harness/replication';
import { withLdap } from './harness/test-env';
import { fixtureBundle, startCli, runCli } from './support/bundle';
import { addOu, conflictEntries, entryExists, registryOf, replicatedDatabase, tool, tryWrite, type Applications } from './support/cluster';

const UNWILLING = 53;

interface FreezeView {
  readonly: string;
  marker: boolean;
  /** Every agreement of the server for the suffix, with its enabled state (the thaw pokes them). */
  agreements: string[];
}

/** What a freeze changes on a server: equal before and after means it was fully undone. */
async function freezeView(ds: DsInstance, db: { suffix: string; backendName: string }): Promise<FreezeView> {
  return withLdap(ds, async (c) => {
    const backend = (await c.search(backendDN(db.backendName), { scope: 'base', attributes: ['nsslapd-readonly'] })).searchEntries[0];
    const agreements = (await c.search(replicaDN(db.suffix), { scope: 'one', filter: '(objectClass=nsds5ReplicationAgreement)', attributes: ['cn', 'nsds5ReplicaEnabled'] })).searchEntries;
    return {
      readonly: firstString(backend, 'nsslapd-readonly') ?? 'off',
      marker: await entryExists(ds, markerDN(db.suffix)),
      agreements: agreements.map((a) => `${firstString(a, 'cn')}=${firstString(a, 'nsds5ReplicaEnabled') ?? 'on'}`),
    };
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('cluster upgrade', () => {
  it('freezes the other supplier while upgrading (client writes refused), thaws it and waits until it has the changes', async () => {
    const db = await replicatedDatabase('clup');
    const { a, b } = db.p;
    const before = { a: await freezeView(a, db), b: await freezeView(b, db) };
    const applied: Applications = new Map();
    let writeOnBDuringUpgrade: number | undefined;
    const registry = registryOf('2.0.0', applied, [
      {
        id: '1.1.0/01-Entries',
        scope: 'cluster',
        upgrade: async (ctx) => {
          writeOnBDuringUpgrade = await tryWrite(b, db.suffix, 'written on B during the upgrade');
          await addOu(ctx, 'upgraded');
        },
      },
      { id: '1.1.0/02-Index', scope: 'server' },
    ]);

    const r = await tool(db.args(a, 'cluster', 'upgrade'), registry);
    expect(r.code).toBe(0);
    expect(writeOnBDuringUpgrade).toBe(UNWILLING); // Directory Manager too
    expect(r.stderr).toMatch(new RegExp(`localhost:${b.port}: frozen \\(${db.suffix} read-only there: client writes are refused until the upgrade is applied\\)`));
    expect(r.stderr.indexOf(`localhost:${b.port} accepts writes again`)).toBeLessThan(r.stderr.indexOf("every server has this run's changes"));
    expect(r.stderr).toMatch(/every server has this run's changes \(\d+\.\d+ s after the last write\)/);
    // The run returned once B had the changes.
    expect(await entryExists(b, `ou=upgraded,${db.suffix}`)).toBe(true);
    expect(await freezeView(b, db)).toEqual(before.b);
    expect(await freezeView(a, db)).toEqual(before.a); // A's agreement to B was poked, and is enabled
    expect(await tryWrite(b, db.suffix)).toBe(0);
    expect(await conflictEntries(b, db.suffix)).toEqual([]);
  });

  it('dry-run shows the freeze, the steps and the thaw as LDIF and changes nothing; a failing step still leaves every server writable', async () => {
    const db = await replicatedDatabase('clfail');
    const { a, b } = db.p;
    const before = await freezeView(b, db);
    const applied: Applications = new Map();
    const registry = registryOf('2.0.0', applied, [
      {
        id: '1.1.0/01-Broken',
        scope: 'cluster',
        upgrade: async (ctx) => {
          if (!ctx.dryRun) throw new Error('this step fails on purpose');
        },
      },
    ]);

    const dry = await tool([...db.args(a, 'cluster', 'upgrade'), '--dry-run'], registry);
    expect(dry.code).toBe(0);
    const ldif = dry.stdout.replace(/\n /g, '');
    const backend = `cn=${db.backendName},cn=ldbm database,cn=plugins,cn=config`;
    expect(ldif).toContain(`# on localhost:${b.port} (ldap://127.0.0.1:${b.port}):\ndn: ${markerDN(db.suffix)}\nchangetype: add\n`);
    expect(ldif).toContain(`dn: ${backend}\nchangetype: modify\nreplace: nsslapd-readonly\nnsslapd-readonly: on\n`);
    expect(ldif).toContain('# step 1.1.0/01-Broken (cluster)');
    expect(ldif).toContain(`# (c) thaw: writable again (read-only also refuses replicated changes), agreements poked\n# on localhost:${b.port} (ldap://127.0.0.1:${b.port}):\ndn: ${backend}\nchangetype: modify\nreplace: nsslapd-readonly\nnsslapd-readonly: off\n`);
    expect(ldif).toMatch(new RegExp(`# poke, on localhost:${a.port}:\ndn: cn=to-b\\d+,cn=replica,[^\n]*\nchangetype: modify\nreplace: nsds5ReplicaEnabled\nnsds5ReplicaEnabled: off\n`));
    expect(dry.stderr).toMatch(/dry-run: 3 step\(s\) would be applied; nothing was changed/);
    expect(await freezeView(b, db)).toEqual(before);
    expect(await entryExists(a, `cn=dbUpgrade,${db.suffix}`)).toBe(false);
    expect(applied.get('1.1.0/01-Broken')).toEqual([a.url]); // rehearsed, not applied

    const r = await tool(db.args(a, 'cluster', 'upgrade'), registry);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/step 1\.1\.0\/01-Broken failed: this step fails on purpose/);
    expect(r.stderr).toMatch(new RegExp(`localhost:${b.port} accepts writes again`));
    expect(await freezeView(b, db)).toEqual(before);
    expect(await tryWrite(b, db.suffix)).toBe(0);
    expect(JSON.parse((await tool(db.args(a, 'cluster', 'status', '--json'), registry)).stdout).claims).toEqual([]);
  });

  it('thaws the other supplier when interrupted (SIGTERM); a freeze left by a killed run is lifted by the next one', async () => {
    const db = await replicatedDatabase('clsig');
    const { a, b } = db.p;
    const before = await freezeView(b, db);
    const bundle = fixtureBundle('slow'); // its 1.1.0 step waits until ou=release exists
    const frozen = async () => (await freezeView(b, db)).readonly === 'on';

    const first = startCli(bundle, db.args(a, 'cluster', 'upgrade'));
    const firstExit = exited(first);
    await until('B to be frozen', frozen);
    await until('the slow step to begin', () => entryExists(a, `ou=begun,${db.suffix}`));
    first.kill('SIGTERM');
    const term = await firstExit;
    expect(term.code).toBe(143); // 128 + SIGTERM, once the other server is writable again
    expect(term.stderr).toMatch(/SIGTERM received: making the other servers writable again/);
    expect(await freezeView(b, db)).toEqual(before);
    expect(await tryWrite(b, db.suffix)).toBe(0);

    const second = startCli(bundle, db.args(a, 'cluster', 'upgrade'));
    const secondExit = exited(second);
    await until('B to be frozen again', frozen);
    second.kill('SIGKILL');
    await secondExit;
    expect(await tryWrite(b, db.suffix)).toBe(UNWILLING); // left frozen

    const status = JSON.parse((await runCli(bundle, db.args(b, 'cluster', 'status', '--json'))).stdout);
    expect(status.servers.find((s: { local: boolean }) => s.local).frozen).toMatchObject({ by: `localhost:${a.port}`, leftover: true });

    await withLdap(a, (c) => c.add(`ou=release,${db.suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'release' }));
    const third = await runCli(bundle, db.args(a, 'cluster', 'upgrade'));
    expect(third.stderr).toMatch(new RegExp(`localhost:${b.port} was left frozen by run \\w+ of localhost:${a.port} .*which is gone: it accepts writes again`));
    expect(third.stderr).toMatch(/applying 1\.1\.0\/01-WaitForRelease \(cluster, interrupted before\)/);
    expect(third.code).toBe(0);
    expect(await freezeView(b, db)).toEqual(before);
    expect(await tryWrite(b, db.suffix)).toBe(0);
    // (The run's log in the failure message: what its wait for B saw.)
    expect({ finishedOnB: await entryExists(b, `ou=finished,${db.suffix}`), log: third.stderr }).toEqual({ finishedOnB: true, log: expect.any(String) });
  });
});
