/**
 * What the backend owes a build, as the run's index builds read it (src/apply/index-builds.ts) and
 * as `status` shows it: the marked definitions, those 389 DS trusts since a restart, and this
 * tool's index task running with its progress. The builds themselves are tested on the real server (test/index-builds.test.ts).
 */
import { LdapIndexBuilds } from '../../src/apply/index-builds';
import { PENDING_BUILD } from '../../src/apply/index-marks';
import { DirectoryEntry, type LdapSession, type SearchOptions } from '../../src/core/directory';
import { emptyHistory } from '../../src/core/history-store';
import { silentLogger } from '../../src/core/logger';
import { planUpgrade } from '../../src/core/planner';
import { formatStatus, statusReport } from '../../src/report/run-report';
import { registry, step } from '../support/steps';

const BACKEND_DN = 'cn=ca,cn=ldbm database,cn=plugins,cn=config';

/**
 * A server whose backend holds one marked index whose build was started (active), one marked and
 * held index, and one marked VLV index, with an interrupted run's task still at work; 389 DS
 * restarted after both indexes were defined, before the VLV index was.
 */
function serverWithOwedBuilds(): LdapSession & { searches: { base: string; filter?: string }[] } {
  const searches: { base: string; filter?: string }[] = [];
  return {
    url: 'ldap://fake',
    searches,
    async read(dn: string) {
      if (dn === 'cn=monitor') return new DirectoryEntry(dn, { startTime: '20261202010000Z' });
      return new DirectoryEntry(dn, { modifyTimestamp: /^cn=(issuername|serialno),/.test(dn) ? '20261202005959Z' : '20261202010001Z' });
    },
    async search(base: string, options?: SearchOptions) {
      searches.push({ base, filter: options?.filter });
      if (base === BACKEND_DN) {
        return [
          new DirectoryEntry(`cn=issuername,cn=index,${BACKEND_DN}`, { cn: 'issuername', objectClass: ['top', 'nsIndex'], description: PENDING_BUILD }),
          new DirectoryEntry(`cn=serialno,cn=index,${BACKEND_DN}`, { cn: 'serialno', objectClass: ['top', 'nsIndex'], description: [PENDING_BUILD, 'pki-db-upgrade: to build as {"nsIndexType":["eq"]}'] }),
          new DirectoryEntry(`cn=revokedIndex,cn=revoked,${BACKEND_DN}`, { cn: 'revokedIndex', objectClass: ['top', 'vlvIndex', 'extensibleObject'], description: PENDING_BUILD }),
        ];
      }
      return [
        new DirectoryEntry('cn=export-1,cn=export,cn=tasks,cn=config', { nsTaskStatus: 'exporting' }),
        new DirectoryEntry('cn=pki-db-upgrade-1764633600000-4242,cn=index,cn=tasks,cn=config', { nsTaskStatus: 'ca: Indexed 320000 entries (32%).' }),
      ];
    },
  } as unknown as LdapSession & { searches: { base: string; filter?: string }[] };
}

describe('what a backend owes a build', () => {
  it('is read from the marks and the running tasks, and status shows it with the progress; a held index is never trusted', async () => {
    const ldap = serverWithOwedBuilds();
    const owed = await new LdapIndexBuilds({ ldap, backend: 'ca', dryRun: true, logger: silentLogger }).owed();
    expect(owed).toEqual({ owed: ['issuername', 'serialno', 'revokedIndex'], held: ['serialno'], trusted: ['issuername'], afterRestart: [], running: { task: 'cn=pki-db-upgrade-1764633600000-4242,cn=index,cn=tasks,cn=config', status: 'ca: Indexed 320000 entries (32%).' } });
    expect(ldap.searches[0]).toEqual({ base: BACKEND_DN, filter: '(description=pki-db-upgrade: index not built yet \\28index task pending\\29)' });

    const plan = planUpgrade({ steps: registry(step('1.0.0/01-Schema')), state: emptyHistory(), packageVersion: '1.0.0', serverId: 'ds1:389' });
    const report = statusReport('o=x on ldap://ds1:389', { ...plan, pending: [] }, emptyHistory(), owed);
    expect(report.upToDate).toBe(false);
    expect(formatStatus(report)).toContain(
      [
        'Pending:     no step; the index build below',
        'Index build: 3 definition(s) not built yet (searches on them run unindexed; after a restart of 389 DS those not held (issuername, revokedIndex) miss entries): issuername, serialno, revokedIndex',
        '             389 DS restarted after defining issuername: it searches through them as if built, and misses entries; run pki-db-upgrade to build them now',
        '             running: cn=pki-db-upgrade-1764633600000-4242,cn=index,cn=tasks,cn=config (ca: Indexed 320000 entries (32%).); the backend is read-only until it ends',
      ].join('\n'),
    );
  });
});
