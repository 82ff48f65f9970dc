/**
 * The shipped upgrades bring the database of each subsystem, as Dogtag 10.5.0 created it, to what
 * Dogtag 11.10.1 creates: on a 389 DS of its own whose schema and settings are 10.5.0's, one PKI
 * instance with a CA, KRA, OCSP, TKS and TPS is upgraded in instance mode, and each database is
 * compared with the same subsystem loaded from 11.10.1's files: the schema, the backend's indexes
 * and VLV searches, and every replicated entry, attribute by attribute. What still differs is the
 * list of docs/dogtag-databases.md, "What the upgrade leaves different", and nothing else.
 */
import { Attribute, Change, Client } from 'ldapts';
import { CertificateAuthority, DistinguishedName } from './harness/certificates';
import { backendDN, removeInstance, type DsInstance } from './harness/dirsrv';
import { loadReleaseDatabase, loadReleaseServerSettings, RELEASE_SUBSYSTEMS, type ReleaseDatabase, type ReleaseSubsystem } from './harness/dogtag-release';
import { allStrings, firstString } from './harness/ldap';
import { loadPkiSchema, pkiSchemaDefinitions } from './harness/pki-database';
import { ownInstance, withLdap } from './harness/test-env';
import { tool } from './support/cluster';
import { addSubsystem, createFakePki, passwordFromConfigFile, removeFakePkis, type FakePki } from './support/fake-pki';
import { runStep } from './support/step-context';
import { MIN_MAX_BER_SIZE } from '../src/pki/server-settings';
import directoryServerSettings from '../upgrades/11.10.1/04-DirectoryServerSettings';
import { parseDefinition, sameDefinition, type SchemaDefinition } from '../src/apply/schema-definition';

const INSTANCE = 'pki-tomcat';
const CA_NAME = new DistinguishedName([['CN', 'CA Signing Certificate'], ['OU', INSTANCE], ['O', 'EXAMPLE']]);
/** As the tool reads it from ca.signing.cert, and as pkispawn fills in {caIssuerDN}. */
const CA_ISSUER_DN = 'CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE';

const database = (release: string, subsystem: ReleaseSubsystem): ReleaseDatabase => {
  const tag = release === '10.5.0' ? 'old' : 'new';
  return { release, subsystem, suffix: `o=${tag}-${subsystem},o=releases`, backendName: `${tag}${subsystem}`, instanceId: INSTANCE, caIssuerDN: CA_ISSUER_DN };
};
const upgraded = (s: ReleaseSubsystem) => database('10.5.0', s);
const reference = (s: ReleaseSubsystem) => database('11.10.1', s);

/**
 * What 10.5.0 created and 11.10.1 no longer does, left in place by the upgrade (entries relative
 * to the suffix): the serial-number range containers, which a running CA or KRA fills with the
 * ranges its clones hold; removing them would lose those ranges.
 */
const KEPT_FROM_10_5_0: Partial<Record<ReleaseSubsystem, string[]>> = {
  ca: ['ou=certificaterepository,ou=ranges', 'ou=requests,ou=ranges'],
  kra: ['ou=keyrepository,ou=ranges', 'ou=requests,ou=ranges'],
};

let ds: DsInstance;
let pki: FakePki;

beforeAll(async () => {
  ds = await ownInstance('releases', 38);
  // 10.5.0's server: its schema (with the authority and certProfile additions it shipped) and settings.
  await loadPkiSchema(ds, { release: '10.5.0', includeLaterAdditions: true });
  await loadReleaseServerSettings(ds, '10.5.0');
  for (const s of RELEASE_SUBSYSTEMS) {
    await loadReleaseDatabase(ds, upgraded(s));
    await loadReleaseDatabase(ds, reference(s));
  }
  const ca = new CertificateAuthority({ name: CA_NAME });
  const cs = (s: ReleaseSubsystem) => ({ port: ds.port, subsystem: s, baseDN: upgraded(s).suffix, database: upgraded(s).backendName, instanceId: INSTANCE, caSigningCert: s === 'ca' ? ca.certificate : undefined });
  pki = createFakePki(cs('ca'), INSTANCE);
  for (const s of RELEASE_SUBSYSTEMS.filter((s) => s !== 'ca')) addSubsystem(pki, s, cs(s));
  passwordFromConfigFile(pki, ds);
}, 180_000);

afterAll(async () => {
  removeFakePkis();
  if (ds) await removeInstance(ds);
});

// ---------------------------------------------------------------------------------------------
// What is compared, with the suffix and backend names taken out

type Attributes = Record<string, string[]>;
type Entries = Record<string, Attributes>;

/** A DN relative to `base`, lower-cased, without spaces after separators; undefined outside it. */
function relative(dn: string, base: string): string | undefined {
  const norm = (d: string) => d.toLowerCase().replace(/\s*([,=])\s*/g, '$1');
  const [d, b] = [norm(dn), norm(base)];
  if (d === b) return '';
  return d.endsWith(`,${b}`) ? d.slice(0, -b.length - 1) : undefined;
}

function attributesOf(entry: Record<string, unknown>, names: string[] | undefined, rewrite: (v: string) => string): Attributes {
  const out: Attributes = {};
  for (const key of Object.keys(entry)) {
    const name = key.toLowerCase();
    const values = allStrings(entry, key);
    if (name === 'dn' || values.length === 0 || (names && !names.includes(name))) continue;
    out[name] = values.map(rewrite).sort();
  }
  return out;
}

/**
 * Every entry of the database but its top entry (made by the harness, not by Dogtag) and the tool's
 * own history (cn=dbUpgrade), user attributes only.
 */
async function replicatedEntries(db: ReleaseDatabase): Promise<Entries> {
  return withLdap(ds, async (c: Client) => {
    const { searchEntries } = await c.search(db.suffix, { scope: 'sub', filter: '(objectClass=*)', attributes: ['*'] });
    const out: Entries = {};
    for (const e of searchEntries) {
      const rdn = relative(e.dn, db.suffix)!;
      if (rdn === '' || rdn === 'cn=dbupgrade' || rdn.endsWith(',cn=dbupgrade')) continue;
      // objectClass names and the like compare without case, as the server does.
      out[rdn] = attributesOf(e, undefined, (v) => v.replaceAll(db.suffix, '{rootSuffix}'));
      out[rdn].objectclass = out[rdn].objectclass.map((v) => v.toLowerCase()).sort();
    }
    return out;
  });
}

const CONFIG_ATTRIBUTES = ['objectclass', 'cn', 'nsindextype', 'nsmatchingrule', 'nssystemindex', 'vlvbase', 'vlvscope', 'vlvfilter', 'vlvsort'];

/** The backend's indexes and VLV searches in cn=config. */
async function backendConfig(db: ReleaseDatabase): Promise<Entries> {
  const base = backendDN(db.backendName);
  return withLdap(ds, async (c: Client) => {
    const { searchEntries } = await c.search(base, { scope: 'sub', filter: '(|(objectClass=nsIndex)(objectClass=vlvSearch)(objectClass=vlvIndex))', attributes: CONFIG_ATTRIBUTES });
    const out: Entries = {};
    for (const e of searchEntries) out[relative(e.dn, base)!] = attributesOf(e, CONFIG_ATTRIBUTES, (v) => v.replaceAll(db.suffix, '{rootSuffix}').toLowerCase());
    return out;
  });
}

interface Difference {
  onlyUpgraded: string[];
  onlyReference: string[];
  differing: { dn: string; upgraded: Attributes; reference: Attributes }[];
}

function compare(a: Entries, b: Entries): Difference {
  const same = (x: Attributes, y: Attributes) => JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
  return {
    onlyUpgraded: Object.keys(a).filter((dn) => !(dn in b)).sort(),
    onlyReference: Object.keys(b).filter((dn) => !(dn in a)).sort(),
    differing: Object.keys(a)
      .filter((dn) => dn in b && !same(a[dn], b[dn]))
      .map((dn) => ({ dn, upgraded: a[dn], reference: b[dn] })),
  };
}

/** The PKI definitions cn=schema holds, by NAME, as the tool's parser reads them. */
async function serverSchema(): Promise<Map<string, SchemaDefinition>> {
  const entry = await withLdap(ds, async (c: Client) => (await c.search('cn=schema', { scope: 'base', attributes: ['attributeTypes', 'objectClasses'] })).searchEntries[0]);
  const out = new Map<string, SchemaDefinition>();
  for (const type of ['attributeTypes', 'objectClasses'] as const) {
    for (const def of allStrings(entry, type)) {
      const parsed = parseDefinition(def);
      for (const name of parsed.names) out.set(`${type}:${name.toLowerCase()}`, parsed);
    }
  }
  return out;
}

/** cn=config's nsslapd-maxbersize on the test's server. */
const maxBerSize = () => withLdap(ds, async (c: Client) => firstString((await c.search('cn=config', { scope: 'base', attributes: ['nsslapd-maxbersize'] })).searchEntries[0], 'nsslapd-maxbersize'));

async function everything(): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const s of RELEASE_SUBSYSTEMS) out[s] = { entries: await replicatedEntries(upgraded(s)), config: await backendConfig(upgraded(s)) };
  out.schema = [...(await serverSchema()).entries()].map(([name, d]) => [name, d.oid, [...d.fields.entries()]]);
  out.server = await maxBerSize();
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('a PKI instance created by Dogtag 10.5.0 (CA, KRA, OCSP, TKS, TPS)', () => {
  it('before the upgrade, differs from what 11.10.1 creates (the comparison sees the changes)', async () => {
    expect((await backendConfig(upgraded('ca')))['cn=allrevokedcertsbyissuer-pki-tomcat']).toBeUndefined();
    expect(compare(await replicatedEntries(upgraded('tps')), await replicatedEntries(reference('tps'))).onlyReference).toEqual(['cn=auditors,ou=groups']);
    expect(compare(await replicatedEntries(upgraded('ca')), await replicatedEntries(reference('ca'))).differing.map((d) => d.dn)).toEqual(['cn=aclresources']);
  });

  it('is upgraded in instance mode, every database of it', async () => {
    const r = await tool(['run', '--root', pki.root]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('upgraded from (untracked) to 11.10.1') });
    for (const s of RELEASE_SUBSYSTEMS) expect(r.stderr).toContain(`${s}: database ${upgraded(s).suffix}`);
  }, 180_000);

  it.each(RELEASE_SUBSYSTEMS)('%s: its entries are those 11.10.1 creates, attribute by attribute, but the range containers it keeps', async (s) => {
    const diff = compare(await replicatedEntries(upgraded(s)), await replicatedEntries(reference(s)));
    expect(diff).toEqual({ onlyUpgraded: KEPT_FROM_10_5_0[s] ?? [], onlyReference: [], differing: [] });
  });

  it.each(RELEASE_SUBSYSTEMS)('%s: its backend has the indexes and VLV searches 11.10.1 defines', async (s) => {
    const config = await backendConfig(upgraded(s));
    expect(compare(config, await backendConfig(reference(s)))).toEqual({ onlyUpgraded: [], onlyReference: [], differing: [] });
    if (s === 'ca') {
      expect(config['cn=allrevokedcertsbyissuer-pki-tomcat'].vlvfilter).toEqual([`(&(certstatus=revoked)(|(!(issuername=*))(issuername=${CA_ISSUER_DN.toLowerCase()})))`]);
    }
  });

  it('the schema is 11.10.1\'s, but for the one intended difference: certificateRecord requires issuerName', async () => {
    const onServer = await serverSchema();
    const wanted = await pkiSchemaDefinitions({ release: '11.10.1', includeLaterAdditions: true });
    const differing: string[] = [];
    for (const { type, name, def } of wanted) {
      const have = onServer.get(`${type}:${name}`);
      if (!have) differing.push(`${type}:${name} missing`);
      else if (!sameDefinition(have, parseDefinition(def))) differing.push(`${type}:${name}`);
    }
    expect(differing).toEqual(['objectClasses:certificaterecord']);
    const record = onServer.get('objectClasses:certificaterecord')!;
    expect(record.fields.get('MUST')!.map((a) => a.toLowerCase()).sort()).toEqual(['cn', 'issuername']);
  });

  it('389 DS is set as server/config.ldif of 11.10.1 sets it', async () => {
    await withLdap(ds, async (c: Client) => {
      expect(await maxBerSize()).toBe('209715200');
      expect((await c.search('ou=csusers,cn=config', { scope: 'base' })).searchEntries).toHaveLength(1);
      expect(firstString((await c.search('cn=USN,cn=plugins,cn=config', { scope: 'base', attributes: ['nsslapd-pluginEnabled'] })).searchEntries[0], 'nsslapd-pluginEnabled')).toBe('on');
    });
  });

  it('a larger nsslapd-maxbersize is never lowered (the step run again by itself)', async () => {
    const setMaxBerSize = (value: string) => withLdap(ds, (c: Client) => c.modify('cn=config', new Change({ operation: 'replace', modification: new Attribute({ type: 'nsslapd-maxbersize', values: [value] }) })));
    await setMaxBerSize('524288000');
    try {
      const t = await runStep(ds, directoryServerSettings, { suffix: upgraded('ca').suffix, backend: upgraded('ca').backendName });
      expect(t.lines).toEqual([]);
      expect(await maxBerSize()).toBe('524288000');
    } finally {
      await setMaxBerSize(String(MIN_MAX_BER_SIZE));
    }
  });

  it('a second run finds nothing to do and changes nothing', async () => {
    const before = await everything();
    const r = await tool(['run', '--root', pki.root]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/upgraded from/);
    expect(await everything()).toEqual(before);
  }, 120_000);
});
