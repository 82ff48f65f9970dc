/**
 * What the 11.10.1 steps write is Dogtag's own LDIF, value for value: the lists compiled into the
 * tool (src/pki) checked against the release files (test/harness/fixtures/dogtag/releases).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLdif, type LdifAdd, type LdifModify } from '../harness/ldif';
import { EST_ADMINISTRATORS_ACLS } from '../../src/pki/access-control';
import { revokedCertsByIssuerSearch } from '../../src/pki/ca-vlv-searches';
import { EST_ADMINISTRATORS, groupDN, groupEntry, TPS_AUDITORS, type GroupSpec } from '../../src/pki/groups';
import { CS_USERS_DN, CS_USERS_ENTRY, MIN_MAX_BER_SIZE } from '../../src/pki/server-settings';

const SUFFIX = 'o=pki-tomcat-CA';
const substitutions = { rootSuffix: SUFFIX, database: 'ca', instanceId: 'pki-tomcat', caIssuerDN: 'CN=CA Signing Certificate,O=EXAMPLE' };
const release = (file: string) => parseLdif(readFileSync(path.join(__dirname, '../harness/fixtures/dogtag/releases', file), 'utf8'), substitutions);
const adds = (file: string) => release(file).filter((r): r is LdifAdd => r.kind === 'add');
const norm = (dn: string) => dn.toLowerCase().replace(/\s*([,=])\s*/g, '$1');
const find = (file: string, dn: string) => adds(file).find((r) => norm(r.dn) === norm(dn));
const valuesOf = (record: LdifAdd, name: string) => ([...record.attributes].find(([t]) => t.toLowerCase() === name.toLowerCase())?.[1] ?? []).map(String);

describe('the data of the 11.10.1 steps', () => {
  it('allRevokedCertsByIssuer is ca/vlv.ldif\'s, and new in it since 10.5.0', () => {
    const spec = revokedCertsByIssuerSearch(SUFFIX, substitutions.instanceId, substitutions.caIssuerDN);
    const search = find('11.10.1/ca/vlv.ldif', `cn=${spec.name},cn=ca,cn=ldbm database,cn=plugins,cn=config`)!;
    expect({ base: valuesOf(search, 'vlvBase'), scope: valuesOf(search, 'vlvScope'), filter: valuesOf(search, 'vlvFilter') }).toEqual({ base: [spec.base], scope: ['1'], filter: [spec.filter] });
    const index = find('11.10.1/ca/vlv.ldif', `cn=${spec.indexes[0].name},cn=${spec.name},cn=ca,cn=ldbm database,cn=plugins,cn=config`)!;
    expect(valuesOf(index, 'vlvSort')).toEqual([spec.indexes[0].sort]);
    expect(find('10.5.0/ca/vlv.ldif', `cn=${spec.name},cn=ca,cn=ldbm database,cn=plugins,cn=config`)).toBeUndefined();
  });

  it('keeps an issuer DN with filter characters one value of the filter', () => {
    expect(revokedCertsByIssuerSearch(SUFFIX, 'x', 'CN=A (test)*,O=B').filter).toBe('(&(certStatus=REVOKED)(|(!(issuerName=*))(issuerName=CN=A \\28test\\29\\2a,O=B)))');
  });

  it.each([
    ['ca', EST_ADMINISTRATORS.cn, EST_ADMINISTRATORS, '11.10.1/ca/create.ldif', '10.5.0/ca/db.ldif'],
    ['tps', TPS_AUDITORS.cn, TPS_AUDITORS, '11.10.1/tps/create.ldif', '10.5.0/tps/db.ldif'],
  ] as [string, string, GroupSpec, string, string][])('the %s group %s is create.ldif\'s, and absent from 10.5.0\'s', (_s, _cn, group, newer, older) => {
    const record = find(newer, groupDN(group, SUFFIX))!;
    expect(record.dn).toBe(groupDN(group, SUFFIX));
    const entry = groupEntry(group);
    expect(valuesOf(record, 'objectClass')).toEqual(entry.objectClass);
    expect(valuesOf(record, 'cn')).toEqual([entry.cn]);
    expect(valuesOf(record, 'description')).toEqual([entry.description]);
    expect(find(older, groupDN(group, SUFFIX))).toBeUndefined();
  });

  it('the ACL changes take ca/acl.ldif from 10.5.0\'s values to 11.10.1\'s, and these are all it changed', () => {
    const acls = (file: string) => valuesOf(find(file, `cn=aclResources,${SUFFIX}`)!, 'resourceACLS');
    const [older, newer] = [acls('10.5.0/ca/acl.ldif'), acls('11.10.1/ca/acl.ldif')];
    expect(EST_ADMINISTRATORS_ACLS).toHaveLength(2);
    for (const change of EST_ADMINISTRATORS_ACLS) {
      expect(older).toContain(change.from);
      expect(newer).toContain(change.to);
    }
    const upgraded = older.map((v) => EST_ADMINISTRATORS_ACLS.find((c) => c.from === v)?.to ?? v);
    expect(upgraded).toEqual(newer);
  });

  it('the server settings are server/config.ldif\'s', () => {
    const records = release('11.10.1/server/config.ldif');
    const config = records.find((r): r is LdifModify => r.kind === 'modify' && r.dn === 'cn=config')!;
    expect(config.modifications).toEqual([{ operation: 'replace', type: 'nsslapd-maxbersize', values: [String(MIN_MAX_BER_SIZE)] }]);
    const csusers = find('11.10.1/server/config.ldif', CS_USERS_DN)!;
    expect(valuesOf(csusers, 'objectClass')).toEqual(CS_USERS_ENTRY.objectClass);
    expect(valuesOf(csusers, 'ou')).toEqual([CS_USERS_ENTRY.ou]);
  });
});
