/**
 * The command line edge of the cluster features: `cluster status`, `cluster upgrade`, and the
 * cluster-aware `run` (automated mode). The decisions live in src/converge/ (the cluster run) and src/plan/ (admission).
 */
import type tls from 'node:tls';
import { systemClock } from '../core/clock';
import { appliedOf, heldBackOf, type RunResult } from '../core/run-result';
import { ConfigError, ExitCode } from '../core/errors';
import type { Logger } from '../core/logger';
import { DEFAULT_TIMING, type ClusterContext, type ClusterRunResult, type ClusterTiming } from '../converge/cluster-context';
import { automatedRun, ClusterUpgrade, type ClusterRunHandle } from '../converge/cluster-modes';
import { clusterStatus, formatClusterStatus } from '../report/cluster-status';
import { discoverTopology, type Connect } from '../converge/topology';
import { LdapHistoryStore } from '../record/ldap-history-store';
import type { TrustSettings } from '../ldap/certificate-trust';
import { LdaptsSession, type ConnectOptions } from '../ldap/ldapts-session';
import { escapeTerminal } from '../logging/escape';
import { checkPeerTransport, hostPortOf, isLoopback } from '../ldap/peer-transport';
import type { CliArgs } from './cli-args';
import { openDatabase, withIndexBuilds, type OpenDatabase, type Registry } from './database';
import { onSignalAbort } from '../process/shutdown';
import { acquireDirectLock } from '../lock/direct-lock';
import { runSummary } from '../report/run-report';
import { directLockRequest, targetFromArgs, type Target } from './target';

interface Output {
  stdout: NodeJS.WritableStream;
}

/** Peers are opened with the local server's credentials: Directory Manager is the same on every server. */
export function peerConnector(target: Target, connectTimeoutSec: number): Connect {
  return async (url) => {
    if (target.credentials.kind !== 'simple') {
      throw new ConfigError(
        `cannot read the replication state of ${url}: the local connection uses LDAPI autobind, which works on this host only`,
        'pass --password-file with the Directory Manager password (the same on every server) so the other servers can be read',
      );
    }
    checkPeerTransport(url);
    return LdaptsSession.open({ url, credentials: target.credentials, connectTimeoutMs: connectTimeoutSec * 1000, ...peerTls(target) });
  };
}

/** Peers reached by LDAPS or StartTLS trust the CA the local server is trusted with (--ca-file). */
function peerTls(target: Target): Pick<ConnectOptions, 'tlsOptions' | 'trust'> {
  return { tlsOptions: target.tlsOptions, trust: target.trust && { ...target.trust, hostSetting: 'the replication agreement (nsDS5ReplicaHost)' } };
}

/**
 * Anonymous sessions for the local view (src/converge/local-view.ts), when the local connection's
 * credentials work on this host only. No password goes there; plain LDAP to another host is
 * upgraded to StartTLS, so that a forged answer cannot make the run take a change as replicated.
 */
export function peerObserver(connectTimeoutSec: number, operationTimeoutSec = 60, secure: Pick<ConnectOptions, 'tlsOptions' | 'trust'> = {}): Connect {
  return (url) => {
    const host = url.startsWith('ldap://') ? new URL(url).hostname : '';
    const secured = url.startsWith('ldap://') && !isLoopback(host) ? url.replace(/^ldap:/, 'ldap+starttls:') : url;
    return LdaptsSession.open({
      url: secured,
      credentials: { kind: 'anonymous' },
      connectTimeoutMs: connectTimeoutSec * 1000,
      operationTimeoutMs: operationTimeoutSec * 1000,
      ...secure,
    });
  };
}

/** --replication-timeout and --claim-wait, in both modes. */
export function clusterTiming(args: CliArgs): Partial<ClusterTiming> {
  const out: Partial<ClusterTiming> = {};
  if (args.replicationTimeoutSec !== undefined) out.replicationTimeoutMs = args.replicationTimeoutSec * 1000;
  if (args.claimWaitSec !== undefined) out.claimWaitMs = args.claimWaitSec * 1000;
  return out;
}

function context(db: OpenDatabase, target: Target, args: CliArgs, registry: Registry, logger: Logger, ldif?: (text: string) => void): ClusterContext {
  return {
    suffix: target.suffix,
    serverId: db.serverId,
    packageVersion: registry.packageVersion,
    local: db.session,
    connect: peerConnector(target, args.connectTimeoutSec ?? 10),
    makeEngine: (options) => db.engine({ dryRun: args.dryRun, logger, clock: systemClock, ldif, ...options }),
    logger,
    clock: systemClock,
    timing: clusterTiming(args),
  };
}

/** `run` on a possibly replicated database: the automated mode's safety (src/converge/cluster-run.ts). */
export function runWithClusterSafety(db: OpenDatabase, target: Target, args: CliArgs, registry: Registry, logger: Logger): Promise<ClusterRunResult> {
  // Local credentials only: the automated mode may decide from this server's view (local-view.ts);
  // `cluster upgrade` freezes the others, which needs their credentials.
  const observe = target.credentials.kind === 'simple' ? undefined : peerObserver(args.connectTimeoutSec ?? 10, undefined, peerTls(target));
  return runAbortable(automatedRun({ ...context(db, target, args, registry, logger), observe }));
}

/**
 * The same for instance mode (%posttrans), which opened the database itself. Peers are read with
 * `peerCredentials` (the CS.cfg bind DN and password); without them (LDAPI autobind) they are read
 * anonymously and the run decides from this server's view (src/converge/local-view.ts), or refuses
 * the cluster-scope steps with a hint when that view does not show every server.
 */
export function runDatabaseWithClusterSafety(
  db: OpenDatabase,
  options: {
    suffix: string;
    registry: Registry;
    logger: Logger;
    connectTimeoutSec: number;
    operationTimeoutSec?: number;
    /** Asked per peer (host:port), which it may refuse (a root-held password, a peer root did not name). */
    peerCredentials?: (peer: string) => Promise<{ bindDN: string; password: string }>;
    tlsOptions?: tls.ConnectionOptions;
    trust?: TrustSettings;
    timing?: Partial<ClusterTiming>;
  },
): Promise<ClusterRunResult> {
  const connect: Connect = async (url) => {
    if (!options.peerCredentials) {
      throw new ConfigError(
        `cannot read the replication state of ${url}: this server is reached by LDAPI autobind, which works on this host only`,
        'apply the cluster-scope steps with pki-db-upgrade cluster upgrade --url ... --password-file FILE (Directory Manager)',
      );
    }
    checkPeerTransport(url);
    const { bindDN, password } = await options.peerCredentials(hostPortOf(url));
    return LdaptsSession.open({
      url,
      credentials: { kind: 'simple', bindDN, password },
      connectTimeoutMs: options.connectTimeoutSec * 1000,
      operationTimeoutMs: (options.operationTimeoutSec ?? 60) * 1000,
      tlsOptions: options.tlsOptions,
      trust: options.trust,
    });
  };
  return runAbortable(automatedRun({
    suffix: options.suffix,
    serverId: db.serverId,
    packageVersion: options.registry.packageVersion,
    local: db.session,
    connect,
    observe: options.peerCredentials ? undefined : peerObserver(options.connectTimeoutSec, options.operationTimeoutSec, { tlsOptions: options.tlsOptions, trust: options.trust }),
    makeEngine: (engineOptions) => db.engine({ dryRun: false, logger: options.logger, clock: systemClock, ...engineOptions }),
    logger: options.logger,
    clock: systemClock,
    timing: options.timing,
  }));
}

/**
 * Runs `run`; a signal meanwhile first withdraws its cluster claim, so the others need not wait
 * for it to go stale. Silently: the run's closing line (written after the aborts) is its last.
 */
async function runAbortable(run: ClusterRunHandle): Promise<ClusterRunResult> {
  const forgetAbort = onSignalAbort(() => run.abort());
  try {
    return await run.run();
  } finally {
    forgetAbort();
  }
}

export async function clusterCommand(args: CliArgs, registry: Registry, logger: Logger, out: Output): Promise<number> {
  const target = targetFromArgs(args);
  const db = await openDatabase(target, registry, args.connectTimeoutSec ?? 10);
  try {
    if (args.clusterAction === 'status') return await status(db, target, args, logger, out);
    return await upgrade(db, target, args, registry, logger, out);
  } finally {
    await db.close();
  }
}

async function status(db: OpenDatabase, target: Target, args: CliArgs, logger: Logger, out: Output): Promise<number> {
  const topology = await discoverTopology({
    local: db.session,
    localId: db.serverId,
    suffix: target.suffix,
    connect: peerConnector(target, args.connectTimeoutSec ?? 10),
    logger,
  });
  try {
    const state = await new LdapHistoryStore(db.session, target.suffix).load();
    const report = await clusterStatus({ topology, suffix: target.suffix, localId: db.serverId, state, clock: systemClock, staleClaimMs: DEFAULT_TIMING.staleClaimMs });
    // Agreement status texts come from the servers: escaped for the terminal (escape.ts).
    out.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : escapeTerminal(formatClusterStatus(report)));
    return ExitCode.Ok;
  } finally {
    await topology?.close();
  }
}


async function upgrade(db: OpenDatabase, target: Target, args: CliArgs, registry: Registry, logger: Logger, out: Output): Promise<number> {
  const ldif = (text: string) => void out.stdout.write(text);
  const run = new ClusterUpgrade(context(db, target, args, registry, logger, ldif), { force: args.force });
  if (args.dryRun) {
    const result = await run.rehearse(ldif);
    if (result.failure) {
      logger.error(result.failure.describe());
      return result.failure.exitCode;
    }
    const heldBack = heldBackOf(result);
    if (heldBack.ids.length > 0) logger.warn(`the real run holds back ${heldBack.ids.join(', ')}: ${heldBack.reason}`);
    logger.info(`dry-run: ${appliedOf(result).length} step(s) would be applied; nothing was changed`);
    return ExitCode.Ok;
  }

  // An interrupt must not leave the other servers refusing writes: thaw first, then exit with
  // 128 + the signal number (src/process/shutdown.ts also releases the lock).
  const forgetAbort = onSignalAbort(async (signal) => {
    logger.warn(`${signal} received: making the other servers writable again before stopping`);
    await run.abort();
  });
  try {
    // Two runs from this host on the same database would freeze and apply twice: the direct-mode lock.
    const lock = await acquireDirectLock(directLockRequest(target, args), logger);
    try {
      const started = systemClock.monotonicMs();
      // This server's index builds come after the run: the others are thawed and the claim gone.
      const result = await withIndexBuilds(db, await run.run(), { dryRun: false, logger, clock: systemClock });
      return report(result, target, logger, (systemClock.monotonicMs() - started) / 1000);
    } finally {
      await lock?.release();
    }
  } finally {
    forgetAbort();
  }
}

function report(result: ClusterRunResult | RunResult, target: Target, logger: Logger, seconds: number): number {
  const cluster = result as Partial<ClusterRunResult>;
  if (cluster.frozen?.length) logger.info(`${cluster.frozen.join(', ')}: frozen during the upgrade, writable again`);
  if (result.failure) {
    logger.error(result.failure.describe());
    return result.failure.exitCode;
  }
  logger.info(runSummary(target.label, result, seconds));
  return ExitCode.Ok;
}
