/**
 * The cluster flows on three real suppliers (full mesh, three loopback hosts), with the shipped
 * upgrades on a CA database created by an old release. Each flow gets a fresh mesh (cn=schema is
 * per server) and ends with the checks of support/mesh.ts on every server.
 */
import type { DsInstance } from './harness/dirsrv';
import { LdaptsSession } from '../src/ldap/ldapts-session';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { claimDN } from '../src/lock/cluster-claim';
import { EST_ADMINISTRATORS_ACLS } from '../src/pki/access-control';
import { MISSING_ISSUER_NAME_FILTER } from '../src/pki/ca-database';
import { EST_ADMINISTRATORS, groupDN } from '../src/pki/groups';
import { allStrings } from './harness/ldap';
import { withLdap } from './harness/test-env';
import { entryExists, historyOf, registryOf, setAgreement, tool } from './support/cluster';
import { collect, MAIN_BUNDLE, runCli, startCli } from './support/bundle';
import { createFakePki, readStatus, removeFakePkis, writeToolConfig } from './support/fake-pki';
import { freshMesh, meshProblems, pkiTreeFor, posttrans, posttransWithout, type Mesh } from './support/mesh';

const CLUSTER_STEPS = [
  '10.0.0/01-TrackingSchema',
  '10.0.0/02-TrackingAudit',
  '10.2.0/01-AuthoritySchema',
  '10.3.0/01-CertProfileSchema',
  '10.3.3/01-IssuerNameBackfill',
  '11.6.0/02-RequireIssuerName',
  '11.10.1/02-EstAdministrators',
];

/** What waits with the step that is not backward compatible: it, and every step after it. */
const HELD_BACK = '11\\.6\\.0\\/02-RequireIssuerName, 11\\.10\\.1\\/01-RevokedCertsByIssuerVlv, 11\\.10\\.1\\/02-EstAdministrators, 11\\.10\\.1\\/04-DirectoryServerSettings';

const byVersion = (x: string, y: string) => x.localeCompare(y, 'en', { numeric: true });

async function schemaOf(ds: DsInstance): Promise<string[]> {
  const session = await LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
  try {
    const entry = await session.read('cn=schema', ['attributeTypes', 'objectClasses']);
    // The definitions the shipped steps write, without X-ORIGIN: replication of the mesh's own
    // start-up rewrites origins server-wide (389 DS 2.3.1), which says nothing about the dry-run.
    return [...(entry?.values('attributeTypes') ?? []), ...(entry?.values('objectClasses') ?? [])]
      .filter((d) => /NAME \(?\s*'(pkiDbUpgrade|authority|certProfile|classId|certificateRecord)/i.test(d))
      .map((d) => d.replace(/\s*X-ORIGIN\s+(\([^)]*\)|'[^']*')/g, ''))
      .sort();
  } finally {
    await session.close();
  }
}

/** ldapdelete, synchronously: what another process does while the run goes on. */
function deleteEntry(ds: DsInstance, dn: string): void {
  execFileSync('ldapdelete', ['-x', '-H', ds.url, '-D', ds.rootDN, '-w', ds.rootPassword, dn]);
}

async function countWithIssuerName(ds: DsInstance, base: string): Promise<number> {
  return withLdap(ds, async (c) => {
    const { searchEntries } = await c.search(base, { scope: 'one', filter: '(&(objectClass=certificateRecord)(issuerName=*))', attributes: ['1.1'], paged: { pageSize: 1000 } });
    return searchEntries.length;
  });
}

async function waitForLine(file: string, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    if (pattern.test(text)) return;
    if (Date.now() > deadline) throw new Error(`${file} never showed ${pattern}:\n${text.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Exit 0 from each run; otherwise the failure shows what the run said and the end of its log. */
async function expectEachSucceeded(runs: { code: number | null; stdout: string; stderr: string }[], trees: { name: string; logFile: string }[]): Promise<void> {
  for (const [i, r] of runs.entries()) {
    if (r.code === 0) continue;
    const log = await fsp.readFile(trees[i].logFile, 'utf8').catch(() => '(no log)');
    throw new Error(`${trees[i].name} (run ${i + 1} of ${runs.length}): exit ${r.code}:\n${r.stdout}${r.stderr}\n${log.slice(-8000)}`);
  }
}

let mesh: Mesh | undefined;
afterEach(async () => {
  await mesh?.remove();
  mesh = undefined;
});
afterAll(removeFakePkis);

const names = (m: Mesh) => m.servers.map((ds: DsInstance) => `localhost:${ds.port}`);

describe('three suppliers', () => {
  it('cluster upgrade: the dry-run shows what the run does; the schema is in force on every server, with no conflict', async () => {
    mesh = await freshMesh(0);
    const [a, b, c] = mesh.servers;
    const schemaBefore = await Promise.all(mesh.servers.map((ds) => schemaOf(ds)));

    const rehearsal = await tool(mesh.args(a, 'cluster', 'upgrade', '--dry-run'));
    expect(rehearsal.code).toBe(0);
    // The freeze of the two others, the steps the real run applies, and no more.
    expect(rehearsal.stdout.match(/^# step \S+/gm)).toEqual(CLUSTER_STEPS.slice(0, 5).concat('11.6.0/01-CAIndexes').sort(byVersion).map((id) => `# step ${id}`));
    for (const ds of [b, c]) expect(rehearsal.stdout).toContain(`nsslapd-readonly: on`);
    expect(rehearsal.stderr).toMatch(new RegExp(`the real run holds back ${HELD_BACK}: not backward compatible`));
    expect(await entryExists(a, `cn=dbUpgrade,${mesh.suffix}`)).toBe(false);
    expect(await Promise.all(mesh.servers.map((ds) => schemaOf(ds)))).toEqual(schemaBefore);

    const first = await tool(mesh.args(a, 'cluster', 'upgrade'));
    expect({ code: first.code, log: first.stderr }).toEqual({ code: 0, log: expect.stringMatching(/held back/) });
    // Again, with only the held-back step left: the others are not frozen for nothing.
    const idle = await tool(mesh.args(a, 'cluster', 'upgrade'));
    expect(idle.code).toBe(0);
    expect(idle.stderr).toMatch(/no cluster-scope step can be applied now: the other servers are not frozen/);
    expect(idle.stderr).not.toMatch(/frozen \(/);
    expect(idle.stderr).toMatch(/nothing applied, database at version 10\.3\.3 \(.*\); held back: 11\.6\.0\/02-RequireIssuerName/);
    // The others run their own server-scope steps and record their package.
    const onB = await tool(mesh.args(b, 'run'));
    const onC = await tool(mesh.args(c, 'run'));
    expect([onB, onC].map((r) => ({ code: r.code, log: r.stderr }))).toEqual([0, 0].map((code) => ({ code, log: expect.any(String) })));
    // c, the last to run, applied the held-back step and those after it. a and b ran before: each
    // still owes the server-scope steps among them (cn=config is each server's own).
    const statusOfA = await tool(mesh.args(a, 'status'));
    expect(statusOfA.stdout).toMatch(/Pending: {5}2 step\(s\).*\n +11\.10\.1\/01-RevokedCertsByIssuerVlv +server .*\n +11\.10\.1\/04-DirectoryServerSettings +server /);
    const second = await tool(mesh.args(a, 'cluster', 'upgrade'));
    expect({ code: second.code, log: second.stderr }).toEqual({ code: 0, log: expect.stringMatching(/done 11\.10\.1\/04-DirectoryServerSettings/) });
    expect((await tool(mesh.args(b, 'run'))).code).toBe(0);
    const third = await tool(mesh.args(a, 'cluster', 'upgrade'));
    expect({ code: third.code, log: third.stderr }).toEqual({ code: 0, log: expect.stringMatching(/nothing to do/) });
    expect(await meshProblems(mesh, { requireIssuerName: true, indexesBuilt: true })).toEqual([]);
    expect(names(mesh)).toHaveLength(3);
  });
  it('dnf update on all three servers at once: every cluster step applied once, then the stricter schema once all run the package', async () => {
    mesh = await freshMesh(1);
    const trees = mesh.servers.map((ds) => pkiTreeFor(ds, mesh!.suffix));

    const first = await Promise.all(trees.map((t) => posttrans(t)));
    await expectEachSucceeded(first, trees);
    // One line each for dnf; the step that waits for the other servers is named.
    for (const r of first) expect((r.stdout + r.stderr).trim().split('\n')).toHaveLength(1);
    const held = first.filter((r) => new RegExp(`held back: ${HELD_BACK} \\(not backward compatible`).test(r.stdout));
    expect(held.length).toBeGreaterThanOrEqual(1);

    // The next update (or a second run) on every server at once: now every server runs 11.10.1.
    const second = await Promise.all(trees.map((t) => posttrans(t)));
    await expectEachSucceeded(second, trees);
    const history = await historyOf(mesh.servers[2], mesh.suffix);
    expect(history.databaseVersion).toBe('11.10.1');
    // Each cluster step recorded once, by one server; the index step on each of the three.
    expect([...history.cluster.values()].map((r) => `${r.stepId} ${r.outcome}`)).toEqual(
      CLUSTER_STEPS.map((id) => `${id} done`),
    );
    expect(mesh.servers.map((ds) => history.servers.get(`localhost:${ds.port}`)?.get('11.6.0/01-CAIndexes')?.outcome)).toEqual(['done', 'done', 'done']);
    expect(await meshProblems(mesh, { requireIssuerName: true, indexesBuilt: true })).toEqual([]);
    // The EST administrators on every server: the group, and the two ACLs as 11.10.1 ships them.
    for (const ds of mesh.servers) {
      const acls = await withLdap(ds, async (c) => allStrings((await c.search(`cn=aclResources,${mesh!.suffix}`, { scope: 'base', attributes: ['resourceACLS'] })).searchEntries[0], 'resourceACLS'));
      expect(EST_ADMINISTRATORS_ACLS.map((change) => [acls.includes(change.to), acls.includes(change.from)])).toEqual([[true, false], [true, false]]);
      expect(await entryExists(ds, groupDN(EST_ADMINISTRATORS, mesh.suffix))).toBe(true);
    }
  });

  it('a rolling update, one server after another: the last one applies the stricter schema, in force on all', async () => {
    mesh = await freshMesh(2);
    const trees = mesh.servers.map((ds) => pkiTreeFor(ds, mesh!.suffix));
    const lines: string[] = [];
    for (const t of trees) {
      const r = await posttrans(t);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      lines.push(r.stdout.trim());
      if (t === trees[0]) {
        // Held back, and status says so: in the file and in the live plan.
        const shown = (await runCli(MAIN_BUNDLE, ['status', '--root', t.root])).stdout;
        expect(shown).toMatch(/Upgrade: {5}PENDING since .*held back: 11\.6\.0\/02-RequireIssuerName/);
        expect(shown).toMatch(/11\.6\.0\/02-RequireIssuerName .*\n +held back by the last run: not backward compatible: waits until every server runs a package >= 11\.6\.0/);
      }
    }
    expect(lines[0]).toMatch(new RegExp(`ca upgraded from \\(untracked\\) to 10\\.3\\.3 \\(6 step\\(s\\), .*; held back: ${HELD_BACK} \\(not backward compatible: waits until every server runs a package >= 11\\.6\\.0; behind: localhost:\\d+ \\(package unknown`));
    expect(lines[1]).toMatch(/ca: 1 step\(s\) applied \(.*\), database still at 10\.3\.3; held back: 11\.6\.0\/02-RequireIssuerName/);
    // The last one: its index step, the held-back step and the three after it that are for a CA.
    expect(lines[2]).toMatch(/ca upgraded from 10\.3\.3 to 11\.10\.1 \(5 step\(s\)/);
    // The first two ran before the held-back step was released: each still owes the server-scope
    // steps after it (cn=config is each server's own), which its next run applies.
    for (const t of trees.slice(0, 2)) expect((await runCli(MAIN_BUNDLE, ['status', '--root', t.root])).stdout).toMatch(/Pending: {5}2 step\(s\)/);
    // An administrator runs them by hand on the first (direct mode); the second's next update does.
    expect((await tool(mesh.args(mesh.servers[0], 'run'))).code).toBe(0);
    expect((await posttrans(trees[1])).code).toBe(0);
    // The status file of the first server still owes the held-back step, and its status says why,
    // and that the database is up to date now.
    expect(readStatus(trees[0]).pending.reason).toMatch(/held back: 11\.6\.0\/02-RequireIssuerName/);
    expect((await runCli(MAIN_BUNDLE, ['status', '--root', trees[0].root])).stdout).toMatch(/Upgrade: {5}done: pending after the last run here \(.*held back: 11\.6\.0\/02-RequireIssuerName.*\), but every database is up to date now/);
    for (const t of trees.slice(1)) expect((await runCli(MAIN_BUNDLE, ['status', '--root', t.root])).stdout).toMatch(/Pending: {5}none, the database is up to date/);
    expect(await meshProblems(mesh, { requireIssuerName: true, indexesBuilt: true })).toEqual([]);
  });

  it('a paused agreement anywhere: the run refuses the cluster steps with exit 5, changing nothing, and says why', async () => {
    mesh = await freshMesh(3);
    const [a, b, c] = mesh.servers;
    const trees = mesh.servers.map((ds) => pkiTreeFor(ds, mesh!.suffix));
    await setAgreement(b, c, mesh.suffix, 'nsds5ReplicaEnabled', 'off');
    const r = await posttrans(trees[0]);
    expect(r.code).toBe(5);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^pki-db-upgrade: pki-tomcat: database upgrade did not complete: ca: waiting for replication: replication of o=pki-tomcat-CA is not healthy.*agreement on localhost:${b.port}: to-\\w+ \\(127\\.0\\.0\\.3:${c.port}\\): paused .*; upgrade pending; see `)),
    ]);
    const status = readStatus(trees[0]);
    expect(status.lastRun).toMatchObject({ result: 'waiting-for-replication', exitCode: 5 });
    expect(status.pending.reason).toMatch(/waiting for replication/);
    const shown = await runCli(MAIN_BUNDLE, ['status', '--root', trees[0].root]);
    expect(shown.stdout).toMatch(/Last run: .* waiting-for-replication \(posttrans, package 11\.10\.1, exit 5\)/);
    expect(shown.stdout).toMatch(/Upgrade: {5}PENDING since/);
    expect(await entryExists(a, `cn=dbUpgrade,${mesh.suffix}`)).toBe(false);

    await setAgreement(b, c, mesh.suffix, 'nsds5ReplicaEnabled', 'on');
    expect((await posttrans(trees[0])).code).toBe(0);
    expect(readStatus(trees[0]).pending.reason).toMatch(/held back/);
    expect(await meshProblems(mesh, { requireIssuerName: false })).toEqual([]);
  });

  it('LDAPI autobind only, no password anywhere: the run decides from its own server (agreements, anonymous reads there), and the cluster steps are in force on every server', async () => {
    mesh = await freshMesh(2);
    const [a, b, c] = mesh.servers;
    // FreeIPA-style: root autobinds on the local socket; the other servers' sockets do not exist
    // where the run is (a mount namespace of its own), and no password is anywhere.
    const alone = (ds: DsInstance) => mesh!.servers.filter((other) => other !== ds);
    const ldapiOnly = createFakePki({ host: 'localhost', port: a.port, baseDN: mesh.suffix, authType: 'SslClientAuth' }, 'pki-ipa');
    writeToolConfig(ldapiOnly, { ldapi_socket: a.ldapiPath, use_keyring: false });

    // What it can see of its own agreements still counts: one paused, nothing changes.
    await setAgreement(a, b, mesh.suffix, 'nsds5ReplicaEnabled', 'off');
    const refused = await posttransWithout(ldapiOnly, alone(a));
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(new RegExp(`ca: waiting for replication: replication of o=pki-tomcat-CA is not healthy.*agreement on localhost:${a.port}: to-\\w+ \\(127\\.0\\.0\\.2:${b.port}\\): paused`));
    expect(readStatus(ldapiOnly).lastRun).toMatchObject({ result: 'waiting-for-replication', exitCode: 5 });
    expect(await entryExists(a, `cn=dbUpgrade,${mesh.suffix}`)).toBe(false);
    await setAgreement(a, b, mesh.suffix, 'nsds5ReplicaEnabled', 'on');

    const run = await posttransWithout(ldapiOnly, alone(a));
    if (run.code !== 0) throw new Error(`exit ${run.code}:\n${run.stderr}\n${(await fsp.readFile(ldapiOnly.logFile, 'utf8')).slice(-6000)}`);
    expect(run.stdout).toMatch(new RegExp(`pki-ipa: ca upgraded from \\(untracked\\) to 10\\.3\\.3 \\(6 step\\(s\\), .*\\); held back: ${HELD_BACK} \\(not backward compatible`));
    const log = await fsp.readFile(ldapiOnly.logFile, 'utf8');
    expect(log).toMatch(/the other servers of o=pki-tomcat-CA are seen from localhost:\d+ only/);
    expect(log).toContain(`cn=schema of localhost:${b.port}, localhost:${c.port}: received from localhost:${a.port} by replication`);
    // In force on every server: the definitions the steps wrote, and the records written after them.
    const [sa, sb, sc] = await Promise.all([a, b, c].map(schemaOf));
    expect(sa.some((d) => /NAME 'pkiDbUpgradeContainer'/.test(d))).toBe(true);
    expect(sb).toEqual(sa);
    expect(sc).toEqual(sa);
    for (const ds of [b, c]) expect((await historyOf(ds, mesh.suffix)).cluster.get('10.3.3/01-IssuerNameBackfill')?.outcome).toBe('done');
    const problems = await meshProblems(mesh, { requireIssuerName: false });
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\n\nthe run's log:\n${log.slice(-6000)}`);

    // Then dnf on the other two at once, each with its own socket, and once more on all three: the
    // claim decides between runs that each see only their own server; the stricter schema comes
    // once every server runs the package.
    const trees = [ldapiOnly];
    for (const [ds, name] of [[b, 'pki-ipa-b'], [c, 'pki-ipa-c']] as const) {
      const tree = createFakePki({ host: 'localhost', port: ds.port, baseDN: mesh.suffix, authType: 'SslClientAuth' }, name);
      writeToolConfig(tree, { ldapi_socket: ds.ldapiPath, use_keyring: false });
      trees.push(tree);
    }
    const onItsOwn = (i: number) => posttransWithout(trees[i], alone(mesh!.servers[i]));
    await expectEachSucceeded(await Promise.all([1, 2].map(onItsOwn)), trees.slice(1));
    await expectEachSucceeded(await Promise.all([0, 1, 2].map(onItsOwn)), trees);
    const history = await historyOf(c, mesh.suffix);
    expect(history.databaseVersion).toBe('11.10.1');
    expect([...history.cluster.values()].map((r) => `${r.stepId} ${r.outcome}`)).toEqual(CLUSTER_STEPS.map((id) => `${id} done`));
    expect(mesh.servers.map((ds) => history.servers.get(`localhost:${ds.port}`)?.get('11.6.0/01-CAIndexes')?.outcome)).toEqual(['done', 'done', 'done']);
    expect(await meshProblems(mesh, { requireIssuerName: true, indexesBuilt: true })).toEqual([]);
  });

  it('a run that loses its cluster claim in the middle of a backfill writes nothing more, exits 5, and the next run resumes', async () => {
    mesh = await freshMesh(4, { certificates: 3000, withoutIssuerNameRatio: 1 });
    const [a] = mesh.servers;
    const repository = `ou=certificateRepository,ou=ca,${mesh.suffix}`;
    const lostAt = 700;
    let seen = 0;
    const registry = registryOf('2.0.0', new Map(), [
      {
        id: '1.1.0/01-Backfill',
        scope: 'cluster',
        upgrade: async (ctx) => {
          await ctx.bulk.update({
            label: 'issuerName backfill',
            base: repository,
            filter: MISSING_ISSUER_NAME_FILTER,
            attributes: ['1.1'],
            pageSize: 500,
            concurrency: 4,
            transform: () => {
              // Another run takes the claim away, in the middle of the second batch.
              if (++seen === lostAt) deleteEntry(a, claimDN(mesh!.suffix, `localhost:${a.port}`));
              return [{ operation: 'replace', attribute: 'issuerName', values: [mesh!.database.issuerName] }];
            },
          });
        },
      },
    ]);

    const lost = await tool(mesh.args(a, 'run'), registry);
    expect(lost.code).toBe(5);
    expect(lost.stderr).toMatch(/this run lost the cluster claim \(the claim entry was replaced or removed by another run\), so it stopped before writing more/);
    // The two batches begun before the loss, and not one entry more: the third batch never started.
    expect(await countWithIssuerName(a, repository)).toBe(1000);
    const history = await historyOf(a, mesh.suffix);
    expect(history.cluster.get('1.1.0/01-Backfill')?.outcome).toBe('started');

    const resumed = await tool(mesh.args(a, 'run'), registry);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/applying 1\.1\.0\/01-Backfill \(cluster, interrupted before\)/);
    expect(await countWithIssuerName(a, repository)).toBe(3000);
    expect(await meshProblems(mesh, { requireIssuerName: false })).toEqual([]);
  });

  it('kill -9 of one server\'s run during the backfill: the next run there resumes, and no server has a conflict', async () => {
    mesh = await freshMesh(0, { certificates: 3000, withoutIssuerNameRatio: 1 });
    const trees = mesh.servers.map((ds) => pkiTreeFor(ds, mesh!.suffix));
    const child = startCli(MAIN_BUNDLE, ['--root', trees[0].root, '--mode', 'posttrans']);
    const done = collect(child, 300_000);
    await waitForLine(trees[0].logFile, /issuerName backfill: updating the entries under /);
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');

    const results = [];
    for (const t of trees) results.push(await posttrans(t));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    const repository = `ou=certificateRepository,ou=ca,${mesh.suffix}`;
    for (const ds of mesh.servers) expect(await countWithIssuerName(ds, repository)).toBe(3000);
    expect(await meshProblems(mesh, { requireIssuerName: true, indexesBuilt: true })).toEqual([]);
    // A fresh mesh of 3,000 records and four full runs, each with its waits for the other servers.
  }, 300_000);
});
