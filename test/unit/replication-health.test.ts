/** Whether replication is healthy enough for cluster-scope steps (src/converge/replication-health.ts). */
import { parseAgreement } from '../../src/converge/agreements';
import { DEFAULT_TIMING, type ClusterContext } from '../../src/converge/cluster-context';
import { refuseBrokenAgreements } from '../../src/converge/replication-health';
import type { ClusterMember, Topology } from '../../src/converge/topology';
import { DirectoryEntry, type LdapSession } from '../../src/core/directory';

const SUFFIX = 'o=exp';
const TIMING = DEFAULT_TIMING;

function agreementEntry(enabled: 'on' | 'off'): DirectoryEntry {
  return new DirectoryEntry(`cn=to-b,cn=replica,cn=o\\3Dexp,cn=mapping tree,cn=config`, {
    cn: 'to-b',
    nsDS5ReplicaRoot: SUFFIX,
    nsDS5ReplicaHost: '127.0.0.1',
    nsDS5ReplicaPort: '39352',
    nsDS5ReplicaTransportInfo: 'LDAP',
    nsds5ReplicaEnabled: enabled,
    nsds5replicaLastUpdateStatus: 'Error (0) Replica acquired successfully: Incremental update succeeded',
    nsds5replicaLastUpdateStatusJSON: '{"state": "green"}',
  });
}

/** A supplier whose agreement was read paused, and which answers each later read with the next of `reads`. */
function supplierWithPause(reads: ('on' | 'off')[]): { topology: Topology; searches: () => number } {
  let searches = 0;
  const session = {
    url: 'ldap://127.0.0.1:39351',
    search: async () => [agreementEntry(reads[Math.min(searches++, reads.length - 1)])],
  } as unknown as LdapSession;
  const member: ClusterMember = { id: 'localhost:39351', url: session.url, local: false, session, agreements: [parseAgreement(agreementEntry('off'))] };
  return { topology: { suffix: SUFFIX, local: member, members: [member] } as unknown as Topology, searches: () => searches };
}

function context(): ClusterContext {
  let now = 0;
  const clock = { now: () => new Date(now), monotonicMs: () => now, sleep: async (ms: number) => void (now += ms) };
  return { suffix: SUFFIX, serverId: 'localhost:39350', clock } as unknown as ClusterContext;
}

describe('replication health before cluster-scope steps', () => {
  it("takes a pause that ends a moment later (another run's poke: off, then on) for none", async () => {
    const { topology, searches } = supplierWithPause(['on']);
    await expect(refuseBrokenAgreements(topology, context(), TIMING)).resolves.toBeUndefined();
    expect(searches()).toBe(1);
  });

  it('refuses a pause that lasts, naming the agreement, after reading it again', async () => {
    const { topology, searches } = supplierWithPause(['off', 'off', 'off']);
    await expect(refuseBrokenAgreements(topology, context(), TIMING)).rejects.toThrow(/agreement on localhost:39351: to-b \(127\.0\.0\.1:39352\): paused \(nsds5ReplicaEnabled: off\)/);
    expect(searches()).toBe(2);
  });
});
