/**
 * Wires one target into the engine: the LDAP session (real or dry-run), the history store, the
 * server identity and the context each step runs with.
 */
import type { Clock } from '../core/clock';
import type { Fence } from '../core/fence';
import { UpgradeEngine } from '../core/engine';
import { admitAll, type Admission, type RunResult } from '../core/run-result';
import { asFailure } from '../core/step-application';
import { silentLogger, type Logger } from '../core/logger';
import type { Plan } from '../core/planner';
import type { RegisteredStep, StepContext, Subsystem } from '../core/step';
import type { HistoryState } from '../core/history-store';
import type { SchemaRollout } from '../apply/schema-helper';
import type { IndexBuildResult, OwedIndexBuilds } from '../core/index-build';
import { LdapIndexBuilds, MarkedDefinitions } from '../apply/index-builds';
import { findBackend } from '../ldap/backend';
import { waitForBackendTasks } from '../ldap/ds-task';
import { DryRunSession } from '../ldap/dry-run-session';
import { LdapHistoryStore } from '../record/ldap-history-store';
import { suffixExport } from '../apply/database-backup';
import { TRACKING_STEPS } from '../record/tracking-steps';
import { orderRegistry } from '../core/registry';
import { LdaptsSession } from '../ldap/ldapts-session';
import { identifyServer } from '../ldap/server-identity';
import { decideSubsystem, type SubsystemDecision } from '../pki/subsystem';
import { stepContextFor } from './step-context';
import { targetConnection, type Target } from './target';


export interface Registry {
  steps: RegisteredStep[];
  packageVersion: string;
}

/** The steps a run follows: the history store's own first (src/record/tracking-steps.ts), then the package's. */
export function runOrder(registry: Registry): Registry {
  return { steps: orderRegistry([...TRACKING_STEPS, ...registry.steps], registry.packageVersion), packageVersion: registry.packageVersion };
}

/**
 * The run's index builds after its steps, unless the run failed (the next run builds what is
 * owed): the result with them, or with their failure (the steps stay recorded as done).
 */
export async function withIndexBuilds<R extends RunResult>(db: OpenDatabase, result: R, options: Parameters<OpenDatabase['buildIndexes']>[0]): Promise<R> {
  if (result.failure) return result;
  try {
    return { ...result, indexBuild: await db.buildIndexes(options) };
  } catch (err) {
    return { ...result, failure: asFailure(err) };
  }
}

export interface OpenDatabase {
  session: LdaptsSession;
  serverId: string;
  backend: string;
  /** Which subsystem's database this is, as decided by src/pki/subsystem.ts. */
  subsystem: SubsystemDecision;
  engine(options: {
    dryRun: boolean;
    logger: Logger;
    clock: Clock;
    /** Receives LDIF in dry-run. */
    ldif?: (text: string) => void;
    admit?: (plan: Plan, state: HistoryState) => Promise<Admission>;
    /** The other servers of the cluster: schema steps write and check cn=schema there too. */
    schemaRollout?: SchemaRollout;
    /** The cluster claim: verified before each step and each batch of a bulk pass. */
    fence?: Fence;
  }): UpgradeEngine;
  /**
   * The run's last phase here, after its steps (and outside any cluster claim: a build can take
   * long, and is this server's alone): builds every index definition the backend owes, in one task.
   */
  buildIndexes(options: { dryRun: boolean; logger: Logger; clock: Clock; ldif?: (text: string) => void; defer?: string }): Promise<IndexBuildResult>;
  /** Read only: the definitions owed and a build of this tool running (status, check). */
  owedIndexBuilds(): Promise<OwedIndexBuilds>;
  close(): Promise<void>;
}

export async function openDatabase(target: Target, registry: Registry, connectTimeoutSec: number): Promise<OpenDatabase> {
  const session = await LdaptsSession.open({ ...targetConnection(target), connectTimeoutMs: connectTimeoutSec * 1000 });
  return databaseOn(session, target, registry);
}

/**
 * The same, over a session already opened and bound (instance mode picks how to connect, and names
 * the subsystem from the instance folder; direct mode names none).
 */
export async function databaseOn(
  session: LdaptsSession,
  target: Pick<Target, 'suffix' | 'backend' | 'serverId' | 'backup' | 'instanceId' | 'caIssuerDN'> & { subsystem?: Subsystem },
  registry: Registry,
): Promise<OpenDatabase> {
  try {
    const serverId = target.serverId ?? (await identifyServer(session));
    const backend = target.backend ?? (await findBackend(session, target.suffix));
    const subsystem = await decideSubsystem(session, target.suffix, target.subsystem);
    // What this database's steps marked, for the build after them (a dry-run leaves no mark to find).
    const marked = new MarkedDefinitions();
    return {
      session,
      serverId,
      backend,
      subsystem,
      engine({ dryRun, logger, clock, ldif, admit, schemaRollout, fence }) {
        const recorder = dryRun ? new DryRunSession(session, ldif ?? (() => undefined)) : undefined;
        const contextFor = (step: RegisteredStep): StepContext => {
          recorder?.comment(`step ${step.id} (${step.scope}): ${step.description}`);
          return stepContextFor({ session, recorder, serverId, database: { suffix: target.suffix, backend, subsystem: subsystem.subsystem, instanceId: target.instanceId, caIssuerDN: target.caIssuerDN }, logger, schemaRollout, fence, marked });
        };
        return new UpgradeEngine({
          steps: registry.steps,
          packageVersion: registry.packageVersion,
          serverId,
          store: new LdapHistoryStore(session, target.suffix),
          logger,
          clock,
          contextFor,
          dryRun,
          fence,
          // Before the first change that cannot be undone (never in a dry-run: it writes nothing).
          backup: dryRun ? undefined : suffixExport({ ldap: session, suffix: target.suffix, backend, policy: target.backup ?? 'never', clock, logger }),
          subsystem: subsystem.subsystem,
          subsystemBasis: subsystem.basis,
          // Before the first write: a task still holding the backend (e.g. the index task of a
          // run that was killed) makes it read-only until it ends.
          admit: async (plan, state) => {
            const admitted = admit ? await admit(plan, state) : admitAll(plan);
            if (!dryRun && (admitted.plan.pending.length > 0 || admitted.plan.needsBookkeeping)) await waitForBackendTasks(session, backend, { logger });
            return admitted;
          },
        });
      },
      buildIndexes({ dryRun, logger, clock, ldif, defer }) {
        const ldap = dryRun ? new DryRunSession(session, ldif ?? (() => undefined)) : session;
        return new LdapIndexBuilds({ ldap, backend, dryRun, logger, clock, defer, marked }).build();
      },
      owedIndexBuilds: () => new LdapIndexBuilds({ ldap: session, backend, dryRun: true, logger: silentLogger }).owed(),
      close: () => session.close(),
    };
  } catch (err) {
    await session.close();
    throw err;
  }
}
