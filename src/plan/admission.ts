/**
 * The cluster rules applied to a plan, pure so that the tests can state them directly:
 *
 * - a run that does not hold the cluster claim applies no cluster-scope step, and no server-scope
 *   step that comes after a pending cluster step (it may depend on it: an index on an attribute
 *   that step adds to the schema);
 * - a cluster step another server started and never finished is not resumed by an automated run;
 * - a step that is not backward compatible waits until every known server runs a package that
 *   ships it (automated mode), unless forced (manual mode).
 */
import type { HistoryState, StepRecord } from '../core/history-store';
import type { Plan, PlannedStep } from '../core/planner';
import { compareVersions } from '../core/version';

export function pendingClusterSteps(plan: Plan): PlannedStep[] {
  return plan.pending.filter((p) => p.step.scope === 'cluster');
}

export interface Narrowed {
  plan: Plan;
  /** Steps left for a later run, in order. */
  heldBack: PlannedStep[];
}

/** The plan cut just before its first step matching `stop`: that step and all after it wait. */
export function cutBefore(plan: Plan, stop: (p: PlannedStep) => boolean): Narrowed {
  const at = plan.pending.findIndex(stop);
  if (at < 0) return { plan, heldBack: [] };
  return { plan: { ...plan, pending: plan.pending.slice(0, at) }, heldBack: plan.pending.slice(at) };
}

/** Without the claim: the server-scope steps that precede the first pending cluster step. */
export function serverStepsOnly(plan: Plan): Narrowed {
  return cutBefore(plan, (p) => p.step.scope === 'cluster');
}

/** Cluster steps recorded `started` by another server: a run there died or is still going. */
export function interruptedElsewhere(plan: Plan): StepRecord[] {
  return pendingClusterSteps(plan)
    .filter((p) => p.reason === 'interrupted' && p.previous && p.previous.server !== plan.serverId)
    .map((p) => p.previous!);
}

export interface ServerPackage {
  server: string;
  /** Undefined when the server never recorded one (it never ran this tool). */
  packageVersion?: string;
}

/**
 * The servers of the cluster with the package each last recorded: those in the history and those
 * found in the topology (a server that never ran this tool has no version: it may run an old one).
 * The local server runs this package.
 */
export function knownServers(state: HistoryState, topologyServers: string[], local: string, packageVersion: string): ServerPackage[] {
  const servers = new Map<string, ServerPackage>();
  for (const info of state.serverInfo.values()) servers.set(info.server, { server: info.server, packageVersion: info.packageVersion });
  for (const id of topologyServers) if (!servers.has(id)) servers.set(id, { server: id });
  servers.set(local, { server: local, packageVersion });
  return [...servers.values()].sort((a, b) => a.server.localeCompare(b.server));
}

export interface CompatibilityHold extends Narrowed {
  /** The first step held back for compatibility, and the servers that do not ship it yet. */
  blocked?: { step: PlannedStep; behind: ServerPackage[] };
}

/** Holds back the first pending step that is not backward compatible while some server lacks it. */
export function holdIncompatible(plan: Plan, servers: ServerPackage[]): CompatibilityHold {
  for (const planned of plan.pending) {
    if (planned.step.scope !== 'cluster' || planned.step.backwardCompatible !== false) continue;
    const behind = servers.filter((s) => !s.packageVersion || compareVersions(s.packageVersion, planned.step.version) < 0);
    if (behind.length === 0) continue;
    const narrowed = cutBefore(plan, (p) => p === planned);
    return { ...narrowed, blocked: { step: planned, behind } };
  }
  return { plan, heldBack: [] };
}

export function describeBehind(behind: ServerPackage[]): string {
  return behind.map((s) => `${s.server} (${s.packageVersion ? `package ${s.packageVersion}` : 'package unknown: never ran pki-db-upgrade'})`).join(', ');
}
