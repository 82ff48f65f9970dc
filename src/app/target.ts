/** What a run connects to and upgrades: one PKI subsystem database on one 389 DS. */
import type tls from 'node:tls';
import { ConfigError } from '../core/errors';
import { readCaFile } from '../files/ca-file';
import type { TrustSettings } from '../ldap/certificate-trust';
import type { ConnectOptions, Credentials } from '../ldap/ldapts-session';
import { checkLdapUrl, isLdapiUrl } from '../ldap/ldap-url';
import { readPasswordFile } from '../auth/password-file';
import type { DirectLockRequest } from '../lock/direct-lock';
import type { CliArgs } from './cli-args';
import type { BackupPolicy } from '../core/backup';

export interface Target {
  /** For messages: "pki-tomcat/ca" or the URL. */
  label: string;
  url: string;
  credentials: Credentials;
  suffix: string;
  backend?: string;
  serverId?: string;
  /** How to start that server, for the "refused the connection" message. */
  startHint?: string;
  /** Whether a run exports the database before its first change (default never in direct mode). */
  backup?: BackupPolicy;
  /** What steps may need to know of the PKI instance (core/step.ts, DatabaseInfo). */
  instanceId?: string;
  caIssuerDN?: string;
  /** LDAPS and StartTLS (the URL's and the replication peers'): the CA of --ca-file, else node's built-in CAs. */
  tlsOptions?: tls.ConnectionOptions;
  trust?: TrustSettings;
}

/** A target named directly on the command line (--url, --base-dn). */
export function targetFromArgs(args: CliArgs): Target {
  if (!args.url) throw new ConfigError('no server given', 'pass --url ldap://host:port and --base-dn DN (see --help)');
  if (!args.baseDN) throw new ConfigError('no base DN given', 'pass --base-dn, e.g. --base-dn o=pki-tomcat-CA');
  // Before any lock or file: a mistyped URL is a usage error that leaves nothing behind.
  checkLdapUrl(args.url);
  let credentials: Credentials;
  if (isLdapiUrl(args.url) && !args.passwordFile) credentials = { kind: 'external' };
  else if (args.passwordFile) credentials = { kind: 'simple', bindDN: args.bindDN, password: readPasswordFile(args.passwordFile) };
  else throw new ConfigError('no password source given', 'pass --password-file FILE (or use an ldapi:// URL as root)');
  return {
    label: `${args.baseDN} on ${args.url}`,
    url: args.url,
    credentials,
    suffix: args.baseDN,
    backend: args.backend,
    serverId: args.serverId,
    backup: args.backup,
    instanceId: args.instanceId,
    caIssuerDN: args.caIssuerDN,
    tlsOptions: args.caFile ? { ca: readCaFile(args.caFile, '--ca-file') } : undefined,
    trust: { caFile: args.caFile, caSetting: '--ca-file', hostSetting: 'the host of --url' },
  };
}

/** How a direct run connects to its target (what LdaptsSession.open needs besides the timeouts). */
export function targetConnection(target: Target): Pick<ConnectOptions, 'url' | 'credentials' | 'startHint' | 'tlsOptions' | 'trust'> {
  return { url: target.url, credentials: target.credentials, startHint: target.startHint, tlsOptions: target.tlsOptions, trust: target.trust };
}

/** The lock a direct run on `target` takes. */
export function directLockRequest(target: Target, args: CliArgs): DirectLockRequest {
  return { url: target.url, suffix: target.suffix, root: args.root, command: args.command, waitSec: args.waitSec ?? 0 };
}
