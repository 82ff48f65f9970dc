/**
 * What "the final database" means when the suite compares a database that went through crashes
 * with one upgraded in a single run: every entry of the suffix with all its user attributes
 * (operational attributes such as modifyTimestamp or entryUSN are not returned for '*'), the
 * server's schema (cn=schema is shared by every suffix of a server: compared between two servers
 * of our own), the backend's index configuration, and whether each index is actually built.
 *
 * Tracking records hold what differs by nature between two runs (times, durations, the server's
 * host:port): those values are replaced by placeholders, nothing else is.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Attribute, Change } from 'ldapts';
import type { DsInstance } from '../../harness/dirsrv';
import { withLdap } from '../../harness/test-env';
import { sleep } from '../../harness/wait';

const BINARY = ['userCertificate;binary', 'userCertificate', 'cACertificate;binary', 'certificateRevocationList;binary', 'authorityRevocationList;binary'];

/** Values that differ between any two runs; everything else must be equal. */
const RUN_SPECIFIC = new Set(['pkidbupgradestarttime', 'pkidbupgradeendtime', 'pkidbupgradeduration', 'pkidbupgradelastrun']);

export interface ExportOptions {
  /** Names of this server in the tracking records (host:port), replaced by SERVER. */
  serverIds?: string[];
  /** Put in place of the suffix in DNs, so two suffixes can be compared. */
  suffixAs?: string;
}

function canonicalValue(value: unknown): string {
  return Buffer.isBuffer(value) ? `base64:${value.toString('base64')}` : String(value);
}

/** Every entry under `suffix`, one canonical text block per entry, sorted by DN. */
export async function exportSuffix(ds: DsInstance, suffix: string, options: ExportOptions = {}): Promise<string> {
  const replaceServer = (text: string) => (options.serverIds ?? []).reduce((t, id) => t.split(id).join('SERVER'), text);
  const replaceSuffix = (dn: string) => (options.suffixAs ? dn.replace(new RegExp(`${escapeRegExp(suffix)}$`, 'i'), options.suffixAs) : dn);
  const entries = await withLdap(ds, async (c) => {
    const { searchEntries } = await c.search(suffix, {
      scope: 'sub',
      filter: '(|(objectClass=*)(objectClass=ldapSubEntry))',
      attributes: ['*'],
      explicitBufferAttributes: BINARY,
      paged: { pageSize: 1000 },
    });
    return searchEntries;
  });
  // The suffix entry names itself (o: <value>): that value is part of the suffix, not of the data.
  const [rdnAttribute, rdnValue] = suffix.split(',')[0].split('=');
  const renamed = options.suffixAs?.split(',')[0].split('=')[1];
  const blocks = entries.map((entry) => {
    const isSuffix = entry.dn.toLowerCase() === suffix.toLowerCase();
    const lines = [`dn: ${replaceServer(replaceSuffix(entry.dn.toLowerCase()))}`];
    const names = Object.keys(entry).filter((k) => k !== 'dn').sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
    for (const name of names) {
      const raw = entry[name];
      const values = (Array.isArray(raw) ? raw : [raw]).map(canonicalValue).sort();
      const lower = name.toLowerCase();
      for (const raw of values) {
        const value = isSuffix && renamed && lower === rdnAttribute.toLowerCase() && raw.toLowerCase() === rdnValue.toLowerCase() ? renamed : raw;
        const shown = RUN_SPECIFIC.has(lower) ? '<run-specific>' : replaceServer(value);
        lines.push(`${lower}: ${shown}`);
      }
    }
    return lines.join('\n');
  });
  return blocks.sort().join('\n\n') + '\n';
}

/** The object classes and attribute types of the server, sorted (order on the server is not stable). */
export async function exportSchema(ds: DsInstance): Promise<{ objectClasses: string[]; attributeTypes: string[] }> {
  return withLdap(ds, async (c) => {
    const { searchEntries } = await c.search('cn=schema', { scope: 'base', filter: '(objectClass=*)', attributes: ['objectClasses', 'attributeTypes'] });
    const e = searchEntries[0];
    const list = (v: unknown) => (Array.isArray(v) ? v : [v]).map(String).sort();
    return { objectClasses: list(e.objectClasses), attributeTypes: list(e.attributeTypes) };
  });
}

/** The backend's index entries (cn=index,cn=<backend>,...), canonical and sorted. */
export async function exportIndexes(ds: DsInstance, backend: string): Promise<string> {
  return exportSuffix(ds, `cn=index,cn=${backend},cn=ldbm database,cn=plugins,cn=config`, { suffixAs: 'cn=index,BACKEND' });
}

/**
 * The attributes among `attributes` whose equality index the server does not use for a search:
 * an index defined but never built (no index task) is "offline", and 389 DS answers such a search
 * unindexed (notes=U in the access log) instead of failing, so only the access log tells. Needs
 * an instance of our own with access log buffering off (see unbufferAccessLog).
 */
export async function unindexedAttributes(ds: DsInstance, base: string, attributes: readonly string[]): Promise<string[]> {
  const token = randomBytes(4).toString('hex');
  await withLdap(ds, async (c) => {
    for (const attribute of attributes) {
      await c.search(base, { scope: 'one', filter: `(${attribute}=probe-${token}-${attribute})`, attributes: ['1.1'] });
    }
  });
  const found = new Map<string, string>(); // attribute -> "conn op"
  const results = new Map<string, string>(); // "conn op" -> RESULT line
  for (let attempt = 0; attempt < 50; attempt++) {
    const log = fs.readFileSync(ds.accessLog, 'utf8');
    for (const line of log.split('\n')) {
      const srch = / conn=(\d+) op=(\d+) SRCH .*filter="\(([^=]+)=probe-([0-9a-f]+)-/.exec(line);
      if (srch && srch[4] === token) found.set(srch[3].toLowerCase(), `${srch[1]} ${srch[2]}`);
      const result = / conn=(\d+) op=(\d+) RESULT /.exec(line);
      if (result) results.set(`${result[1]} ${result[2]}`, line);
    }
    if (attributes.every((a) => results.has(found.get(a.toLowerCase()) ?? '-'))) {
      return attributes.filter((a) => / notes=[^ ]*[UA]/.test(results.get(found.get(a.toLowerCase())!)!));
    }
    await sleep(100);
  }
  throw new Error(`the access log ${ds.accessLog} does not show the probe searches (is access log buffering off?)`);
}

/** Access log lines are written at once (tests read it to see what the server did, and when). */
export async function unbufferAccessLog(ds: DsInstance): Promise<void> {
  await withLdap(ds, (c) =>
    c.modify('cn=config', [new Change({ operation: 'replace', modification: new Attribute({ type: 'nsslapd-accesslog-logbuffering', values: ['off'] }) })]),
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Everything a write to this database would change, operational attributes included
 * (modifyTimestamp, entryUSN, numSubordinates), and the backend's index configuration. Unlike
 * test/support/directory-snapshot.ts it leaves cn=schema out: on the shared server other test files
 * change the schema at any time. Equal snapshots: nothing was written to the database.
 */
export async function writeSnapshot(ds: DsInstance, suffix: string, backend: string): Promise<string> {
  const entries = await withLdap(ds, async (c) => {
    const { searchEntries } = await c.search(suffix, {
      scope: 'sub',
      filter: '(|(objectClass=*)(objectClass=ldapSubEntry))',
      attributes: ['*', '+'],
      explicitBufferAttributes: BINARY,
      paged: { pageSize: 1000 },
    });
    return searchEntries;
  });
  const text = entries
    .map((entry) =>
      Object.keys(entry)
        .sort()
        .map((k) => `${k}: ${(Array.isArray(entry[k]) ? (entry[k] as unknown[]) : [entry[k]]).map(canonicalValue).sort().join(' | ')}`)
        .join('\n'),
    )
    .sort()
    .join('\n\n');
  return `${text}\n----\n${await exportIndexes(ds, backend)}`;
}
