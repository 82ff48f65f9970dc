/**
 * Which 389 DS instance of this host listens on a port, from its own configuration
 * (/etc/dirsrv/slapd-<name>/dse.ldif, cn=config: nsslapd-port, nsslapd-securePort), so that a hint
 * can name the unit to start (dirsrv@<name>) while that server is down. Read only for messages.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SystemPaths } from './paths';

/** dse.ldif of a large server holds every backend's configuration; cn=config comes first. */
const HEAD_BYTES = 64 * 1024;

/** A 389 DS instance of this host: its name (dirsrv@<name>) and its errors log (nsslapd-errorlog). */
export interface DirsrvInstance {
  name: string;
  errorsLog: string;
}

/** The one instance whose cn=config listens on `port`, read once for both hints; undefined when none or several do. */
export function dirsrvInstanceOnPort(paths: SystemPaths, port: number): DirsrvInstance | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(paths.dirsrvConfigDir).filter((n) => n.startsWith('slapd-') && !n.endsWith('.removed'));
  } catch {
    return undefined;
  }
  const matching = names
    .map((n) => ({ name: n.slice('slapd-'.length), config: configOf(path.join(paths.dirsrvConfigDir, n, 'dse.ldif')) }))
    .filter((i) => portsIn(i.config).includes(port));
  if (matching.length !== 1) return undefined;
  const { name, config } = matching[0];
  return { name, errorsLog: /^nsslapd-errorlog:\s*(\S.*?)\s*$/im.exec(config)?.[1] ?? `/var/log/dirsrv/slapd-${name}/errors` };
}

function portsIn(config: string): number[] {
  return [...config.matchAll(/^nsslapd-(?:port|secureport):\s*(\d+)\s*$/gim)].map((m) => Number(m[1]));
}

/** The cn=config entry of a dse.ldif ('' when unreadable). */
function configOf(dseLdif: string): string {
  let head: string;
  try {
    const fd = fs.openSync(dseLdif, 'r');
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      head = buf.subarray(0, fs.readSync(fd, buf, 0, HEAD_BYTES, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
  return head.split(/\n\n/).find((entry) => /^dn: cn=config\s*$/im.test(entry.split('\n')[0])) ?? '';
}

/** "systemctl start dirsrv@NAME", or how to find NAME when this host's configuration does not say. */
export function startCommandFor(instance: DirsrvInstance | undefined): string {
  return instance ? `systemctl start dirsrv@${instance.name}` : `systemctl start dirsrv@NAME, NAME as systemctl list-units 'dirsrv@*' shows it`;
}
