/**
 * One PKI instance as a run sees it: its settings (db-upgrade.conf, root's file winning), its log,
 * its password sources, and how to reach each subsystem's database. Shared by the upgrade
 * (instance-run.ts) and the read-only looks (instance-status.ts).
 */
import { dirsrvInstanceOnPort, startCommandFor } from '../config/dirsrv-instances';
import type { SystemPaths } from '../config/paths';
import { loadToolConfig, type ToolConfig } from '../config/tool-config';
import { databasesOf, type PkiInstance, type Subsystem } from '../config/instance-discovery';
import { ConfigError } from '../core/errors';
import { authCandidates, findLdapiSockets } from '../auth/ldapi-sockets';
import { connectDatabase } from '../auth/connect';
import { InstancePasswords } from '../auth/instance-password';
import { instanceClientCertificate, INTERNAL_TOKEN_KEY, type ClientCertificate } from '../auth/client-certificate';
import type { LdaptsSession } from '../ldap/ldapts-session';
import { createRunLogger, type RunLogger } from '../logging/run-logger';
import type { InstanceRequest } from './instance-request';
import type { Io } from './io';

export function loadInstanceConfig(paths: SystemPaths, instance: PkiInstance, request: InstanceRequest): ToolConfig {
  if (request.configFile) {
    const config = loadToolConfig(request.configFile);
    if (!config.file) throw new ConfigError(`the configuration file ${request.configFile} does not exist`, 'fix --config');
    return config;
  }
  // The instance's own file, then root's (/etc/pki-db-upgrade/<instance>.conf), whose keys win.
  return loadToolConfig(paths.rootToolConfig(instance.name), loadToolConfig(paths.toolConfig(instance.name)));
}

export interface InstanceContext {
  paths: SystemPaths;
  instance: PkiInstance;
  config: ToolConfig;
  request: InstanceRequest;
  logger: RunLogger;
  passwords: InstancePasswords;
  connectTimeoutSec: number;
  /** Client certificates read for SslClientAuth, by nickname and jss.configDir: each read once a run. */
  clientCertificates: Map<string, Promise<ClientCertificate>>;
}

export interface ContextOptions {
  /** Restore a missing password.conf for the run (run, dry-run). */
  restore: boolean;
  /** A person may be asked for the password. */
  mayPrompt: boolean;
  consoleLevel: 'debug' | 'info' | 'warn' | 'silent';
  /** undefined: no log file (a read-only look such as status). */
  logFile?: string;
}

export function instanceContext(paths: SystemPaths, instance: PkiInstance, config: ToolConfig, request: InstanceRequest, io: Io, options: ContextOptions): InstanceContext {
  let passwords: InstancePasswords | undefined;
  const logger = createRunLogger({
    consoleLevel: options.consoleLevel,
    logFile: options.logFile,
    stderr: io.stderr,
    secrets: () => passwords?.secrets() ?? [],
  });
  passwords = new InstancePasswords({
    instanceId: instance.instanceId,
    passwordConf: paths.passwordConf(instance.name),
    owner: instance.owner,
    stateDir: paths.stateDir(instance.name),
    passwordFileOption: request.passwordFile,
    useKeyring: config.useKeyring,
    configuredPasswordFile: config.passwordFile,
    trustedServers: config.trustedServers,
    mayPrompt: options.mayPrompt,
    restore: options.restore,
    logger,
  });
  return { paths, instance, config, request, logger, passwords, connectTimeoutSec: request.connectTimeoutSec ?? config.connectTimeoutSec, clientCertificates: new Map() };
}

/** Where an instance's CA is named: ca_file is honoured from a root-controlled file only (docs/threat-model.md). */
export function caSettingOf(ctx: InstanceContext): string {
  return `ca_file in ${ctx.paths.rootToolConfig(ctx.instance.name)}`;
}

/** Connects to one subsystem's database by the documented authentication order. */
export function connectSubsystem(ctx: InstanceContext, sub: Subsystem) {
  const db = sub.cs.internalDb;
  const isRoot = process.getuid?.() === 0;
  const candidates = authCandidates(db, {
    isRoot,
    machineName: sub.cs.machineName,
    sockets: isRoot ? findLdapiSockets(ctx.config.ldapiSocket, ctx.logger) : [],
    caFile: ctx.config.caFile,
  });
  // For the hints when the server is down or goes away: which instance of this host it is.
  const dirsrv = dirsrvInstanceOnPort(ctx.paths, db.port);
  return connectDatabase({
    db,
    candidates,
    connectTimeoutSec: ctx.connectTimeoutSec,
    operationTimeoutSec: ctx.config.operationTimeoutSec,
    logger: ctx.logger,
    startHint: `start the 389 DS of ${ctx.instance.name} (${startCommandFor(dirsrv)})`,
    errorsLog: dirsrv?.errorsLog,
    trust: { caSetting: caSettingOf(ctx), hostSetting: `internaldb.ldapconn.host in ${sub.cs.file}` },
    password: async () => {
      const password = await ctx.passwords.get(db.passwordKey);
      ctx.passwords.checkDestination(db.passwordKey, `${db.host}:${db.port}`, { file: sub.cs.file, rootControlled: sub.cs.rootControlled });
      return password;
    },
    passwordSource: () => ctx.passwords.sourceOf(db.passwordKey),
    clientCertificate: (c) => clientCertificateOf(ctx, sub, c.nickname),
  });
}

/** SslClientAuth: root's PEM files, else the certificate `nickname` of the instance's NSS database (client-certificate.ts). */
function clientCertificateOf(ctx: InstanceContext, sub: Subsystem, nickname: string): Promise<ClientCertificate> {
  const key = `${nickname}\n${sub.cs.nssDatabaseDir ?? ''}`;
  const known = ctx.clientCertificates.get(key);
  if (known) return known;
  const { paths, instance, config } = ctx;
  const read = instanceClientCertificate({
    pem: { certFile: config.clientCertFile, keyFile: config.clientKeyFile, setting: config.clientCertSetting ?? paths.rootToolConfig(instance.name) },
    nickname,
    nss: {
      location: { dir: paths.nssDatabase(instance.name), names: paths.nssDatabaseNames(instance.name) },
      configured: sub.cs.nssDatabaseDir,
      csFile: sub.cs.file,
      owner: instance.owner,
      tokenPassword: { get: () => ctx.passwords.get(INTERNAL_TOKEN_KEY), source: () => ctx.passwords.sourceOf(INTERNAL_TOKEN_KEY) },
    },
  });
  ctx.clientCertificates.set(key, read);
  return read;
}

/**
 * Each subsystem database of an instance, looked at read only (status, history, check, lock): no
 * log file, no prompt (a look must not block), no restored password.conf. `look` gets the open
 * session, closed after it; `failed` says what a database that could not be looked at comes to.
 */
export async function lookAtEachSubsystem<T>(
  paths: SystemPaths,
  instance: PkiInstance,
  request: InstanceRequest,
  io: Io,
  look: (sub: Subsystem, session: LdaptsSession) => Promise<T>,
  failed: (sub: Subsystem, err: unknown) => T,
): Promise<T[]> {
  const config = loadInstanceConfig(paths, instance, request);
  const ctx = instanceContext(paths, instance, config, request, io, { restore: false, mayPrompt: false, consoleLevel: request.verbose ? 'debug' : 'silent' });
  const results: T[] = [];
  try {
    for (const sub of databasesOf(instance)) {
      try {
        const { session } = await connectSubsystem(ctx, sub);
        try {
          results.push(await look(sub, session));
        } finally {
          await session.close();
        }
      } catch (err) {
        results.push(failed(sub, err));
      }
    }
  } finally {
    await ctx.logger.close();
  }
  return results;
}
