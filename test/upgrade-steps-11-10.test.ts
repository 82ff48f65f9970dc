/**
 * The steps of 11.10.1 on the real 389 DS, one by one: what each changes, what it leaves alone, and
 * that a second run changes nothing. test/dogtag-releases.test.ts runs them all on databases as
 * Dogtag 10.5.0 created them, on a 389 DS of its own (where 04-DirectoryServerSettings, which
 * changes cn=config of the whole server, is tested too).
 */
import { Attribute, Change } from 'ldapts';
import { backendDN } from './harness/dirsrv';
import { allStrings, firstString } from './harness/ldap';
import { applyLdif, readFixture } from './harness/pki-database';
import { standalone, withLdap } from './harness/test-env';
import { caDatabase, realStepContext, runStep } from './support/step-context';
import { ConfigError } from '../src/core/errors';
import type { DatabaseInfo } from '../src/core/step';
import { EST_ADMINISTRATORS_ACLS } from '../src/pki/access-control';
import { instanceIdOf } from '../src/pki/instance-facts';
import revokedCertsByIssuerVlv from '../upgrades/11.10.1/01-RevokedCertsByIssuerVlv';
import estAdministrators from '../upgrades/11.10.1/02-EstAdministrators';

const ISSUER = 'CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE';

async function ca(prefix: string, facts: Partial<DatabaseInfo> = {}): Promise<DatabaseInfo> {
  const db = await caDatabase(standalone(), prefix, { certificates: 3 });
  return { suffix: db.suffix, backend: db.backend, subsystem: 'ca', ...facts };
}

const vlvSearches = (backend: string) =>
  withLdap(standalone(), async (c) => (await c.search(backendDN(backend), { scope: 'one', filter: '(objectClass=vlvSearch)', attributes: ['cn', 'vlvFilter'] })).searchEntries.map((e) => [firstString(e, 'cn'), firstString(e, 'vlvFilter')]));

describe('11.10.1/01-RevokedCertsByIssuerVlv', () => {
  it('adds allRevokedCertsByIssuer named after the instance, filtered on the CA\'s issuer, and builds it once', async () => {
    const db = await ca('vlvrev', { instanceId: 'pki-x', caIssuerDN: ISSUER });
    const first = await runStep(standalone(), revokedCertsByIssuerVlv, db);
    expect(first.lines).toContain(`info: VLV search allRevokedCertsByIssuer-pki-x defined on backend ${db.backend}, built after the steps: allRevokedCertsByIssuer-pki-xIndex`);
    expect(await vlvSearches(db.backend)).toEqual([['allRevokedCertsByIssuer-pki-x', `(&(certStatus=REVOKED)(|(!(issuerName=*))(issuerName=${ISSUER})))`]]);
    const index = await withLdap(standalone(), async (c) => (await c.search(`cn=allRevokedCertsByIssuer-pki-xIndex,cn=allRevokedCertsByIssuer-pki-x,${backendDN(db.backend)}`, { scope: 'base', attributes: ['objectClass', 'description', 'vlvSort'] })).searchEntries[0]);
    // As ca/vlv.ldif defines it: the mark the build needed is gone, and the object class that carried it.
    expect({ objectClass: allStrings(index, 'objectClass').map((c) => c.toLowerCase()).sort(), description: allStrings(index, 'description'), sort: firstString(index, 'vlvSort') }).toEqual({ objectClass: ['top', 'vlvindex'], description: [], sort: 'serialno' });
    const second = await runStep(standalone(), revokedCertsByIssuerVlv, db);
    expect(second.lines).toEqual([`info: VLV search allRevokedCertsByIssuer-pki-x already defined and built on backend ${db.backend}`]);
  });

  it('in direct mode without --instance-id, takes the instance from the VLV searches pkispawn made (allCerts-<instance>)', async () => {
    const db = await ca('vlvname');
    await withLdap(standalone(), (c) => applyLdif(c, 'dn: cn=allCerts-pki-y, cn={database}, cn=ldbm database, cn=plugins, cn=config\nobjectClass: top\nobjectClass: vlvSearch\ncn: allCerts-pki-y\nvlvBase: ou=certificateRepository,ou=ca,{rootSuffix}\nvlvScope: 1\nvlvFilter: (certstatus=*)\n', { database: db.backend, rootSuffix: db.suffix }));
    const t = await realStepContext(standalone(), db);
    try {
      expect(await instanceIdOf(t.ctx.ldap, db)).toBe('pki-y');
    } finally {
      await t.close();
    }
  });

  it('says what to pass when neither the instance id nor the CA\'s issuer DN is known, and changes nothing', async () => {
    const db = await ca('vlvnone');
    await expect(runStep(standalone(), revokedCertsByIssuerVlv, db)).rejects.toThrow(new ConfigError(`the PKI instance id of ${db.suffix} is not known: backend ${db.backend} has no allCerts-<instance> VLV search to take it from`));
    await expect(runStep(standalone(), revokedCertsByIssuerVlv, { ...db, instanceId: 'pki-z' })).rejects.toMatchObject({ message: `the issuer DN of the CA whose database is ${db.suffix} is not known`, hint: expect.stringContaining('--ca-issuer-dn') });
    expect(await vlvSearches(db.backend)).toEqual([]);
  });
});

describe('11.10.1/02-EstAdministrators', () => {
  async function withReleaseAcls(prefix: string): Promise<DatabaseInfo> {
    const db = await ca(prefix);
    const acl = await readFixture('releases/10.5.0/ca/acl.ldif');
    await withLdap(standalone(), (c) => applyLdif(c, acl, { rootSuffix: db.suffix }));
    return db;
  }
  const acls = (suffix: string) => withLdap(standalone(), async (c) => allStrings((await c.search(`cn=aclResources,${suffix}`, { scope: 'base', attributes: ['resourceACLS'] })).searchEntries[0], 'resourceACLS'));
  const group = (suffix: string) => withLdap(standalone(), async (c) => (await c.search(`cn=Enterprise EST Administrators,ou=groups,${suffix}`, { scope: 'base', attributes: ['cn', 'description', 'objectClass'] })).searchEntries.length);

  it('adds the group and names it in the two ACLs as 11.10.1 ships them; a second run changes nothing', async () => {
    const db = await withReleaseAcls('est');
    const before = await acls(db.suffix);
    await runStep(standalone(), estAdministrators, db);
    expect(await group(db.suffix)).toBe(1);
    const after = await acls(db.suffix);
    expect(after).toHaveLength(before.length);
    for (const change of EST_ADMINISTRATORS_ACLS) expect([after.includes(change.to), after.includes(change.from)]).toEqual([true, false]);
    const second = await runStep(standalone(), estAdministrators, db);
    expect(second.lines).toEqual([`info: group cn=Enterprise EST Administrators,ou=groups,${db.suffix} already there`]);
    expect(await acls(db.suffix)).toEqual(after);
  });

  it('leaves an ACL an administrator changed as it is, and says so', async () => {
    const db = await withReleaseAcls('estmine');
    const [registerUser] = EST_ADMINISTRATORS_ACLS.filter((c) => c.to.startsWith('certServer.ca.registerUser:'));
    const mine = 'certServer.ca.registerUser:read,modify:allow (modify,read) group="Enterprise CA Administrators":Only CA administrators here';
    await withLdap(standalone(), (c) =>
      c.modify(`cn=aclResources,${db.suffix}`, [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'resourceACLS', values: [registerUser.from] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'resourceACLS', values: [mine] }) }),
      ]),
    );
    const t = await runStep(standalone(), estAdministrators, db);
    expect(t.lines).toContain(`warn: ACL of certServer.ca.registerUser in cn=aclResources,${db.suffix} is not as Dogtag shipped it: left as it is; add group="Enterprise EST Administrators" to it by hand if EST administrators need it`);
    const after = await acls(db.suffix);
    expect(after).toContain(mine);
    expect(after).not.toContain(registerUser.to);
  });
});
