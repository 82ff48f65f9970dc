/** The PKI database loader: old-release schema, create.ldif subtree, certificate records. */
import * as crypto from 'node:crypto';
import { expectedIssuerName } from './harness/certificates';
import { allStrings, firstString } from './harness/ldap';
import { parseLdif } from './harness/ldif';
import { dateToDb, lacksIssuerName, loadPkiDatabase, loadPkiSchema, pkiSchemaDefinitions, serialFromDb, serialToDb } from './harness/pki-database';
import { standalone, uniqueSuffix, withLdap } from './harness/test-env';

const MISSING_ISSUER = '(&(objectclass=certificateRecord)(|(!(issuerName=*))(issuerName=)))';

describe('PKI schema', () => {
  it('is the schema of an old release: certificateRecord but no authority or certProfile', async () => {
    const names = (await pkiSchemaDefinitions()).map((d) => d.name);
    expect(names).toContain('certificaterecord');
    expect(names).toContain('issuername');
    expect(names).not.toContain('authority');
    expect(names).not.toContain('authorityid');
    expect(names).not.toContain('certprofile');
    const all = (await pkiSchemaDefinitions({ includeLaterAdditions: true })).map((d) => d.name);
    expect(all).toEqual(expect.arrayContaining(['authority', 'certprofile']));
  });

  it('loads into the server idempotently', async () => {
    // Schema is server-wide and other test files share this server (and may have upgraded it), so
    // only check what this loader is responsible for.
    const ds = standalone();
    await loadPkiSchema(ds);
    expect(await loadPkiSchema(ds)).toBe(0);
    const classes = await withLdap(ds, async (c) => {
      const { searchEntries } = await c.search('cn=schema', { scope: 'base', attributes: ['objectClasses'] });
      return allStrings(searchEntries[0], 'objectClasses').join('\n');
    });
    expect(classes).toMatch(/NAME 'certificateRecord'/);
    expect(classes).toMatch(/NAME 'repository'/);
  });
});

describe('PKI database', () => {
  it('loads create.ldif and N certificate records, some without issuerName', async () => {
    const ds = standalone();
    const { suffix, backendName } = uniqueSuffix('pki');
    const n = 200;
    const result = await loadPkiDatabase(ds, { suffix, backendName, certificates: n, withoutIssuerNameRatio: 0.3 });
    expect(result.withoutIssuerName).toHaveLength(60);

    await withLdap(ds, async (c) => {
      const repo = `ou=certificateRepository,ou=ca,${suffix}`;
      const all = await c.search(repo, { scope: 'one', filter: '(objectclass=certificateRecord)', attributes: ['cn'] });
      expect(all.searchEntries).toHaveLength(n);
      const missing = await c.search(repo, { scope: 'one', filter: MISSING_ISSUER, attributes: ['cn'] });
      expect(missing.searchEntries.map((e) => String(e.cn)).sort()).toEqual([...result.withoutIssuerName].sort());

      // Structure from create.ldif with placeholders substituted.
      const groups = await c.search(`ou=groups,${suffix}`, { scope: 'one', attributes: ['cn'] });
      expect(groups.searchEntries.map((e) => String(e.cn))).toContain('Certificate Manager Agents');
      await c.search(`ou=authorities,ou=ca,${suffix}`, { scope: 'base' });

      // A record: Dogtag's formats, and the issuer a backfill would compute from the DER.
      const { searchEntries } = await c.search(`cn=42,${repo}`, { scope: 'base' });
      const rec = searchEntries[0];
      expect(firstString(rec, 'serialno')).toBe('0242');
      expect(firstString(rec, 'certStatus')).toBe('VALID');
      expect(firstString(rec, 'subjectName')).toBe('CN=user42,OU=people,O=EXAMPLE');
      const der = rec['userCertificate;binary'] as Buffer | Buffer[];
      const buf = Array.isArray(der) ? der[0] : der;
      const x = new crypto.X509Certificate(buf);
      expect(x.verify(result.ca.publicKey)).toBe(true);
      expect(expectedIssuerName(buf)).toBe(result.issuerName);
      expect(firstString(rec, 'notAfter')).toBe(dateToDb(new Date(x.validTo)));
      if (firstString(rec, 'issuerName') !== undefined) expect(firstString(rec, 'issuerName')).toBe(result.issuerName);

      // Serial 1 is the CA's own certificate.
      const caRec = (await c.search(`cn=1,${repo}`, { scope: 'base' })).searchEntries[0];
      expect(firstString(caRec, 'subjectName')).toBe(result.issuerName);
    });
  });
});

describe('record formats', () => {
  it('encodes serialno like Dogtag: two-digit decimal length, then the decimal serial', () => {
    expect(serialToDb(1n)).toBe('011');
    expect(serialToDb(16n)).toBe('0216');
    expect(serialToDb(12345n)).toBe('0512345');
    expect(serialToDb(12345678901n)).toBe('1112345678901');
    expect(serialFromDb('0512345')).toBe(12345n);
  });
  it('formats dates as yyyyMMddHHmmssZ', () => {
    expect(dateToDb(new Date('2024-01-31T12:00:00.123Z'))).toBe('20240131120000Z');
  });
  it('spreads records without issuerName evenly and exactly', () => {
    const picked = Array.from({ length: 10 }, (_, i) => lacksIssuerName(i, 0.3));
    expect(picked.filter(Boolean)).toHaveLength(3);
    expect(Array.from({ length: 1000 }, (_, i) => lacksIssuerName(i, 0.3)).filter(Boolean)).toHaveLength(300);
  });
  it('parses LDIF change records with placeholders', () => {
    const records = parseLdif('dn: cn=schema\nchangetype: modify\nadd: attributeTypes\nattributeTypes: ( x )\n-\n\ndn: ou=a,{rootSuffix}\nou: a\n', {
      rootSuffix: 'o=x',
    });
    expect(records).toEqual([
      { kind: 'modify', dn: 'cn=schema', modifications: [{ operation: 'add', type: 'attributeTypes', values: ['( x )'] }] },
      { kind: 'add', dn: 'ou=a,o=x', attributes: new Map([['ou', ['a']]]) },
    ]);
  });
});
