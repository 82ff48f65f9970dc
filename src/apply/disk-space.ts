/**
 * Whether a large pass fits on the disk of the 389 DS's database, from what the server itself
 * reports (cn=disk space,cn=monitor: each filesystem it writes to, with its available bytes). A
 * server that runs out in the middle logs "*** DISK FULL ***" and shuts itself down, leaving the
 * run with a lost connection; refusing first, with the figures, says what to do instead.
 *
 * The estimate is a floor, not a forecast: a few hundred bytes of new value per record, and what
 * the server writes around it (the record rewritten, its index keys, its changelog entry, the
 * transaction log), put at `bytesPerEntry` (1 KiB), plus what 389 DS's own disk monitoring keeps
 * free. A pass refused by it could not have completed; one allowed may still run out when the
 * disk is shared with other writers.
 */
import { hasResultCode, ResultCode, type LdapSession } from '../core/directory';
import type { Logger } from '../core/logger';

export interface DiskSpaceCheck {
  /** Throws, naming the figures, when `entries` writes cannot fit; does nothing for small passes. */
  ensureRoomFor(entries: number, label: string): Promise<void>;
}

export interface DiskSpaceOptions {
  logger: Logger;
  /** The floor of what one record's write costs on disk (default 1 KiB). */
  bytesPerEntry?: number;
  /** Passes smaller than this are not checked (default 1,000 records). */
  minEntries?: number;
}

/** Thrown before the pass writes anything: the step fails with it, and the run says why. */
export class DiskSpaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskSpaceError';
  }
}

interface Partition {
  path: string;
  size: number;
  available: number;
}

const MIB = 2 ** 20;

export function monitoredDiskSpace(ldap: LdapSession, options: DiskSpaceOptions): DiskSpaceCheck {
  const bytesPerEntry = options.bytesPerEntry ?? 1024;
  const minEntries = options.minEntries ?? 1000;
  return {
    async ensureRoomFor(entries, label) {
      if (entries < minEntries) return;
      const where = await databasePartition(ldap);
      if (!where) {
        options.logger.debug(`${label}: the 389 DS reports no disk space for its database folder: not checked`);
        return;
      }
      const { partition, directory, keepFree } = where;
      const need = entries * bytesPerEntry + keepFree;
      const figures = `about ${mib(need)} MiB needed for ${entries.toLocaleString('en-US')} records, ${mib(partition.available)} MiB available of ${mib(partition.size)} MiB on ${partition.path} (database ${directory})`;
      if (partition.available < need) {
        throw new DiskSpaceError(
          `not enough disk space for ${label}: ${figures}. Free space there, then run pki-db-upgrade again (nothing of this pass was written; 389 DS shuts down when its disk is full)`,
        );
      }
      options.logger.info(`${label}: disk space: ${figures}`);
    },
  };
}

/** The filesystem of the database folder, as cn=monitor reports it, and what the server keeps free. */
async function databasePartition(ldap: LdapSession): Promise<{ partition: Partition; directory: string; keepFree: number } | undefined> {
  let monitor, ldbm, config;
  try {
    [monitor, ldbm, config] = await Promise.all([
      ldap.read('cn=disk space,cn=monitor', ['dsDisk']),
      ldap.read('cn=config,cn=ldbm database,cn=plugins,cn=config', ['nsslapd-directory']),
      ldap.read('cn=config', ['nsslapd-disk-monitoring', 'nsslapd-disk-monitoring-threshold']),
    ]);
  } catch (err) {
    // A bind DN that may not read cn=monitor or cn=config: nothing to check against.
    if (hasResultCode(err, ResultCode.InsufficientAccess) || hasResultCode(err, ResultCode.NoSuchObject)) return undefined;
    throw err;
  }
  const directory = ldbm?.first('nsslapd-directory');
  if (!monitor || !directory) return undefined;
  const partitions = monitor.values('dsDisk').map(parseDsDisk).filter((p): p is Partition => p !== undefined);
  // The filesystem holding the folder: the longest mount point above it.
  const partition = partitions
    .filter((p) => directory === p.path || directory.startsWith(p.path.endsWith('/') ? p.path : `${p.path}/`))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!partition) return undefined;
  const monitoring = config?.first('nsslapd-disk-monitoring')?.toLowerCase() === 'on';
  const keepFree = monitoring ? Number(config?.first('nsslapd-disk-monitoring-threshold') ?? 0) || 0 : 0;
  return { partition, directory, keepFree };
}

/** partition="/var" size="..." used="..." available="..." use%="..." */
export function parseDsDisk(value: string): Partition | undefined {
  const field = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(value)?.[1];
  const path = field('partition');
  const size = Number(field('size'));
  const available = Number(field('available'));
  if (!path || !Number.isFinite(size) || !Number.isFinite(available)) return undefined;
  return { path, size, available };
}

function mib(bytes: number): string {
  return Math.ceil(bytes / MIB).toLocaleString('en-US');
}
