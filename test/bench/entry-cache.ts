/**
 * The entry and DN caches of the bench's backends (make bench-scale, PKI_BENCH_SCALE_ENTRY_CACHE):
 *  - `auto`: as 389 DS sizes them by itself (nsslapd-cache-autosize: 25, its default and Red Hat's
 *    recommendation): at 1,000,000 records the entry cache holds about a third of them;
 *  - `fit`: each backend's caches sized to hold all its entries while it is measured, as the same
 *    documentation says the highest performance needs ("all cache sizes must be able to store all
 *    of their records", Red Hat Directory Server 11, Performance Tuning Guide, chapter 6). Sized
 *    from what a sample of the copy's own entries takes in the cache.
 */
import type { LdapSession } from '../../src/core/directory';

export type EntryCacheMode = 'auto' | 'fit';

export function entryCacheModeFromEnvironment(): EntryCacheMode {
  const value = process.env.PKI_BENCH_SCALE_ENTRY_CACHE ?? 'auto';
  if (value !== 'auto' && value !== 'fit') throw new Error(`PKI_BENCH_SCALE_ENTRY_CACHE must be auto or fit; got "${value}"`);
  return value;
}

const LDBM = 'cn=ldbm database,cn=plugins,cn=config';

/** What cn=monitor of a backend says of its caches. */
export interface CacheFigures {
  entries: number;
  entryBytes: number;
  /** Percent, since the server started. */
  entryHitRatio: number;
  dns: number;
  dnBytes: number;
}

export async function cacheFigures(session: LdapSession, backend: string): Promise<CacheFigures> {
  const m = await session.read(`cn=monitor,cn=${backend},${LDBM}`, [
    'currentEntryCacheCount',
    'currentEntryCacheSize',
    'entryCacheHitRatio',
    'currentDnCacheCount',
    'currentDnCacheSize',
  ]);
  if (!m) throw new Error(`no cn=monitor for backend ${backend}`);
  const n = (name: string) => Number(m.first(name) ?? NaN);
  return {
    entries: n('currentEntryCacheCount'),
    entryBytes: n('currentEntryCacheSize'),
    entryHitRatio: n('entryCacheHitRatio'),
    dns: n('currentDnCacheCount'),
    dnBytes: n('currentDnCacheSize'),
  };
}

/** What one entry of this backend takes in the entry cache and in the DN cache, from a sample of them read. */
export interface EntrySize {
  entryBytes: number;
  dnBytes: number;
}

/**
 * Reads `sample` entries under `base` (into the caches) and divides what the caches then hold. The
 * stream is left after them: 389 DS applies no size limit to a paged search.
 */
export async function sampledEntrySize(session: LdapSession, backend: string, base: string, sample = 2000): Promise<EntrySize> {
  let read = 0;
  for await (const _ of session.searchStream(base, { scope: 'sub', filter: '(objectClass=*)', attributes: ['*', '+'], pageSize: 500 })) {
    if (++read >= sample) break;
  }
  const f = await cacheFigures(session, backend);
  if (!(f.entries > 0) || !(f.dns > 0)) throw new Error(`the caches of backend ${backend} hold nothing after reading ${sample} entries`);
  return { entryBytes: f.entryBytes / f.entries, dnBytes: f.dnBytes / f.dns };
}

/** Caches that hold `entries` entries of that size, with a fifth more for the copies 389 DS makes while it writes. */
export function fittingSizes(entries: number, size: EntrySize): { entryCacheBytes: number; dnCacheBytes: number } {
  const room = (bytes: number) => Math.ceil(bytes * entries * 1.2 + 64 * 2 ** 20);
  return { entryCacheBytes: room(size.entryBytes), dnCacheBytes: room(size.dnBytes) };
}

/**
 * Turns 389 DS's own sizing off and gives the backends the cache sizes asked for. 389 DS refuses
 * a backend's size while it sizes the caches itself; it takes them online once autosize is 0.
 */
export async function setCaches(session: LdapSession, sizes: { backend: string; entryCacheBytes: number; dnCacheBytes: number }[]): Promise<void> {
  await session.modify(`cn=config,${LDBM}`, [{ operation: 'replace', attribute: 'nsslapd-cache-autosize', values: ['0'] }]);
  await keepDatabaseCache(session);
  for (const s of sizes) {
    await session.modify(`cn=${s.backend},${LDBM}`, [
      { operation: 'replace', attribute: 'nsslapd-cachememsize', values: [String(s.entryCacheBytes)] },
      { operation: 'replace', attribute: 'nsslapd-dncachememsize', values: [String(s.dnCacheBytes)] },
    ]);
  }
}

/** The database cache as 389 DS sized it, so that it stays so once autosize is off (after a restart). */
async function keepDatabaseCache(session: LdapSession): Promise<void> {
  const config = await session.read(`cn=config,${LDBM}`, ['nsslapd-dbcachesize']);
  const monitor = await session.read(`cn=database,cn=monitor,${LDBM}`, ['nsslapd-db-cache-size-bytes']);
  const bytes = monitor?.first('nsslapd-db-cache-size-bytes') ?? config?.first('nsslapd-dbcachesize');
  if (bytes && Number(bytes) > 0) await session.modify(`cn=config,${LDBM}`, [{ operation: 'replace', attribute: 'nsslapd-dbcachesize', values: [bytes] }]);
}
