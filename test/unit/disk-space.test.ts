/** What 389 DS reports of its disks (cn=disk space,cn=monitor), read as src/apply/disk-space.ts reads it. */
import { monitoredDiskSpace, parseDsDisk } from '../../src/apply/disk-space';
import { FakeDirectory } from '../support/fake-directory';
import { keptLines } from '../support/kept-lines';

describe('a dsDisk value of cn=disk space,cn=monitor', () => {
  it('gives the filesystem, its size and what is available', () => {
    expect(parseDsDisk('partition="/var" size="270553174016" used="187700903936" available="82852270080" use%="69"')).toEqual({
      path: '/var',
      size: 270553174016,
      available: 82852270080,
    });
  });

  it('is not taken when a figure is missing or not a number', () => {
    expect(parseDsDisk('partition="/var" size="x" used="1" available="2" use%="1"')).toBeUndefined();
    expect(parseDsDisk('size="10" available="2"')).toBeUndefined();
  });
});

describe('the disk-space check before a large pass', () => {
  /** A server whose cn=monitor reports `disks` and whose database folder is `directory`. */
  function server(disks: string[], directory: string) {
    const dir = new FakeDirectory(() => true);
    dir.add('cn=disk space,cn=monitor', { dsDisk: disks });
    dir.add('cn=config,cn=ldbm database,cn=plugins,cn=config', { 'nsslapd-directory': [directory] });
    dir.add('cn=config', { 'nsslapd-disk-monitoring': ['on'], 'nsslapd-disk-monitoring-threshold': [String(2 * 2 ** 20)] });
    return dir.session('check');
  }
  const disk = (path: string, availableMiB: number) => `partition="${path}" size="${1000 * 2 ** 20}" used="1" available="${availableMiB * 2 ** 20}" use%="1"`;

  it("judges the filesystem of the database folder (the longest mount point above it), counting what 389 DS's disk monitoring keeps free", async () => {
    const { logger, lines } = keptLines();
    const check = monitoredDiskSpace(server([disk('/', 900), disk('/var', 12), disk('/var/lib', 300)], '/var/lib/dirsrv/slapd-ca/db'), { logger, minEntries: 1 });
    await check.ensureRoomFor(10_240, 'backfill'); // 10 MiB at 1 KiB each, + 2 MiB kept free
    expect(lines).toEqual(['info: backfill: disk space: about 12 MiB needed for 10,240 records, 300 MiB available of 1,000 MiB on /var/lib (database /var/lib/dirsrv/slapd-ca/db)']);
    const tight = monitoredDiskSpace(server([disk('/', 900), disk('/var/lib', 11)], '/var/lib/dirsrv/slapd-ca/db'), { logger, minEntries: 1 });
    await expect(tight.ensureRoomFor(10_240, 'backfill')).rejects.toThrow('not enough disk space for backfill: about 12 MiB needed for 10,240 records, 11 MiB available of 1,000 MiB on /var/lib');
  });

  it('does not take /var for /varx, and checks nothing it cannot place, or small passes', async () => {
    const { logger, lines } = keptLines();
    await monitoredDiskSpace(server([disk('/var', 0)], '/varx/db'), { logger, minEntries: 1 }).ensureRoomFor(10_000, 'backfill');
    await monitoredDiskSpace(server([disk('/', 0)], '/db'), { logger }).ensureRoomFor(999, 'backfill');
    expect(lines).toEqual(['debug: backfill: the 389 DS reports no disk space for its database folder: not checked']);
  });
});
