/**
 * Upgrading each subsystem database of one PKI instance, one after the other: a database on a
 * server already found down is not tried again; a replicated one gets the automated mode's
 * cluster safety (docs/cluster.md, "The fully automated mode"); a dry-run only rehearses.
 */
import { databasesOf, type PkiInstance, type Subsystem } from '../config/instance-discovery';
import { certificateSubjectString } from '../x509/distinguished-name';
import { systemClock } from '../core/clock';
import { appliedOf, heldBackOf } from '../core/run-result';
import { DowngradeError, errorMessage, PkiDbUpgradeError } from '../core/errors';
import { readCaFile } from '../files/ca-file';
import type { DatabaseOutcome } from '../record/status-file';
import { runDatabaseWithClusterSafety } from './cluster-command';
import { databaseOn, withIndexBuilds, type Registry } from './database';
import { caSettingOf, connectSubsystem, lookAtEachSubsystem, type InstanceContext } from './instance-context';
import type { InstanceRequest } from './instance-request';
import type { SystemPaths } from '../config/paths';
import { silentLogger } from '../core/logger';
import { oneLine, resultOf } from './instance-outcome';
import type { Io } from './io';

export async function upgradeDatabases(ctx: InstanceContext, registry: Registry, dryRun: boolean, io: Io): Promise<DatabaseOutcome[]> {
  const { logger, instance } = ctx;
  const outcomes: DatabaseOutcome[] = [];
  const downServers = new Map<string, string>();
  for (const sub of databasesOf(instance)) {
    const db = sub.cs.internalDb;
    const outcome: DatabaseOutcome = { subsystem: sub.name, baseDN: db.baseDN, result: 'up-to-date', steps: [] };
    outcomes.push(outcome);
    const server = `${db.host}:${db.port}`;
    const down = downServers.get(server);
    if (down) {
      Object.assign(outcome, { result: 'server-down', message: down });
      continue;
    }
    logger.info(`${sub.name}: database ${db.baseDN} on ${server}`);
    const failed = (err: unknown) => {
      outcome.message = oneLine(errorMessage(err));
      outcome.result = resultOf(err);
      if (err instanceof DowngradeError && err.incompatible.length > 0) outcome.incompatible = [...err.incompatible];
      if (outcome.result === 'server-down') downServers.set(server, outcome.message);
      logger.error(`${sub.name}: ${errorMessage(err)}`);
      const untyped = err instanceof PkiDbUpgradeError ? err.cause : err;
      if (untyped !== undefined && !(untyped instanceof PkiDbUpgradeError)) logger.debug((untyped as Error).stack ?? String(untyped));
    };
    try {
      const { session, via, serverId } = await connectSubsystem(ctx, sub);
      outcome.url = via.url;
      try {
        const backup = ctx.request.backup ?? ctx.config.backup;
        const database = await databaseOn(session, { suffix: db.baseDN, backend: db.backend, serverId, subsystem: sub.name, backup, instanceId: instance.instanceId, caIssuerDN: caIssuerDNOf(sub) }, registry);
        // Not a dry-run: a replicated database gets the automated mode's cluster safety (docs/cluster.md, "The fully automated mode").
        const ran = dryRun
          ? await database.engine({ dryRun, logger, clock: systemClock, ldif: (text) => io.stdout.write(text) }).run()
          : await runDatabaseWithClusterSafety(database, {
              suffix: db.baseDN,
              registry,
              logger,
              connectTimeoutSec: ctx.connectTimeoutSec,
              operationTimeoutSec: ctx.config.operationTimeoutSec,
              peerCredentials:
                via.kind === 'basic'
                  ? async (peer) => {
                      const password = await ctx.passwords.get(db.passwordKey);
                      ctx.passwords.checkDestination(db.passwordKey, peer, { file: 'a replication agreement', rootControlled: false });
                      return { bindDN: via.bindDN, password };
                    }
                  : undefined,
              // Peers reached by LDAPS or StartTLS trust the same CA as the local server.
              tlsOptions: ctx.config.caFile ? { ca: readCaFile(ctx.config.caFile, caSettingOf(ctx)) } : undefined,
              trust: { caFile: ctx.config.caFile, caSetting: caSettingOf(ctx), hostSetting: 'the replication agreement (nsDS5ReplicaHost)' },
              timing: ctx.request.timing,
            });
        const result = await withIndexBuilds(database, ran, { dryRun, logger, clock: systemClock, ldif: (text) => io.stdout.write(text), defer: deferredBuilds(ctx) });
        if (result.indexBuild && result.indexBuild.outcome !== 'none') outcome.indexBuild = { outcome: result.indexBuild.outcome, names: result.indexBuild.names, ...('waiting' in result.indexBuild && result.indexBuild.waiting ? { waiting: result.indexBuild.waiting } : {}) };
        if (result.backup) outcome.backup = result.backup;
        if (result.plan) {
          outcome.fromVersion = result.plan.databaseVersion ?? null;
          outcome.toVersion = result.databaseVersion ?? null;
        }
        // Held-back steps are listed apart (heldBack below): these are the steps the run took on.
        outcome.steps = result.results.filter((r) => r.outcome !== 'held back').map((r) => ({ id: r.step.id, outcome: r.outcome, durationMs: r.durationMs, error: r.error }));
        const heldBack = heldBackOf(result);
        if (heldBack.ids.length > 0) Object.assign(outcome, { heldBack: heldBack.ids, heldBackReason: heldBack.reason });
        if (result.failure) {
          failed(result.failure);
        } else if (!dryRun && (appliedOf(result).length > 0 || result.indexBuild?.outcome === 'built')) {
          outcome.result = 'upgraded';
        }
      } finally {
        await session.close();
      }
    } catch (err) {
      // Before the engine ran: connecting, reading the database.
      failed(err);
    }
  }
  return outcomes;
}

/** Why the automatic runs leave index builds to a run by hand (index_builds = manual), or undefined. */
function deferredBuilds(ctx: InstanceContext): string | undefined {
  if (ctx.config.indexBuilds !== 'manual' || ctx.request.mode === 'interactive') return undefined;
  return `index_builds = manual in ${ctx.config.indexBuildsFile ?? 'db-upgrade.conf'}, and this is the ${ctx.request.mode} run`;
}

/** The CA's issuer DN, from the signing certificate in its CS.cfg (ca.signing.cert); undefined elsewhere or when unreadable. */
function caIssuerDNOf(sub: Subsystem): string | undefined {
  if (sub.name !== 'ca' || !sub.cs.caSigningCert) return undefined;
  try {
    return certificateSubjectString(Buffer.from(sub.cs.caSigningCert, 'base64'));
  } catch {
    // Not a certificate: steps that need the DN say it is unknown.
    return undefined;
  }
}

/**
 * Start mode with auto_upgrade = false: nothing is upgraded, but the one check that decides
 * whether the PKI server may start still runs, reading only (no lock, no restored password.conf):
 * the changes each database holds that this package does not ship and that are not backward
 * compatible. A database that cannot be read says nothing against the start.
 */
export async function breakingChangesOf(paths: SystemPaths, instance: PkiInstance, request: InstanceRequest, registry: Registry, io: Io): Promise<DatabaseOutcome[]> {
  return lookAtEachSubsystem(
    paths,
    instance,
    request,
    io,
    async (sub, session): Promise<DatabaseOutcome> => {
      const outcome: DatabaseOutcome = { subsystem: sub.name, baseDN: sub.cs.internalDb.baseDN, result: 'skipped', steps: [] };
      const db = await databaseOn(session, { suffix: sub.cs.internalDb.baseDN, backend: sub.cs.internalDb.backend, subsystem: sub.name }, registry);
      try {
        await db.engine({ dryRun: true, logger: silentLogger, clock: systemClock }).plan();
      } catch (err) {
        if (!(err instanceof DowngradeError)) throw err;
        Object.assign(outcome, { result: 'database-newer', message: oneLine(errorMessage(err)), incompatible: err.incompatible.length ? [...err.incompatible] : undefined });
      }
      return outcome;
    },
    (sub, err) => ({ subsystem: sub.name, baseDN: sub.cs.internalDb.baseDN, result: 'skipped', steps: [], message: `not looked at: ${oneLine(errorMessage(err))}` }),
  );
}
