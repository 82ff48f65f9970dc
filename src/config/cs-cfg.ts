/**
 * The internal database settings of one PKI subsystem, read from its CS.cfg (flat key=value
 * lines, as Dogtag writes them). Only the internaldb.* keys and the instance id matter here.
 */
import { ConfigError } from '../core/errors';
import { checkInstanceFile, isRootControlled, readConfigFile, type Owner } from '../files/file-trust';
import { quoteValue } from '../files/read-error';
import { untrustedFolderOf } from '../files/safe-append';

export interface InternalDbConfig {
  host: string;
  port: number;
  /** internaldb.ldapconn.secureConn=true: the PKI server talks LDAPS to its database. */
  secure: boolean;
  /** internaldb.basedn, e.g. o=pki-tomcat-CA */
  baseDN: string;
  /** internaldb.database: the 389 DS backend name, when CS.cfg gives it. */
  backend?: string;
  /** BasicAuth (bind DN + password) or SslClientAuth (client certificate, e.g. FreeIPA). */
  authType: 'BasicAuth' | 'SslClientAuth';
  bindDN: string;
  /** Key of the bind password in password.conf (and keyring tag suffix), normally "internaldb". */
  passwordKey: string;
  /**
   * internaldb.ldapauth.clientCertNickname (SslClientAuth): the certificate in the instance's NSS
   * database, e.g. "subsystemCert cert-pki-tomcat", or "TOKEN:nickname" for one on an HSM.
   */
  clientCertNickname?: string;
}

export interface CsCfg {
  file: string;
  /** instanceId= when present (real Dogtag writes it); otherwise the instance folder name. */
  instanceId?: string;
  machineName?: string;
  /** ca.signing.cert: the CA signing certificate, base64 DER (a CA's CS.cfg only). */
  caSigningCert?: string;
  /** jss.configDir: where the instance's NSS database is, as CS.cfg says (the PKI user's word: src/auth/nss-database.ts judges it). */
  nssDatabaseDir?: string;
  internalDb: InternalDbConfig;
  /**
   * Root's alone (owned by root, writable by no one else, one link, in folders only root can
   * change): its host may receive a root-held password. On a real host CS.cfg is the PKI user's,
   * and this is false.
   */
  rootControlled: boolean;
}

/** key=value lines; '#' comments and blank lines ignored; the value is everything after the first '='. */
export function parseProperties(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    values.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return values;
}

export function parseCsCfg(text: string, file: string): CsCfg {
  const p = parseProperties(text);
  const missing = (key: string) =>
    new ConfigError(`${file} has no ${key}`, 'this subsystem is not configured (pkispawn not finished?); fix CS.cfg or remove the subsystem folder');
  const get = (key: string) => {
    const v = p.get(key);
    if (v === undefined || v === '') throw missing(key);
    return v;
  };
  const portText = get('internaldb.ldapconn.port');
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ConfigError(`${file}: internaldb.ldapconn.port ${quoteValue(portText)} is not a port number`, 'fix CS.cfg');
  }
  const authText = p.get('internaldb.ldapauth.authtype') || 'BasicAuth';
  if (authText !== 'BasicAuth' && authText !== 'SslClientAuth') {
    throw new ConfigError(`${file}: internaldb.ldapauth.authtype ${quoteValue(authText)} is not BasicAuth or SslClientAuth`, 'fix CS.cfg');
  }
  return {
    file,
    rootControlled: false,
    instanceId: p.get('instanceId') || undefined,
    machineName: p.get('machineName') || undefined,
    caSigningCert: p.get('ca.signing.cert') || undefined,
    nssDatabaseDir: p.get('jss.configDir') || undefined,
    internalDb: {
      host: get('internaldb.ldapconn.host'),
      port,
      secure: (p.get('internaldb.ldapconn.secureConn') ?? 'false').toLowerCase() === 'true',
      baseDN: get('internaldb.basedn'),
      backend: p.get('internaldb.database') || undefined,
      authType: authText,
      bindDN: p.get('internaldb.ldapauth.bindDN') || 'cn=Directory Manager',
      passwordKey: p.get('internaldb.ldapauth.bindPWPrompt') || 'internaldb',
      clientCertNickname: p.get('internaldb.ldapauth.clientCertNickname') || undefined,
    },
  };
}

/** Reads CS.cfg without following a link; it must be root's or the PKI user's (`owner`). */
export function readCsCfg(file: string, owner: Owner): CsCfg {
  const { text, stat } = readConfigFile(file);
  checkInstanceFile(file, stat, owner);
  // Its host counts as root's choice only if root alone decided the file and its name.
  return { ...parseCsCfg(text, file), rootControlled: isRootControlled(stat) && stat.nlink === 1 && !untrustedFolderOf(file) };
}
