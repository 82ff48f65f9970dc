/**
 * A full export of what an upgrade could touch, taken with the real ldapsearch: every entry of the
 * suffix with operational attributes (modifyTimestamp changes on any write), the backend's index
 * configuration and, on a server of the test's own, the schema's CSN. Equal snapshots mean nothing
 * was written. cn=schema is server-wide: on a shared server other test files change it meanwhile.
 */
import { execFileSync } from 'node:child_process';
import type { DsInstance } from '../harness/dirsrv';

function ldapsearch(ds: DsInstance, base: string, scope: string, attrs: string[]): string {
  return execFileSync(
    'ldapsearch',
    ['-LLL', '-x', '-o', 'ldif-wrap=no', '-H', ds.url, '-D', ds.rootDN, '-w', ds.rootPassword, '-b', base, '-s', scope, '(objectClass=*)', ...attrs],
    // A CA database of a few thousand records exceeds execFileSync's default 1 MB of output.
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 },
  );
}

/** Entries sorted by DN so the order the server returns them in does not matter. */
function sorted(ldif: string): string {
  return ldif
    .split(/\n\n+/)
    .filter((block) => block.trim())
    .sort()
    .join('\n\n');
}

export function snapshot(ds: DsInstance, suffix: string, backend: string, options: { ownServer: boolean }): string {
  return [
    sorted(ldapsearch(ds, suffix, 'sub', ['*', '+'])),
    options.ownServer ? ldapsearch(ds, 'cn=schema', 'base', ['nsSchemaCSN']) : '(cn=schema not compared: shared server)',
    sorted(ldapsearch(ds, `cn=index,cn=${backend},cn=ldbm database,cn=plugins,cn=config`, 'sub', ['*', 'modifyTimestamp'])),
  ].join('\n----\n');
}
