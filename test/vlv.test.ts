/**
 * VLV searches and their indexes (IndexHelper.ensureVlv, built by the run's index task after the steps) on the real
 * 389 DS, and what a step knows to name them: the instance id and the CA's issuer DN
 * (DatabaseInfo), from the instance in instance mode.
 */
import { CertificateAuthority, DistinguishedName } from './harness/certificates';
import { backendDN } from './harness/dirsrv';
import { firstString } from './harness/ldap';
import { standalone, withLdap } from './harness/test-env';
import { REPOSITORY } from './support/certificate-records';
import { vlvWindow } from './support/vlv-window';
import { managerPasswordFile, registryOf, tool } from './support/cluster';
import { createFakePki, passwordFromConfigFile, removeFakePkis } from './support/fake-pki';
import { caDatabase, realStepContext } from './support/step-context';
import type { DatabaseInfo, VlvSearchSpec } from '../src/core/step';
import { PENDING_BUILD } from '../src/apply/index-marks';

afterAll(() => removeFakePkis());

const vlvEntries = (backend: string) =>
  withLdap(standalone(), async (c) =>
    (await c.search(backendDN(backend), { scope: 'sub', filter: '(|(objectClass=vlvSearch)(objectClass=vlvIndex))', attributes: ['cn', 'vlvFilter', 'vlvSort', 'vlvEnabled', 'description'] })).searchEntries.map((e) => ({
      cn: firstString(e, 'cn'),
      filter: firstString(e, 'vlvFilter'),
      sort: firstString(e, 'vlvSort'),
      enabled: firstString(e, 'vlvEnabled'),
      marked: firstString(e, 'description'),
    })),
  );

describe('VLV searches', () => {
  it('are defined with their indexes, built by one index task, then left alone', async () => {
    const db = await caDatabase(standalone(), 'vlv', { certificates: 12 });
    const filter = '(&(objectClass=certificateRecord)(certStatus=VALID))';
    const search: VlvSearchSpec = { name: `validCerts-${db.backend}`, base: REPOSITORY(db.suffix), scope: 'one', filter, indexes: [{ name: `validCerts-${db.backend}Index`, sort: 'serialno' }] };
    const t = await realStepContext(standalone(), db);
    try {
      const changed = await t.ctx.indexes.ensureVlv([search]);
      expect(changed).toEqual([`validCerts-${db.backend}Index`]);
      expect(await t.buildIndexes()).toMatchObject({ outcome: 'built', names: changed });
      expect(await t.ctx.indexes.ensureVlv([search])).toEqual([]); // built, mark gone: nothing to do
    } finally {
      await t.close();
    }
    expect(await vlvEntries(db.backend)).toEqual([
      { cn: `validCerts-${db.backend}`, filter, sort: undefined, enabled: undefined, marked: undefined },
      expect.objectContaining({ cn: `validCerts-${db.backend}Index`, sort: 'serialno', marked: undefined }),
    ]);
    const tasks = await withLdap(standalone(), async (c) => (await c.search('cn=index,cn=tasks,cn=config', { scope: 'one', filter: `(&(cn=pki-db-upgrade-*)(nsInstance=${db.backend}))`, attributes: ['nsIndexVLVAttribute', 'nsTaskExitCode'] })).searchEntries);
    expect(tasks.map((e) => [firstString(e, 'nsIndexVLVAttribute'), firstString(e, 'nsTaskExitCode')])).toEqual([[`validCerts-${db.backend}Index`, '0']]);
    // The server answers a VLV request with that sort through the index: a window of three, and the list's size.
    const answer = await vlvWindow(standalone(), REPOSITORY(db.suffix), filter);
    expect(answer.match(/^serialno: /gm)).toHaveLength(3);
    expect(answer).toMatch(/# vlvResult ?pos=1 count=\d+ context= \(0\) Success/);
  });

  it('defined otherwise (an older release\'s filter) are held as they are, changed in place by the build, and left for the first run after a restart of 389 DS (it takes the change only then; test/upgrade-steps-own-server.test.ts restarts it)', async () => {
    const db = await caDatabase(standalone(), 'vlvold', { certificates: 5 });
    const spec = (filter: string): VlvSearchSpec => ({ name: `revoked-${db.backend}`, base: REPOSITORY(db.suffix), scope: 'one', filter, indexes: [{ name: `revoked-${db.backend}Index`, sort: 'serialno' }] });
    const t = await realStepContext(standalone(), db);
    try {
      await t.ctx.indexes.ensureVlv([spec('(certStatus=REVOKED)')]);
      await t.buildIndexes();
      const newer = '(&(certStatus=REVOKED)(|(!(issuerName=*))(issuerName=CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE)))';
      const changed = await t.ctx.indexes.ensureVlv([spec(newer)]);
      expect(changed).toEqual([`revoked-${db.backend}Index`]);
      expect((await vlvEntries(db.backend)).find((e) => e.cn === `revoked-${db.backend}`)).toMatchObject({ filter: '(certStatus=REVOKED)', marked: PENDING_BUILD });
      const deferred = { outcome: 'deferred', names: changed, reason: '389 DS takes the changed VLV definition at its next restart', waiting: changed };
      expect(await t.buildIndexes()).toEqual(deferred);
      const [search, index] = await vlvEntries(db.backend);
      expect(search).toEqual({ cn: `revoked-${db.backend}`, filter: newer, sort: undefined, enabled: undefined, marked: undefined });
      expect(index).toMatchObject({ cn: `revoked-${db.backend}Index`, sort: 'serialno', marked: PENDING_BUILD });
      // Until 389 DS restarts, every run leaves it.
      expect(await t.buildIndexes()).toEqual(deferred);
      expect(await t.ctx.indexes.ensureVlv([spec(newer)])).toEqual([`revoked-${db.backend}Index`]);
    } finally {
      await t.close();
    }
  });
});

describe('what a step knows of the PKI instance', () => {
  it('in instance mode: the instance id (its folder) and the CA issuer DN (the subject of ca.signing.cert in CS.cfg)', async () => {
    const ds = standalone();
    const ca = new CertificateAuthority({ name: new DistinguishedName([['CN', 'CA Signing Certificate'], ['OU', 'ca-vlv'], ['O', 'EXAMPLE']]) });
    const { suffix } = await caDatabase(ds, 'vlvinfo', { certificates: 1 });
    const pki = createFakePki({ port: ds.port, baseDN: suffix, caSigningCert: ca.certificate });
    passwordFromConfigFile(pki, ds);
    let seen: DatabaseInfo | undefined;
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Look', scope: 'server', upgrade: async (ctx) => void (seen = ctx.database) }]);
    expect((await tool(['run', '--root', pki.root], registry)).code).toBe(0);
    expect(seen).toMatchObject({ suffix, subsystem: 'ca', instanceId: pki.name, caIssuerDN: 'CN=CA Signing Certificate,OU=ca-vlv,O=EXAMPLE' });
  });

  it('in direct mode: --instance-id and --ca-issuer-dn', async () => {
    const ds = standalone();
    const db = await caDatabase(ds, 'vlvdirect', { certificates: 1 });
    let seen: DatabaseInfo | undefined;
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Look', scope: 'server', upgrade: async (ctx) => void (seen = ctx.database) }]);
    const r = await tool(['run', '--url', ds.url, '--base-dn', db.suffix, '--password-file', managerPasswordFile(ds), '--instance-id', 'pki-tomcat', '--ca-issuer-dn', 'CN=CA Signing Certificate,O=EXAMPLE'], registry);
    expect(r.code).toBe(0);
    expect(seen).toMatchObject({ instanceId: 'pki-tomcat', caIssuerDN: 'CN=CA Signing Certificate,O=EXAMPLE' });
    expect((await tool(['run', '--instance-id', 'x'], registry)).stderr).toMatch(/--instance-id and --ca-issuer-dn belong to direct mode/);
  });
});
