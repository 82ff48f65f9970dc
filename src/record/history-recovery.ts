/**
 * The recovery commands, as Flyway's repair or Alembic's stamp: an administrator who fixed a step
 * by hand records it `done` (mark-done), or deletes its record so that it runs again (forget).
 * Each leaves an audit entry in the history (who, when, why, what the record said), which
 * `history` shows; neither runs a step nor moves the database version (the next run does).
 */
import type { Clock } from '../core/clock';
import { ConfigError, DirectoryError, errorMessage, TrackingStateError } from '../core/errors';
import type { AuditEvent, HistoryState, HistoryStore, StepRecord } from '../core/history-store';
import { recordFor } from '../core/planner';
import type { RegisteredStep } from '../core/step';
import { AUDIT_STEP_ID } from './tracking-steps';

export interface RecoveryRequest {
  action: AuditEvent['action'];
  stepId: string;
  reason: string;
  /** User and host the command runs as. */
  actor: string;
  serverId: string;
  packageVersion: string;
}

/** What was done, one sentence for the console. */
export async function recover(store: HistoryStore, state: HistoryState, steps: RegisteredStep[], request: RecoveryRequest, clock: Clock): Promise<string> {
  const { action, stepId, reason, actor, serverId } = request;
  if (!reason.trim()) throw new ConfigError(`${action} needs --reason`, 'say why, in a few words: the reason is kept in the history with your name');
  if (state.cluster.get(AUDIT_STEP_ID)?.outcome !== 'done' || state.schemaLost.includes(AUDIT_STEP_ID)) {
    throw new TrackingStateError(
      `the history of this database cannot hold an audit entry yet (${AUDIT_STEP_ID} is not ${state.schemaLost.includes(AUDIT_STEP_ID) ? 'in force on this server' : 'done'})`,
      'run pki-db-upgrade first: its first steps install the tracking schema, then repeat the command',
    );
  }
  const step = steps.find((s) => s.id === stepId);
  if (!step) {
    const forgettable = action === 'forget' && recordOf(state, stepId, serverId);
    if (!forgettable) throw new ConfigError(`this package ships no step ${stepId}`, `see pki-db-upgrade history for the step ids (as VERSION/NN-Name)`);
  }
  if (step?.bookkeeping) throw new ConfigError(`${stepId} is the history's own schema`, 'it cannot be marked or forgotten; run pki-db-upgrade to install it');
  const previous = step ? recordFor(state, step, serverId) : recordOf(state, stepId, serverId);
  const now = clock.now();
  const event: AuditEvent = { action, time: now, stepId, scope: step?.scope ?? previous!.scope, server: serverId, actor, reason: reason.trim(), detail: '' };

  if (action === 'mark-done') {
    if (previous?.outcome === 'done') return `${stepId} is already recorded done (on ${previous.server}): nothing written`;
    const record: StepRecord = {
      stepId,
      version: step!.version,
      scope: step!.scope,
      description: step!.description,
      checksum: step!.checksum,
      server: serverId,
      packageVersion: request.packageVersion,
      startTime: now,
      endTime: now,
      durationMs: 0,
      outcome: 'done',
      backwardCompatible: step!.scope === 'cluster' && step!.backwardCompatible === false ? false : undefined,
      markedBy: { actor, reason: event.reason },
    };
    event.detail = `recorded done by hand; before: ${describe(previous)}`;
    await store.write(record);
    await audited(store, event, () => (previous ? store.write(previous) : store.remove(record)));
    return `${stepId} recorded done by hand (was: ${describe(previous)}); run pki-db-upgrade to move the database version past it`;
  }

  if (!previous) return `${stepId} has no record here: nothing to forget`;
  event.detail = `record deleted; it said: ${describe(previous)}`;
  event.scope = previous.scope;
  event.server = previous.scope === 'server' ? previous.server : serverId;
  await store.remove(previous);
  await audited(store, event, () => store.write(previous));
  return `the record of ${stepId} is deleted (it said: ${describe(previous)}); the next run applies the step again`;
}

/** The audit entry of a change just made; when it cannot be written, the change is undone: none goes unaudited. */
async function audited(store: HistoryStore, event: AuditEvent, undo: () => Promise<void>): Promise<void> {
  try {
    await store.writeAudit(event);
  } catch (err) {
    await undo();
    throw new DirectoryError(
      `could not write the audit entry of ${event.action} ${event.stepId} (${errorMessage(err)}); the change was undone`,
      'fix the cause (e.g. rights on cn=audit,cn=dbUpgrade), then repeat the command',
      { cause: err },
    );
  }
}

/** A record of a step this package does not ship: cluster scope, or this server's. */
function recordOf(state: HistoryState, stepId: string, serverId: string): StepRecord | undefined {
  return state.cluster.get(stepId) ?? state.servers.get(serverId)?.get(stepId);
}

function describe(record: StepRecord | undefined): string {
  if (!record) return 'no record';
  const when = (record.endTime ?? record.startTime).toISOString();
  return `${record.outcome} on ${record.server} at ${when}${record.error ? ` (${record.error.slice(0, 200)})` : ''}`;
}
