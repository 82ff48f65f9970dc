/**
 * Reading replication on the real replicated pair: topology from the agreements, `cluster status`,
 * the convergence wait and its lag report, a re-initialization seen as "not converged", and the
 * conflict-entry check the other cluster tests rely on.
 */
import { waitForLocalChanges } from '../src/converge/convergence';
import { discoverTopology, readRuv } from '../src/converge/topology';
import { maxCsn } from '../src/converge/ruv';
import { ClusterNotReadyError } from '../src/core/errors';
import { LdaptsSession } from '../src/ldap/ldapts-session';
import { waitForConvergence } from './harness/replication';
import { withLdap } from './harness/test-env';
import { conflictEntries, replicatedDatabase, setAgreement, tool, tryWrite, type ReplicatedDatabase } from './support/cluster';

const ou = (name: string) => ({ objectClass: ['top', 'organizationalUnit'], ou: name });

async function openTopology(db: ReplicatedDatabase, lines: string[] = []) {
  const credentials = { kind: 'simple' as const, bindDN: db.p.a.rootDN, password: db.p.a.rootPassword };
  const local = await LdaptsSession.open({ url: db.p.a.url, credentials });
  const logger = { debug() {}, info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error() {} };
  const topology = await discoverTopology({
    local,
    localId: `localhost:${db.p.a.port}`,
    suffix: db.suffix,
    connect: (url) => LdaptsSession.open({ url, credentials }),
    logger,
  });
  return {
    topology: topology!,
    logger,
    close: async () => {
      await topology?.close();
      await local.close();
    },
  };
}

describe('a replicated suffix as the tool sees it', () => {
  let db: ReplicatedDatabase;
  beforeAll(async () => {
    db = await replicatedDatabase('clrepl');
  });

  it('cluster status lists both suppliers, their agreements and RUVs, converged', async () => {
    const r = await tool(db.args(db.p.a, 'cluster', 'status', '--json'));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ suffix: db.suffix, local: `localhost:${db.p.a.port}`, replicated: true, claims: [] });
    expect(report.servers.map((s: { id: string; role: string; replicaId: number; converged: boolean; local: boolean }) => [s.id, s.role, s.replicaId, s.converged, s.local])).toEqual([
      [`localhost:${db.p.a.port}`, 'supplier', 1, true, true],
      [`localhost:${db.p.b.port}`, 'supplier', 2, true, false],
    ]);
    for (const server of report.servers) {
      expect(server.databaseVersion).toBeNull();
      expect(server.frozen).toBeNull();
      expect(server.agreements).toEqual([expect.objectContaining({ enabled: true, to: report.servers.find((s: { local: boolean }) => s.local !== server.local).id })]);
      expect(server.ruv.map((e: { replicaId: number }) => e.replicaId)).toEqual([1, 2]);
    }
    const text = await tool(db.args(db.p.a, 'cluster', 'status'));
    expect(text.stdout).toMatch(new RegExp(`localhost:${db.p.b.port}\\n  role: supplier, replica id 2\\n.*\\n  converged with localhost:${db.p.a.port}: yes`));
  });

  it('the convergence wait reports the lagging server and its paused agreement, and returns once resumed', async () => {
    const lines: string[] = [];
    const { topology, logger, close } = await openTopology(db, lines);
    try {
      // B has A's changes up to this one; the next waits behind the paused agreement.
      await withLdap(db.p.a, (c) => c.add(`ou=beforepause,${db.suffix}`, ou('beforepause')));
      await waitForConvergence(db.p, db.suffix, 15_000);
      await setAgreement(db.p.a, db.p.b, db.suffix, 'nsds5ReplicaEnabled', 'off');
      await new Promise((r) => setTimeout(r, 1100)); // a CSN clock second later: a visible lag
      await withLdap(db.p.a, (c) => c.add(`ou=whilepaused,${db.suffix}`, ou('whilepaused')));
      const reading = await readRuv(topology.local.session!, db.suffix);
      const csn = maxCsn((reading as { ruv: Parameters<typeof maxCsn>[0] }).ruv, 1)!;

      const options = { topology, what: 'the test write to reach every server', timeoutMs: 2500, pollMs: 100, progressMs: 1000, logger };
      const error = await waitForLocalChanges(csn, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClusterNotReadyError);
      const message = (error as Error).message;
      expect(message).toMatch(new RegExp(`no progress for 3 s: localhost:${db.p.b.port}: has the changes of replica 1 \\(localhost:${db.p.a.port}\\) up to .* needs .* s behind\\)`));
      expect(message).toMatch(new RegExp(`localhost:${db.p.a.port} -> to-\\w+ \\(127\\.0\\.0\\.1:${db.p.b.port}\\): paused \\(nsds5ReplicaEnabled: off\\)`));
      expect(lines.filter((l) => l.startsWith('waiting for the test write')).length).toBeGreaterThanOrEqual(1);

      const status = JSON.parse((await tool(db.args(db.p.a, 'cluster', 'status', '--json'))).stdout);
      expect(status.servers[1]).toMatchObject({ converged: false, lag: expect.stringMatching(/lacks changes of replica 1/) });
      expect(status.servers[0].agreements[0]).toMatchObject({ enabled: false, state: 'paused' });

      await setAgreement(db.p.a, db.p.b, db.suffix, 'nsds5ReplicaEnabled', 'on');
      const started = Date.now();
      await waitForLocalChanges(csn, { ...options, timeoutMs: 20_000 });
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await setAgreement(db.p.a, db.p.b, db.suffix, 'nsds5ReplicaEnabled', 'on');
      await close();
    }
  });
});

describe('replication states the cluster checks rely on', () => {
  it('a server being re-initialized answers with a referral: not converged', async () => {
    const db = await replicatedDatabase('clinit');
    const { topology, close } = await openTopology(db);
    try {
      const b = topology.members.find((m) => !m.local)!;
      await setAgreement(db.p.a, db.p.b, db.suffix, 'nsds5BeginReplicaRefresh', 'start');
      const deadline = Date.now() + 15_000;
      let seen: unknown;
      while (Date.now() < deadline) {
        seen = await readRuv(b.session!, db.suffix);
        if ((seen as { initializing?: boolean }).initializing) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen).toEqual({ initializing: true });
      await waitForConvergence(db.p, db.suffix, 30_000);
    } finally {
      await close();
    }

    // The conflict check used by the other cluster tests does find a real conflict: the same DN
    // added on both servers while neither sends to the other.
    await setAgreement(db.p.a, db.p.b, db.suffix, 'nsds5ReplicaEnabled', 'off');
    await setAgreement(db.p.b, db.p.a, db.suffix, 'nsds5ReplicaEnabled', 'off');
    await withLdap(db.p.a, (c) => c.add(`ou=twice,${db.suffix}`, ou('twice')));
    await withLdap(db.p.b, (c) => c.add(`ou=twice,${db.suffix}`, ou('twice')));
    await setAgreement(db.p.a, db.p.b, db.suffix, 'nsds5ReplicaEnabled', 'on');
    await setAgreement(db.p.b, db.p.a, db.suffix, 'nsds5ReplicaEnabled', 'on');
    await waitForConvergence(db.p, db.suffix, 30_000);
    expect(await conflictEntries(db.p.a, db.suffix)).toEqual([expect.stringMatching(/nsuniqueid=.*\+ou=twice/i)]);
    // And both servers accept writes (the helper the freeze tests use).
    expect(await tryWrite(db.p.a, db.suffix)).toBe(0);
    expect(await tryWrite(db.p.b, db.suffix)).toBe(0);
  });
});
