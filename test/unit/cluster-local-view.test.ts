/**
 * The local view (src/converge/local-view.ts): what a run with LDAPI autobind only may conclude
 * about the other servers from its own server's agreements and RUV, and from anonymous reads.
 */
import { systemClock } from '../../src/core/clock';
import { clockReading } from '../support/manual-clock';
import { DirectoryEntry, type LdapSession } from '../../src/core/directory';
import { ClusterNotReadyError } from '../../src/core/errors';
import { silentLogger } from '../../src/core/logger';
import type { Agreement } from '../../src/converge/agreements';
import { consumerReplicaIds, localView, nameObserved, unfedSuppliers, waitUntilSeen } from '../../src/converge/local-view';
import { parseRuv } from '../../src/converge/ruv';
import type { ClusterMember, PeerSession, Topology } from '../../src/converge/topology';

const agreement = (name: string, host: string, port: number): Agreement =>
  ({ dn: `cn=${name},cn=replica`, name, suffix: 'o=ca', host, port, transport: 'LDAP', enabled: true, state: 'ok', status: '', updateInProgress: false }) as Agreement;

/** An anonymous session that reads `dn` with the values the test gives it. */
function observer(values: () => string[] | 'refused'): PeerSession {
  return {
    url: 'ldap://peer',
    read: async (dn: string) => {
      const v = values();
      if (v === 'refused') throw Object.assign(new Error('Insufficient access'), { code: 50 });
      return v.length ? new DirectoryEntry(dn, { description: v }) : undefined;
    },
    close: async () => undefined,
  } as unknown as PeerSession;
}

function meshFromA(peers: { id: string; observer?: PeerSession; session?: LdapSession }[]): Topology {
  const agreements = peers.map((p, i) => agreement(`to-${i + 2}`, p.id.split(':')[0], Number(p.id.split(':')[1])));
  const local: ClusterMember = { id: 'a.example:389', url: 'ldapi://a', local: true, agreements, replica: { dn: 'cn=replica', mappingTreeDN: '', replicaId: 1, role: 'supplier' } };
  const members: ClusterMember[] = [local, ...peers.map((p) => ({ url: `ldap://${p.id}`, local: false, agreements: [], unreadable: !p.session, ...p }))];
  return { suffix: 'o=ca', local, members, target: (a) => members.find((m) => m.id === `${a.host}:${a.port}`), close: async () => undefined };
}

const RUV = parseRuv([
  '{replicageneration} 6b0ebe08000000010000',
  '{replica 1 ldap://a.example:389} 6b0ebe09000100010000 6b0ebe0c00e500010000',
  '{replica 2 ldap://b.example:389} 6b0ebe0b000100020000 6b0ebe0b000100020000',
  '{replica 3 ldap://c.example:389} 6b0ebe0b000100030000 6b0ebe0b000100030000',
]);

describe('the local view of a run that can read only its own server', () => {
  it('reads which replica each agreement feeds from nsds5AgmtMaxCSN, ignoring agreements that have not reached theirs yet', () => {
    expect(
      consumerReplicaIds([
        'o=ca;To-B;10.0.0.2;389;2;6b0ebe0c00e500010000',
        'o=ca;to-c;10.0.0.3;389;unavailable;6b0ebe0c00e500010000',
        'o=ca;to;d;10.0.0.4;389;4;6b0ebe0c00e500010000',
        'garbage',
      ]),
    ).toEqual(new Map([['to-b', 2], ['to;d', 4]]));
  });

  it('needs every other server readable anonymously; one that is not is named', () => {
    const seen = localView(meshFromA([{ id: '10.0.0.2:389', observer: observer(() => []) }, { id: '10.0.0.3:389', observerError: 'connect ECONNREFUSED' } as never]));
    expect(seen).toEqual({ problems: ['10.0.0.3:389 cannot be read even anonymously: connect ECONNREFUSED'] });
  });

  it('is not used when another server can be read with the run\'s credentials', () => {
    const seen = localView(meshFromA([{ id: '10.0.0.2:389', session: {} as LdapSession }]));
    expect('problems' in seen && seen.problems[0]).toMatch(/can be read with the credentials of this run/);
  });

  it('requires every supplier of the RUV to be fed by an agreement of this server (a full mesh seen from here)', () => {
    const topology = meshFromA([{ id: '10.0.0.2:389', observer: observer(() => []) }]);
    expect(unfedSuppliers(topology, RUV, new Map([['to-2', 2]]))).toEqual([
      'the supplier with replica id 3 (ldap://c.example:389) is not fed by an agreement of a.example:389, so this server cannot tell whether its changes reached it (a decommissioned server left in the RUV is removed with dsconf INSTANCE repl-tasks cleanallruv)',
    ]);
    expect(unfedSuppliers(topology, RUV, new Map())).toHaveLength(2);
  });

  it('takes an agreement that names the supplier as it names itself for one that feeds it', () => {
    const topology = meshFromA([{ id: 'b.example:389', observer: observer(() => []) }, { id: 'c.example:389', observer: observer(() => []) }]);
    expect(unfedSuppliers(topology, RUV, new Map())).toEqual([]);
  });

  it('names each observed server as its RUV entry does, which is how the history knows it', () => {
    const topology = meshFromA([{ id: '10.0.0.2:389', observer: observer(() => []) }, { id: '10.0.0.3:389', observer: observer(() => []) }]);
    nameObserved(topology, RUV, new Map([['to-2', 2], ['to-3', 3]]));
    expect(topology.members.map((m) => m.id)).toEqual(['a.example:389', 'b.example:389', 'c.example:389']);
  });

  it('waits until a change of this server is readable on every other server, nudging replication once on the way', async () => {
    let polls = 0;
    const topology = meshFromA([{ id: '10.0.0.2:389', observer: observer(() => (++polls >= 5 ? ['v2'] : ['v1'])) }]);
    const view = localView(topology);
    if (!('view' in view)) throw new Error('no view');
    let nudged = 0;
    await waitUntilSeen(view.view, 'cn=claim', 'description', (v) => v.includes('v2'), { what: 'the claim', timeoutMs: 5000, pollMs: 1, clock: systemClock, logger: silentLogger, nudge: async () => void nudged++ });
    expect(polls).toBe(5);
    expect(nudged).toBe(1);
  });

  it('gives up after the timeout naming the server that lacks it, and says when anonymous reads are refused', async () => {
    const topology = meshFromA([{ id: '10.0.0.2:389', observer: observer(() => ['v1']) }, { id: '10.0.0.3:389', observer: observer(() => 'refused') }]);
    const view = localView(topology);
    if (!('view' in view)) throw new Error('no view');
    let t = 0;
    // Every reading of the clock is 400 ms later.
    const clock = clockReading(() => (t += 400));
    const stale = { ...view.view, observers: view.view.observers.slice(0, 1) };
    await expect(waitUntilSeen(stale, 'cn=claim', 'description', (v) => v.includes('v2'), { what: 'the cluster claim', timeoutMs: 1000, pollMs: 1, clock, logger: silentLogger })).rejects.toThrow(
      new ClusterNotReadyError('the cluster claim did not reach 10.0.0.2:389 within 1 s (read anonymously there)'),
    );
    const refused = await waitUntilSeen(view.view, 'cn=claim', 'description', (v) => v.includes('v2'), { what: 'the cluster claim', timeoutMs: 1000, pollMs: 1, clock, logger: silentLogger }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ClusterNotReadyError);
    expect((refused as ClusterNotReadyError).message).toBe('cannot read cn=claim on 10.0.0.3:389 anonymously: Insufficient access');
    expect((refused as ClusterNotReadyError).hint).toMatch(/allow anonymous reads there \(nsslapd-allow-anonymous-access\)/);
  });
});
