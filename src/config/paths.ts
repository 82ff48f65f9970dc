/**
 * Every system path the local run touches, derived from one root ("/" on a real server). Tests and
 * the RPM chroot test point the root at a temporary tree (--root DIR or PKI_DB_UPGRADE_ROOT), so
 * nothing under the real /etc, /var or /run is read or written. Only defaults derive from the root:
 * a path written in db-upgrade.conf or on the command line is taken as written, and the LDAPI
 * sockets are always the running 389 DS's own.
 */
import path from 'node:path';

export const ROOT_ENV = 'PKI_DB_UPGRADE_ROOT';

export interface SystemPaths {
  root: string;
  /** /etc/pki: one folder per PKI instance. */
  pkiConfigDir: string;
  /** /etc/dirsrv: one slapd-<name> folder per 389 DS instance on this host. */
  dirsrvConfigDir: string;
  instanceDir(instance: string): string;
  /** /etc/pki/<instance>/db-upgrade.conf: this tool's own settings for the instance. */
  toolConfig(instance: string): string;
  /**
   * /etc/pki-db-upgrade/<instance>.conf: the same settings in a folder only root can change, the
   * place for the keys that steer root when /etc/pki/<instance> belongs to the PKI user.
   */
  rootToolConfig(instance: string): string;
  passwordConf(instance: string): string;
  /** /etc/pki/<instance>/alias: the instance's NSS database (its subsystem certificates). */
  nssDatabase(instance: string): string;
  /**
   * What CS.cfg's jss.configDir may say for it: that folder, or /var/lib/pki/<instance>/alias
   * (pkispawn's link to it), each as on the host and below the tool's root.
   */
  nssDatabaseNames(instance: string): string[];
  /** /var/log/pki/<instance>/db-upgrade.log (default; db-upgrade.conf may name another). */
  defaultLogFile(instance: string): string;
  /** /var/lib/pki-db-upgrade/<instance>: lock, status file, password.conf marker (root only). */
  stateDir(instance: string): string;
}

export function systemPaths(root = process.env[ROOT_ENV] || '/'): SystemPaths {
  const r = path.resolve(root);
  const under = (...parts: string[]) => path.join(r, ...parts);
  return {
    root: r,
    pkiConfigDir: under('etc/pki'),
    dirsrvConfigDir: under('etc/dirsrv'),
    instanceDir: (instance) => under('etc/pki', instance),
    toolConfig: (instance) => under('etc/pki', instance, 'db-upgrade.conf'),
    rootToolConfig: (instance) => under('etc/pki-db-upgrade', `${instance}.conf`),
    passwordConf: (instance) => under('etc/pki', instance, 'password.conf'),
    nssDatabase: (instance) => under('etc/pki', instance, 'alias'),
    nssDatabaseNames: (instance) => [
      ...new Set([under('etc/pki', instance, 'alias'), under('var/lib/pki', instance, 'alias'), path.join('/etc/pki', instance, 'alias'), path.join('/var/lib/pki', instance, 'alias')]),
    ],
    defaultLogFile: (instance) => under('var/log/pki', instance, 'db-upgrade.log'),
    stateDir: (instance) => under('var/lib/pki-db-upgrade', instance),
  };
}
