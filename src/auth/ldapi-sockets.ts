/**
 * How the tool reaches and authenticates to a subsystem's database, in this order:
 *   1. LDAPI + SASL EXTERNAL: when running as root, the database host is this machine and an LDAPI
 *      socket exists (db-upgrade.conf ldapi_socket, else /run/slapd-*.socket). 389 DS maps root to
 *      cn=Directory Manager (autobind), as FreeIPA's own upgrade does: no password needed. A socket
 *      is used only if that server's cn=config port is the one in CS.cfg.
 *   2. BasicAuth (internaldb.ldapauth.authtype=BasicAuth): bindDN from CS.cfg and the password from
 *      password.conf or a password source; over LDAPS when secureConn=true, trusting ca_file.
 *   3. SslClientAuth (internaldb.ldapauth.authtype=SslClientAuth, FreeIPA): the client certificate
 *      CS.cfg names (clientCertNickname), from root's PEM files or the instance's NSS database
 *      (client-certificate.ts), and SASL EXTERNAL over TLS: LDAPS when secureConn=true, else
 *      StartTLS on the LDAP port (a certificate is never shown over plain LDAP); 389 DS maps it
 *      (certmap.conf) to the entry the run is bound as.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../core/logger';
import type { InternalDbConfig } from '../config/cs-cfg';

export type AuthCandidate =
  | { kind: 'ldapi-external'; url: string; socket: string }
  | { kind: 'basic'; url: string; bindDN: string; secure: boolean; caFile?: string }
  | { kind: 'client-cert'; url: string; nickname: string; secure: true; caFile?: string };

const LOCAL_HOSTS = new Set(['localhost', 'localhost.localdomain', '127.0.0.1', '::1', '[::1]']);

export function isLocalHost(host: string, machineName?: string): boolean {
  const h = host.toLowerCase();
  return LOCAL_HOSTS.has(h) || h === os.hostname().toLowerCase() || (machineName !== undefined && h === machineName.toLowerCase());
}

export function ldapiUrl(socket: string): string {
  return `ldapi://${encodeURIComponent(socket)}`;
}

/**
 * The LDAPI sockets that exist and belong to the directory server: the configured one, or every
 * /run/slapd-*.socket. A socket (and its folder) that anyone but root or the dirsrv user owns is
 * skipped: whoever made it could answer as the server would, or never answer.
 */
export function findLdapiSockets(configured?: string, logger?: Logger): string[] {
  const owners = directoryServerUids();
  const usable = (p: string) => {
    const problem = socketProblem(p, owners);
    if (problem && logger) logger.warn(`LDAPI socket ${p} not used: ${problem}`);
    return !problem;
  };
  if (configured) return isSocket(configured) && usable(configured) ? [configured] : [];
  const found = new Set<string>();
  for (const dir of ['/run', '/var/run']) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!/^slapd-.+\.socket$/.test(n)) continue;
      const p = path.join(dir, n);
      if (!isSocket(p)) continue;
      let real = p;
      try {
        real = fs.realpathSync(p);
      } catch {
        /* keep p */
      }
      if (usable(real)) found.add(real);
    }
  }
  return [...found].sort();
}

/** Root and the dirsrv user (from /etc/passwd, root's file). */
function directoryServerUids(): Set<number> {
  const uids = new Set([0]);
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (name === 'dirsrv' && /^\d+$/.test(uid ?? '')) uids.add(Number(uid));
    }
  } catch {
    /* root only */
  }
  return uids;
}

/** Why the socket at `p` is not the directory server's, or undefined when it is. */
function socketProblem(p: string, owners: Set<number>): string | undefined {
  try {
    const st = fs.lstatSync(p);
    if (!st.isSocket()) return 'not a socket (a link?)';
    if (!owners.has(st.uid)) return `it belongs to uid ${st.uid}, neither root nor dirsrv`;
    const dir = fs.lstatSync(path.dirname(p));
    if (!owners.has(dir.uid) || (dir.mode & 0o022) !== 0) return `its folder ${path.dirname(p)} may be changed by others (uid ${dir.uid}, mode ${(dir.mode & 0o7777).toString(8)})`;
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

export function authCandidates(
  db: InternalDbConfig,
  env: { isRoot: boolean; machineName?: string; sockets: string[]; caFile?: string },
): AuthCandidate[] {
  const candidates: AuthCandidate[] = [];
  if (env.isRoot && isLocalHost(db.host, env.machineName)) {
    for (const socket of env.sockets) candidates.push({ kind: 'ldapi-external', url: ldapiUrl(socket), socket });
  }
  const host = db.host.includes(':') && !db.host.startsWith('[') ? `[${db.host}]` : db.host;
  if (db.authType === 'SslClientAuth' && db.clientCertNickname) {
    candidates.push({ kind: 'client-cert', url: `${db.secure ? 'ldaps' : 'ldap+starttls'}://${host}:${db.port}`, nickname: db.clientCertNickname, secure: true, caFile: env.caFile });
  }
  if (db.authType === 'BasicAuth') {
    candidates.push({
      kind: 'basic',
      url: `${db.secure ? 'ldaps' : 'ldap'}://${host}:${db.port}`,
      bindDN: db.bindDN,
      secure: db.secure,
      caFile: db.secure ? env.caFile : undefined,
    });
  }
  return candidates;
}

export function describeCandidate(c: AuthCandidate): string {
  if (c.kind === 'ldapi-external') return `LDAPI ${c.socket} (SASL EXTERNAL as root)`;
  const ca = c.caFile ? `, CA ${c.caFile}` : '';
  if (c.kind === 'client-cert') return `${c.url} by the client certificate "${c.nickname}" (SASL EXTERNAL${ca})`;
  return `${c.url} as ${c.bindDN}${c.secure ? ` (LDAPS${ca})` : ''}`;
}
