/**
 * Waiting for replication by RUV (src/converge/convergence.ts), with servers whose RUV readings the
 * test scripts and a clock that moves only when the wait sleeps.
 */
import { ManualClock } from '../support/manual-clock';
import { parseAgreement } from '../../src/converge/agreements';
import { waitForLocalChanges, waitUntilExchanged, waitUntilInSync } from '../../src/converge/convergence';
import type { ClusterMember, Topology } from '../../src/converge/topology';
import { DirectoryEntry, LdapResultError, ResultCode, type LdapSession } from '../../src/core/directory';
import { ClusterNotReadyError } from '../../src/core/errors';

type Reading = string[] | 'referral';

/** A server whose successive RUV reads return `readings` (the last one repeats). */
function server(url: string, readings: Reading[], agreements: Record<string, string>[] = []): LdapSession {
  let i = 0;
  return {
    url,
    async search(base: string) {
      if (base === 'cn=config') return agreements.map((a) => new DirectoryEntry(`cn=${a.cn},cn=replica,cn=o\\3Dexp,cn=mapping tree,cn=config`, a));
      const reading = readings[Math.min(i++, readings.length - 1)];
      if (reading === 'referral') throw new LdapResultError(ResultCode.Referral, 'search', base, 'Referral');
      return [new DirectoryEntry('nsuniqueid=ffffffff-ffffffff-ffffffff-ffffffff,o=exp', { nsds50ruv: reading })];
    },
  } as unknown as LdapSession;
}

const A_AGREEMENT = {
  cn: 'to-b',
  nsDS5ReplicaRoot: 'o=exp',
  nsDS5ReplicaHost: '127.0.0.1',
  nsDS5ReplicaPort: '39352',
  nsds5replicaLastUpdateStatus: 'Error (0) Replica acquired successfully: agreement disabled',
  nsds5ReplicaEnabled: 'off',
  nsds5replicaLastInitEnd: '20261125080716Z',
  nsds5replicaLastInitStatus: 'Error (0) Total update succeeded',
};

function topology(a: LdapSession, b: LdapSession): Topology {
  const local: ClusterMember = {
    id: 'localhost:39350',
    url: 'ldap://127.0.0.1:39350',
    local: true,
    session: a,
    replica: { dn: 'cn=replica', mappingTreeDN: 'cn=o\\3Dexp,cn=mapping tree,cn=config', replicaId: 1, role: 'supplier' },
    agreements: [parseAgreement(new DirectoryEntry('cn=to-b', A_AGREEMENT))],
  };
  const peer: ClusterMember = {
    id: 'localhost:39352',
    url: 'ldap://127.0.0.1:39352',
    local: false,
    session: b,
    replica: { dn: 'cn=replica', mappingTreeDN: 'cn=o\\3Dexp,cn=mapping tree,cn=config', replicaId: 2, role: 'supplier' },
    agreements: [],
  };
  return { suffix: 'o=exp', local, members: [local, peer], target: (ag) => (ag.port === 39352 ? peer : undefined), close: async () => undefined };
}

function waitOptions(t: Topology, lines: string[]) {
  return {
    topology: t,
    what: "this run's changes to reach every server",
    timeoutMs: 3000,
    pollMs: 500,
    progressMs: 1000,
    logger: { debug() {}, info: (m: string) => void lines.push(m), warn() {}, error() {} },
    clock: new ManualClock(Date.parse('2026-11-25T08:10:00Z')),
  };
}

const R1 = (max: string) => `{replica 1 ldap://localhost:39350} 6b069734000300010000 ${max}`;
const R2 = '{replica 2 ldap://localhost:39352} 6b069737000100020000 6b069778000000020000';
const WRITE = '6b069785000300010000'; // 08:08:37Z

describe('waiting for our changes to reach every server', () => {
  it('returns once the peer has applied our last write, saying meanwhile who it waits for', async () => {
    const lines: string[] = [];
    const b = server('ldap://b', [[R1('6b069780000000010000'), R2], [R1('6b069780000000010000'), R2], [R1('6b069780000000010000'), R2], [R1(WRITE), R2]]);
    await waitForLocalChanges(WRITE, waitOptions(topology(server('ldap://a', []), b), lines));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^waiting for this run's changes to reach every server \(1 s\): localhost:39352: has the changes of replica 1 \(localhost:39350\) up to 08:08:32Z .* needs 08:08:37Z .*\(5 s behind\)/);
  });

  it('on timeout names the lagging server, how far behind it is and what its agreement reports', async () => {
    const lines: string[] = [];
    const b = server('ldap://b', [[R1('6b069780000000010000'), R2]]);
    const t = topology(server('ldap://a', [], [A_AGREEMENT]), b);
    const error = await waitForLocalChanges(WRITE, waitOptions(t, lines)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterNotReadyError);
    expect((error as ClusterNotReadyError).exitCode).toBe(5);
    expect((error as Error).message).toMatch(/did not deliver this run's changes to reach every server: no progress for 3 s: localhost:39352: has the changes of replica 1/);
    expect((error as Error).message).toMatch(/5 s behind\) \[localhost:39350 -> to-b \(127\.0\.0\.1:39352\): paused \(nsds5ReplicaEnabled: off\)\]/);
  });

  it('keeps waiting past the timeout while the lagging server makes progress, and fails at the overall cap', async () => {
    // A replica replaying a long backfill: its max CSN for replica 1 moves at every read, for ever.
    const moving = Array.from({ length: 100 }, (_, i) => [R1(`6b0697${(0x10 + i).toString(16)}000000010000`), R2]);
    const b = server('ldap://b', moving);
    const options = { ...waitOptions(topology(server('ldap://a', []), b), []), capMs: 20_000 };
    const error = await waitForLocalChanges('6b0699ff000000010000', options).catch((e: unknown) => e);
    // Far past the 3 s without progress, still waiting; stopped by the cap.
    expect((error as Error).message).toMatch(/did not deliver this run's changes to reach every server within the cap of 20 s: localhost:39352/);
  });

  it('nudges once, with the servers still lacking the changes, when the wait does not end at once', async () => {
    const nudged: string[][] = [];
    const b = server('ldap://b', [[R1('6b069780000000010000'), R2], [R1('6b069780000000010000'), R2], [R1(WRITE), R2]]);
    const t = topology(server('ldap://a', []), b);
    await waitForLocalChanges(WRITE, { ...waitOptions(t, []), nudgeAfterMs: 400, nudge: async (lagging) => void nudged.push(lagging.map((m) => m.id)) });
    expect(nudged).toEqual([['localhost:39352']]);
  });

  it('counts a server answering with a referral (total update running) as not there yet', async () => {
    const b = server('ldap://b', ['referral']);
    const error = await waitForLocalChanges(WRITE, waitOptions(topology(server('ldap://a', []), b), [])).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/localhost:39352: a total update \(re-initialization\) is running there/);
  });

  it('fails at once for a server that could not be contacted', async () => {
    const t = topology(server('ldap://a', []), server('ldap://b', []));
    t.members[1].session = undefined;
    t.members[1].error = '389 DS at ldap://127.0.0.1:39352 refused the connection';
    const lines: string[] = [];
    await expect(waitForLocalChanges(WRITE, waitOptions(t, lines))).rejects.toThrow(/cannot wait for .*localhost:39352: 389 DS at ldap:\/\/127.0.0.1:39352 refused the connection/);
    expect(lines).toEqual([]);
  });
});

describe('in sync before cluster-scope steps', () => {
  it('accepts a replica listed without a CSN when the origin initialized that server after the change', async () => {
    // A's newest change (08:07:16Z) is as old as the total update that A sent to B: B holds it.
    const a = server('ldap://a', [[R1('6b069734000300010000'), R2]]);
    const b = server('ldap://b', [['{replica 1 ldap://localhost:39350}', R2]]);
    const t = topology(a, b);
    // What every server holds from now on: the claim exchange lets the initialization account for these only.
    await expect(waitUntilInSync(waitOptions(t, []))).resolves.toEqual(new Map([[1, '6b069734000300010000'], [2, '6b069778000000020000']]));
  });

  it('waits for a change made after that initialization', async () => {
    const a = server('ldap://a', [[R1(WRITE), R2]]);
    const b = server('ldap://b', [['{replica 1 ldap://localhost:39350}', R2]]);
    await expect(waitUntilInSync(waitOptions(topology(a, b), []))).rejects.toThrow(/localhost:39352: has no change of replica 1 \(localhost:39350\) yet/);
  });
});

describe('exchanging the cluster claim', () => {
  // A sent B a total update that ended at 08:07:16Z; A then saw the pair in sync (its newest change
  // 6b069734000300010000) and wrote its claim in that same second, as B did its own.
  const IN_SYNC = new Map([[1, '6b069734000300010000'], [2, '6b069737000100020000']]);
  const CLAIM_A = '6b069734000500010000';
  const JUST_INITIALIZED = ['{replica 1 ldap://localhost:39350}', '{replica 2 ldap://localhost:39352} 6b069737000100020000 6b069737000500020000'];

  it('does not count a claim made in the second the initialization ended as arrived until the RUV shows it', async () => {
    // B lists A without a CSN (freshly initialized): the claim has not arrived, though its second
    // is the initialization's. Taking it as arrived let both servers hold the claim.
    const a = server('ldap://a', [[R1(CLAIM_A), R2]]);
    const b = server('ldap://b', [JUST_INITIALIZED]);
    await expect(waitUntilExchanged(CLAIM_A, IN_SYNC, waitOptions(topology(a, b), []))).rejects.toThrow(
      /no progress for 3 s: localhost:39352: has no change of replica 1 \(localhost:39350\) yet, needs 08:07:16Z/,
    );
  });

  it('completes once the claim has really arrived, and this server has what the peer had then', async () => {
    const a = server('ldap://a', [[R1(CLAIM_A), '{replica 2 ldap://localhost:39352} 6b069737000100020000 6b069737000500020000']]);
    const b = server('ldap://b', [JUST_INITIALIZED, JUST_INITIALIZED, JUST_INITIALIZED, [R1(CLAIM_A), '{replica 2 ldap://localhost:39352} 6b069737000100020000 6b069737000500020000']]);
    const lines: string[] = [];
    await expect(waitUntilExchanged(CLAIM_A, IN_SYNC, { ...waitOptions(topology(a, b), lines), what: 'the cluster claim to be exchanged' })).resolves.toBeUndefined();
    expect(lines.join('\n')).toMatch(/waiting for the cluster claim to be exchanged \(1 s\): localhost:39352: has no change of replica 1/);
  });

});
