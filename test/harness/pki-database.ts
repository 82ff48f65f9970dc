/**
 * Loads a Dogtag-style CA database into a harness instance: the PKI schema, the CA subtree from
 * ca/create.ldif, and N certificate records with real DER certificates.
 *
 * The database deliberately looks like one made by an older release, because that is what the
 * upgrade tool meets in the field:
 *  - schema: server/schema.ldif WITHOUT the lightweight-CA (authority) and certProfile definitions,
 *    which upgrade steps add;
 *  - no CA indexes or VLV searches (upgrade steps add those too);
 *  - a fraction of the certificate records lack issuerName (written before Dogtag stored it), to be
 *    backfilled from userCertificate;binary.
 *
 * Record format follows Dogtag's mappers (com.netscape.cmscore.dbs):
 *  - serialno (BigIntegerMapper.BigIntegerToDB): the DECIMAL serial prefixed by its number of
 *    digits as two decimal digits, so that string order equals numeric order:
 *    1 -> "011", 16 -> "0216", 12345 -> "0512345". (Not hex.)
 *  - dates (DateMapper): "yyyyMMddHHmmssZ" in UTC, e.g. "20240131120000Z".
 *  - metaInfo (MetaInfoMapper): "key:value" values, e.g. "requestId:17", "profileId:caUserCert".
 *  - cn = serial in decimal; DN cn=<serial>,ou=certificateRepository,ou=ca,<suffix>.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { CertificateAuthority, GeneratedCertificate } from './certificates';
import { DsInstance, createBackend, describeInstance } from './dirsrv';
import { RESULT, allStrings, connect, resultCode, withClient } from './ldap';
import { LdifAdd, LdifModify, LdifValue, parseLdif } from './ldif';

export const INSTANCE_ID = 'pki-tomcat';

// ---------------------------------------------------------------------------------------------
// Fixture files

/**
 * The Dogtag fixture directory: $PKI_FIXTURES_DIR, else the copy next to this file (also found from
 * the esbuild bundle in dist/), else the shared original.
 */
export function fixturesDir(): string {
  const candidates = [
    process.env.PKI_FIXTURES_DIR,
    path.resolve(__dirname, 'fixtures/dogtag'),
    path.resolve(__dirname, '../test/harness/fixtures/dogtag'),
    path.resolve(process.cwd(), 'test/harness/fixtures/dogtag'),
    '/work/shared/fixtures/dogtag',
  ].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(path.join(c, 'server/schema.ldif')));
  if (!found) throw new Error(`Dogtag fixtures not found (looked in ${candidates.join(', ')}); set PKI_FIXTURES_DIR`);
  return found;
}

export async function readFixture(rel: string): Promise<string> {
  return fsp.readFile(path.join(fixturesDir(), rel), 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Schema

/** NAME of a schema definition, lower-cased: "( x-oid NAME 'issuerName' ...)" -> "issuername". */
export function definitionName(def: string): string | undefined {
  return /NAME\s+\(?\s*'([^']+)'/i.exec(def)?.[1].toLowerCase();
}

function definitionsOf(records: ReturnType<typeof parseLdif>): { type: 'attributeTypes' | 'objectClasses'; def: string }[] {
  const out: { type: 'attributeTypes' | 'objectClasses'; def: string }[] = [];
  for (const r of records) {
    const pairs: [string, LdifValue[]][] =
      r.kind === 'add' ? [...r.attributes] : r.modifications.filter((m) => m.operation === 'add').map((m) => [m.type, m.values]);
    for (const [type, values] of pairs) {
      const t = type.toLowerCase();
      if (t !== 'attributetypes' && t !== 'objectclasses') continue;
      for (const v of values) out.push({ type: t === 'attributetypes' ? 'attributeTypes' : 'objectClasses', def: String(v) });
    }
  }
  return out;
}

export interface SchemaOptions {
  /**
   * Also load the definitions of schema-authority.ldif and schema-certProfile.ldif (a database of
   * the current release). Default false: an old database, which the upgrade steps complete.
   */
  includeLaterAdditions?: boolean;
  /** The schema of this Dogtag release (releases/<release>/server), not the current one. */
  release?: string;
}

/**
 * Adds the PKI schema to cn=schema. Idempotent: definitions the server already has (by NAME) are
 * skipped, duplicates inside schema.ldif are sent once, and "already exists" (20) is ignored.
 * cn=schema replicates, but apply it on every supplier anyway: schema is pushed only with the next
 * replication session, and tests should not depend on that timing.
 * Schema is server-wide: on the shared standalone instance another test may already have upgraded
 * it (added authority, certProfile). A test that needs a truly old schema needs its own instance.
 * Returns the number of definitions added.
 */
export async function loadPkiSchema(ds: DsInstance, opts: SchemaOptions = {}): Promise<number> {
  const wanted = await pkiSchemaDefinitions(opts);
  try {
    return await withClient(ds, async (c) => {
      const present = await schemaNames(c);
      const toAdd = { attributeTypes: [] as string[], objectClasses: [] as string[] };
      for (const { type, name, def } of wanted) if (!present.has(`${type}:${name}`)) toAdd[type].push(def);
      // Attribute types first: object classes refer to them.
      for (const type of ['attributeTypes', 'objectClasses'] as const) {
        if (toAdd[type].length === 0) continue;
        try {
          await c.modify('cn=schema', new Change({ operation: 'add', modification: new Attribute({ type, values: toAdd[type] }) }));
        } catch (err) {
          if (resultCode(err) !== RESULT.typeOrValueExists) throw err;
          // Some value exists under another NAME spelling: fall back to one at a time.
          for (const def of toAdd[type]) {
            await c
              .modify('cn=schema', new Change({ operation: 'add', modification: new Attribute({ type, values: [def] }) }))
              .catch((e) => {
                if (resultCode(e) !== RESULT.typeOrValueExists) throw e;
              });
          }
        }
      }
      await relaxCertificateRecord(c, wanted);
      return toAdd.attributeTypes.length + toAdd.objectClasses.length;
    });
  } catch (err) {
    throw new Error(`loading the PKI schema failed: ${(err as Error).message}\n${describeInstance(ds)}`);
  }
}

/**
 * Adds a certificate record. cn=schema is shared by every suffix of a server, and a full upgrade
 * running meanwhile in another test (11.6.0/02-RequireIssuerName) may have made certificateRecord
 * require issuerName: then put the old definition back and try again.
 */
async function addRecord(client: Client, dn: string, attributes: Attribute[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.add(dn, attributes);
      return;
    } catch (err) {
      if (resultCode(err) !== RESULT.objectClassViolation || attempt >= 3) throw err;
      await relaxCertificateRecord(client, await pkiSchemaDefinitions());
    }
  }
}

/**
 * cn=schema is shared by every suffix of a server. The full upgrade (11.6.0/02-RequireIssuerName)
 * makes certificateRecord require issuerName; an old database must accept records without it, as
 * the releases it imitates did, so put back the fixture's definition when a run tightened it.
 */
async function relaxCertificateRecord(c: Client, wanted: { type: string; def: string }[]): Promise<void> {
  const original = wanted.find((w) => w.type === 'objectClasses' && definitionName(w.def) === 'certificaterecord')?.def;
  if (!original) return;
  const { searchEntries } = await c.search('cn=schema', { scope: 'base', attributes: ['objectClasses'] });
  const current = allStrings(searchEntries[0], 'objectClasses').find((d) => definitionName(d) === 'certificaterecord');
  if (!current || !/\bMUST\s*\([^)]*\bissuerName\b/i.test(current)) return;
  await c
    .modify('cn=schema', [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'objectClasses', values: [current] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'objectClasses', values: [original] }) }),
    ])
    .catch((err) => {
      // Another worker relaxed it at the same moment.
      if (resultCode(err) !== RESULT.noSuchAttribute && resultCode(err) !== RESULT.typeOrValueExists) throw err;
    });
}

export interface SchemaDefinition {
  type: 'attributeTypes' | 'objectClasses';
  /** NAME, lower-cased */
  name: string;
  def: string;
}

/**
 * The definitions loadPkiSchema applies: server/schema.ldif, each NAME once, minus (by default) the
 * ones schema-authority.ldif and schema-certProfile.ldif add.
 */
export async function pkiSchemaDefinitions(opts: SchemaOptions = {}): Promise<SchemaDefinition[]> {
  const server = opts.release ? `releases/${opts.release}/server` : 'server';
  const later = new Set<string>();
  if (!opts.includeLaterAdditions) {
    for (const f of [`${server}/schema-authority.ldif`, `${server}/schema-certProfile.ldif`]) {
      for (const d of definitionsOf(parseLdif(await readFixture(f)))) later.add(`${d.type}:${definitionName(d.def)}`);
    }
  }
  const seen = new Set<string>();
  const out: SchemaDefinition[] = [];
  for (const { type, def } of definitionsOf(parseLdif(await readFixture(`${server}/schema.ldif`)))) {
    const name = definitionName(def);
    const key = `${type}:${name}`;
    if (!name || seen.has(key) || later.has(key)) continue;
    seen.add(key);
    out.push({ type, name, def });
  }
  return out;
}

async function schemaNames(c: Client): Promise<Set<string>> {
  const { searchEntries } = await c.search('cn=schema', { scope: 'base', attributes: ['attributeTypes', 'objectClasses'] });
  const names = new Set<string>();
  for (const type of ['attributeTypes', 'objectClasses'] as const) {
    for (const def of allStrings(searchEntries[0], type)) {
      const n = definitionName(def);
      if (n) names.add(`${type}:${n}`);
    }
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Records

/** Dogtag's serialno encoding (BigIntegerMapper.BigIntegerToDB). */
export function serialToDb(serial: bigint): string {
  const dec = serial.toString(10);
  return (dec.length < 10 ? '0' : '') + String(dec.length) + dec;
}

export function serialFromDb(value: string): bigint {
  return BigInt(value.slice(2));
}

/** Dogtag's date encoding (DateMapper): yyyyMMddHHmmss'Z', UTC here. */
export function dateToDb(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function certRecordDN(suffix: string, serial: bigint): string {
  return `cn=${serial.toString(10)},ou=certificateRepository,ou=ca,${suffix}`;
}

/** The attributes Dogtag writes for a certificate record (CertRecord + X509CertImplMapper). */
export function certRecordAttributes(cert: GeneratedCertificate, opts: { withIssuerName: boolean; created: Date }): Attribute[] {
  const attrs: Record<string, string[]> = {
    objectClass: ['top', 'certificateRecord'],
    cn: [cert.serial.toString(10)],
    serialno: [serialToDb(cert.serial)],
    certStatus: ['VALID'],
    autoRenew: ['ENABLED'],
    subjectName: [cert.subject.ldapString()],
    notBefore: [dateToDb(cert.notBefore)],
    notAfter: [dateToDb(cert.notAfter)],
    duration: [String(Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / 1000))],
    version: ['2'],
    algorithmId: ['1.3.101.112'],
    signingAlgorithmId: ['1.3.101.112'],
    dateOfCreate: [dateToDb(opts.created)],
    dateOfModify: [dateToDb(opts.created)],
    issuedBy: ['caadmin'],
    metaInfo: [`requestId:${cert.serial.toString(10)}`, 'profileId:caUserCert'],
  };
  if (opts.withIssuerName) attrs.issuerName = [cert.issuer.ldapString()];
  return [
    ...Object.entries(attrs).map(([type, values]) => new Attribute({ type, values })),
    new Attribute({ type: 'userCertificate;binary', values: [cert.der] }),
  ];
}

/**
 * Evenly spread, deterministic choice of the records that lack issuerName: record i (0-based)
 * lacks it when floor((i+1)*ratio) > floor(i*ratio), so exactly floor(n*ratio) of n records do.
 */
export function lacksIssuerName(index: number, ratio: number): boolean {
  return Math.floor((index + 1) * ratio) > Math.floor(index * ratio);
}

// ---------------------------------------------------------------------------------------------
// Whole database

export interface LoadOptions {
  suffix: string;
  backendName: string;
  /** Number of certificate records, including the CA's own certificate (serial 1). */
  certificates: number;
  /** Fraction (0..1) of records written without issuerName, as by older releases. Default 0.3. */
  withoutIssuerNameRatio?: number;
  /** Load the schema first (default true). */
  schema?: boolean;
  /** Outstanding add operations on the one connection (default 12). */
  inFlight?: number;
  ca?: CertificateAuthority;
  /** dateOfCreate/dateOfModify of the records (default now): two loads with the same `ca` and date are identical. */
  created?: Date;
  /** Progress callback every 1,000 records (CLI). */
  onProgress?: (done: number, total: number) => void;
}

export interface LoadResult {
  suffix: string;
  ca: CertificateAuthority;
  certificates: number;
  /** Serials (decimal strings) of the records written without issuerName. */
  withoutIssuerName: string[];
  /** The issuerName every record should carry (all are issued by `ca`). */
  issuerName: string;
  elapsedMs: number;
}

/**
 * Creates the suffix (harmless if it exists, e.g. a replicated suffix), applies the schema, loads
 * ca/create.ldif and `certificates` records. For a replicated suffix, load into one supplier and
 * wait for convergence.
 */
export async function loadPkiDatabase(ds: DsInstance, opts: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const ratio = opts.withoutIssuerNameRatio ?? 0.3;
  if (ratio < 0 || ratio > 1) throw new Error(`withoutIssuerNameRatio must be within 0..1, got ${ratio}`);
  const ca = opts.ca ?? new CertificateAuthority();
  await createBackend(ds, opts.suffix, opts.backendName);
  if (opts.schema !== false) await loadPkiSchema(ds);

  const client = await connect(ds.url, ds.rootDN, ds.rootPassword, 120_000);
  const withoutIssuerName: string[] = [];
  try {
    await applyLdif(client, await readFixture('ca/create.ldif'), {
      rootSuffix: opts.suffix,
      database: opts.backendName,
      instanceId: INSTANCE_ID,
    });
    const created = opts.created ?? new Date();
    let next = 0;
    const total = opts.certificates;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const serial = BigInt(i + 1);
        const cert: GeneratedCertificate = serial === 1n ? ca.ownCertificate() : ca.issue(serial);
        const withIssuerName = !lacksIssuerName(i, ratio);
        if (!withIssuerName) withoutIssuerName.push(serial.toString(10));
        await addRecord(client, certRecordDN(opts.suffix, serial), certRecordAttributes(cert, { withIssuerName, created }));
        if (opts.onProgress && (i + 1) % 1000 === 0) opts.onProgress(i + 1, total);
      }
    };
    // Several adds in flight on one connection keep the server busy while the client builds and
    // sends more. Measured on 2 cores, 10,000 records: 1 -> 1,650/s, 8-16 -> 1,700-1,750/s, but
    // 4 -> 620/s (reproducibly; a server-side effect), hence the default of 12.
    await Promise.all(Array.from({ length: Math.max(1, opts.inFlight ?? 12) }, worker));
  } catch (err) {
    throw new Error(`loading the PKI database into ${opts.suffix} failed: ${(err as Error).message}\n${describeInstance(ds)}`);
  } finally {
    await client.unbind().catch(() => undefined);
  }
  withoutIssuerName.sort((x, y) => Number(BigInt(x) - BigInt(y)));
  return {
    suffix: opts.suffix,
    ca,
    certificates: opts.certificates,
    withoutIssuerName,
    issuerName: ca.name.ldapString(),
    elapsedMs: Date.now() - started,
  };
}

/**
 * Applies LDIF text with placeholders. Adds that already exist are skipped, so loading twice is
 * harmless. Attributes with only empty values (create.ldif's cn=crossCerts carries empty
 * `cACertificate;binary:` lines) are left out: LDAP does not allow adding empty values and Dogtag
 * fills them later.
 */
export async function applyLdif(client: Client, text: string, substitutions: Record<string, string>): Promise<void> {
  for (const record of parseLdif(text, substitutions)) {
    if (record.kind === 'add') await applyAdd(client, record);
    else await applyModify(client, record);
  }
}

async function applyAdd(client: Client, record: LdifAdd): Promise<void> {
  const attributes: Attribute[] = [];
  for (const [type, values] of record.attributes) {
    const nonEmpty = values.filter((v) => v.length > 0);
    if (nonEmpty.length === 0) continue;
    attributes.push(
      new Attribute({ type, values: nonEmpty.every(Buffer.isBuffer) ? (nonEmpty as Buffer[]) : nonEmpty.map(String) }),
    );
  }
  try {
    await client.add(record.dn, attributes);
  } catch (err) {
    if (resultCode(err) !== RESULT.alreadyExists) throw new Error(`add ${record.dn}: ${(err as Error).message}`);
  }
}

async function applyModify(client: Client, record: LdifModify): Promise<void> {
  const changes = record.modifications.map(
    (m) =>
      new Change({
        operation: m.operation,
        modification: new Attribute({ type: m.type, values: m.values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)) }),
      }),
  );
  try {
    await client.modify(record.dn, changes);
  } catch (err) {
    if (resultCode(err) !== RESULT.typeOrValueExists) throw new Error(`modify ${record.dn}: ${(err as Error).message}`);
  }
}
