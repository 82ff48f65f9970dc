/** What an agreement's status attributes mean for a cluster upgrade (values as 389 DS 2.3 writes them). */
import { agreementUrl, blockingProblem, classifyStatus, parseAgreement } from '../../src/converge/agreements';
import { DirectoryEntry } from '../../src/core/directory';

const HEALTHY = 'Error (0) Replica acquired successfully: Incremental update succeeded';

function agreement(attrs: Record<string, string>) {
  return parseAgreement(
    new DirectoryEntry('cn=to-b,cn=replica,cn=o\\3Dexp,cn=mapping tree,cn=config', {
      cn: 'to-b',
      nsDS5ReplicaRoot: 'o=exp',
      nsDS5ReplicaHost: '127.0.0.1',
      nsDS5ReplicaPort: '39352',
      nsDS5ReplicaTransportInfo: 'LDAP',
      ...attrs,
    }),
  );
}

describe('an agreement', () => {
  it('is ok after a successful incremental update', () => {
    const a = agreement({
      nsds5replicaLastUpdateStatus: HEALTHY,
      nsds5replicaLastUpdateStatusJSON: '{"state": "green", "ldap_rc": "0", "message": "Error (0) Replica acquired successfully: Incremental update succeeded"}',
    });
    expect(a).toMatchObject({ name: 'to-b', host: '127.0.0.1', port: 39352, enabled: true, state: 'ok' });
    expect(blockingProblem(a)).toBeUndefined();
    expect(agreementUrl(a)).toBe('ldap://127.0.0.1:39352');
  });

  it('is paused when disabled, although its JSON status still says green', () => {
    const a = agreement({
      nsds5ReplicaEnabled: 'off',
      nsds5replicaLastUpdateStatus: 'Error (0) Replica acquired successfully: agreement disabled',
      nsds5replicaLastUpdateStatusJSON: '{"state": "green"}',
    });
    expect(a.state).toBe('paused');
    expect(blockingProblem(a)).toMatch(/paused \(nsds5ReplicaEnabled: off\).*would not reach 127\.0\.0\.1:39352/);
  });

  it('is in error when the last session failed (red), and that blocks', () => {
    const a = agreement({
      nsds5replicaLastUpdateStatus: 'Error (49) Problem connecting to replica - LDAP error: Invalid credentials (connection error)',
      nsds5replicaLastUpdateStatusJSON: '{"state": "red", "ldap_rc": "49"}',
    });
    expect(a.state).toBe('error');
    expect(blockingProblem(a)).toMatch(/Invalid credentials/);
  });

  it('is initializing while a total update runs', () => {
    expect(agreement({ nsds5BeginReplicaRefresh: 'start', nsds5replicaLastUpdateStatus: HEALTHY }).state).toBe('initializing');
  });

  it('remembers when its last successful initialization ended', () => {
    const a = agreement({ nsds5replicaLastInitEnd: '20261125080718Z', nsds5replicaLastInitStatus: 'Error (0) Total update succeeded' });
    expect(a.lastInitEnd?.toISOString()).toBe('2026-11-25T08:07:18.000Z');
    expect(agreement({ nsds5replicaLastInitEnd: '20261125080718Z', nsds5replicaLastInitStatus: 'Error (-1) connection error' }).lastInitEnd).toBeUndefined();
  });

  it('uses LDAPS for an SSL agreement', () => {
    expect(agreementUrl(agreement({ nsDS5ReplicaTransportInfo: 'SSL', nsDS5ReplicaPort: '636' }))).toBe('ldaps://127.0.0.1:636');
  });
});

describe('status text without JSON (older 389 DS)', () => {
  it.each([
    [HEALTHY, 'ok'],
    ['Error (1) Replication error acquiring replica: replica busy', 'warning'],
    ["Error (-1) Problem connecting to replica - LDAP error: Can't contact LDAP server (connection error)", 'error'],
    ['Error (0) No replication sessions started since server startup', 'unknown'],
    ['', 'unknown'],
  ])('%s -> %s', (text, state) => {
    expect(classifyStatus(text)).toBe(state);
  });
});
