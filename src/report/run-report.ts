/** What status and history print, as text for people and JSON for scripts. */
import { appliedOf, heldBackOf, type RunResult } from '../core/run-result';
import type { OwedIndexBuilds } from '../core/index-build';
import type { AuditEvent, HistoryState, StepRecord } from '../core/history-store';
import type { NotApplicableStep, Plan } from '../core/planner';
import { describeBehind, holdIncompatible, knownServers } from '../plan/admission';

export interface StatusReport {
  target: string;
  server: string;
  databaseVersion: string | null;
  packageVersion: string;
  upToDate: boolean;
  /** heldBack: why a run would not apply it yet (not backward compatible while servers are behind). */
  pending: { id: string; scope: string; reason: string; description: string; heldBack?: string }[];
  /** The subsystem the database was taken for; null: unknown. */
  subsystem: string | null;
  /** Steps for other subsystems: never run on this database, not recorded, not pending. */
  notApplicable: NotApplicableJson[];
  lastResult: RecordJson | null;
  /** Index definitions the backend owes a build (src/core/index-build.ts), and this tool's task running. */
  indexBuilds: OwedIndexBuilds;
  warnings: string[];
}

export interface RecordJson {
  step: string;
  version: string;
  scope: string;
  outcome: string;
  server: string;
  packageVersion: string;
  description: string;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  error: string | null;
  checksum: string;
  /** Set when an administrator recorded the step done by hand (mark-done). */
  markedBy: { actor: string; reason: string } | null;
}

export interface NotApplicableJson {
  id: string;
  scope: string;
  appliesTo: string[];
  description: string;
}

export function notApplicableJson({ step }: NotApplicableStep): NotApplicableJson {
  return { id: step.id, scope: step.scope, appliesTo: [...(step.appliesTo ?? [])], description: step.description };
}

export function recordJson(r: StepRecord): RecordJson {
  return {
    step: r.stepId,
    version: r.version,
    scope: r.scope,
    outcome: r.outcome,
    server: r.server,
    packageVersion: r.packageVersion,
    description: r.description,
    startTime: r.startTime.toISOString(),
    endTime: r.endTime?.toISOString() ?? null,
    durationMs: r.durationMs ?? null,
    error: r.error ?? null,
    checksum: r.checksum,
    markedBy: r.markedBy ?? null,
  };
}

export interface AuditJson {
  action: string;
  time: string;
  step: string;
  scope: string;
  server: string;
  actor: string;
  reason: string;
  detail: string;
}

export function auditJson(e: AuditEvent): AuditJson {
  return { action: e.action, time: e.time.toISOString(), step: e.stepId, scope: e.scope, server: e.server, actor: e.actor, reason: e.reason, detail: e.detail };
}

/** The recovery commands' audit entries, after the table: who changed the history, when, why. */
function auditLines(audit: AuditEvent[]): string {
  if (audit.length === 0) return '';
  // One line each, whatever the reason holds (a newline in it must not forge a line of its own).
  const flat = (text: string) => text.replace(/\r?\n|\r/g, '\\n');
  const lines = audit.map((e) => `  ${e.time.toISOString().replace('T', ' ').slice(0, 19)}  ${e.action} ${flat(e.stepId)} by ${flat(e.actor)} on ${flat(e.server)}: "${flat(e.reason)}" (${flat(e.detail)})`);
  return ['Changed by hand (pki-db-upgrade mark-done, forget):', ...lines].join('\n') + '\n';
}

/** Every record, oldest first (cluster ones and each server's). */
export function allRecords(state: HistoryState): StepRecord[] {
  const records = [...state.cluster.values()];
  for (const perServer of state.servers.values()) records.push(...perServer.values());
  return records.sort((a, b) => a.startTime.getTime() - b.startTime.getTime() || a.stepId.localeCompare(b.stepId));
}

export function statusReport(target: string, plan: Plan, state: HistoryState, indexBuilds: OwedIndexBuilds = { owed: [], held: [], trusted: [], afterRestart: [] }): StatusReport {
  const mine = allRecords(state).filter((r) => r.scope === 'cluster' || r.server === plan.serverId);
  const last = mine.reduce<StepRecord | undefined>(
    (latest, r) => (!latest || (r.endTime ?? r.startTime) >= (latest.endTime ?? latest.startTime) ? r : latest),
    undefined,
  );
  // The servers the history knows (a status run does not walk the replication topology).
  const hold = holdIncompatible(plan, knownServers(state, [], plan.serverId, plan.packageVersion));
  const held = new Map(hold.heldBack.map((p) => [p.step.id, hold.blocked!.step]));
  const whyHeld = (id: string) => {
    const blocker = held.get(id);
    if (!blocker) return undefined;
    const behind = describeBehind(hold.blocked!.behind);
    return blocker.step.id === id
      ? `held back: not backward compatible, waits until every server runs a package >= ${blocker.step.version} (behind: ${behind})`
      : `held back: after ${blocker.step.id}`;
  };
  return {
    target,
    server: plan.serverId,
    databaseVersion: plan.databaseVersion ?? null,
    packageVersion: plan.packageVersion,
    upToDate: plan.pending.length === 0 && !plan.needsBookkeeping && indexBuilds.owed.length === 0,
    pending: plan.pending.map((p) => ({ id: p.step.id, scope: p.step.scope, reason: p.reason, description: p.step.description, heldBack: whyHeld(p.step.id) })),
    subsystem: plan.subsystem ?? null,
    notApplicable: plan.notApplicable.map(notApplicableJson),
    lastResult: last ? recordJson(last) : null,
    indexBuilds,
    warnings: plan.warnings,
  };
}

export function formatStatus(s: StatusReport): string {
  const lines = [
    `Database:    ${s.target}`,
    `Server:      ${s.server}`,
    `Version:     ${s.databaseVersion ?? '(never upgraded by pki-db-upgrade)'}; package ${s.packageVersion}`,
    `Subsystem:   ${s.subsystem ?? 'unknown (steps for particular subsystems are left out)'}`,
  ];
  if (s.pending.length === 0) {
    lines.push(
      s.upToDate ? 'Pending:     none, the database is up to date'
      : s.indexBuilds.owed.length > 0 ? 'Pending:     no step; the index build below'
      : 'Pending:     no step; the version record will be updated by the next run',
    );
  } else {
    lines.push(`Pending:     ${s.pending.length} step(s), run "pki-db-upgrade" to apply`);
    for (const p of s.pending) {
      lines.push(`  ${p.id.padEnd(36)} ${p.scope.padEnd(8)} ${p.reason.padEnd(12)} ${p.description}`);
      if (p.heldBack) lines.push(`  ${''.padEnd(36)} ${p.heldBack}`);
    }
  }
  lines.push(...indexBuildLines(s.indexBuilds));
  lines.push(...notApplicableLines(s.notApplicable));
  if (s.lastResult) {
    const r = s.lastResult;
    lines.push(
      `Last result: ${r.outcome} ${r.step} on ${r.server} at ${r.endTime ?? r.startTime}` +
        (r.durationMs !== null ? ` (${(r.durationMs / 1000).toFixed(2)} s)` : '') +
        (r.error ? `\n             error: ${r.error}` : ''),
    );
  } else {
    lines.push('Last result: none');
  }
  for (const w of s.warnings) lines.push(`Warning:     ${w}`);
  return lines.join('\n') + '\n';
}

/** "; held back: A, B (why)" for a closing line, or nothing. */
export function heldBackText(heldBack: string[] | undefined, reason: string | undefined): string {
  return heldBack?.length ? `; held back: ${heldBack.join(', ')} (${reason ?? 'left for a later run'})` : '';
}

/** The VLV indexes of a changed definition, which no run before a restart of 389 DS can build; '' for none. */
export function waitingForRestartText(waiting: string[], list: (names: string[]) => string = (names) => names.join(', ')): string {
  return waiting.length ? `; VLV definition changed, left for the first run after 389 DS restarts (it takes the change then): ${list(waiting)}` : '';
}

/** "; indexes built: A, B" or "; index build left for a run by hand: A" for a closing line, or nothing. */
export function indexBuildText(build: { outcome: string; names: string[]; waiting?: string[] } | undefined): string {
  if (!build) return '';
  // One line for dnf: the CA's 34 indexes are named by status, not here.
  const list = (names: string[]) => (names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`);
  const waiting = build.waiting ?? [];
  const rest = build.names.filter((n) => !waiting.includes(n));
  const later = waitingForRestartText(waiting, list);
  if (rest.length === 0) return later;
  if (build.outcome === 'built') return `; indexes built: ${list(rest)}${later}`;
  if (build.outcome === 'deferred') return `; index build left for a run by hand: ${list(rest)}${later}`;
  if (build.outcome === 'planned') return `; an index task would build ${list(rest)}${later}`;
  return later;
}

/** The closing line of a direct or cluster run: what it applied, what it held back, and why. */
export function runSummary(
  label: string,
  result: Pick<RunResult, 'results' | 'plan' | 'databaseVersion' | 'backup' | 'indexBuild'>,
  seconds: number,
): string {
  const took = `${seconds.toFixed(2)} s`;
  const heldBack = heldBackOf(result);
  const build = result.indexBuild && result.indexBuild.outcome !== 'none' ? indexBuildText(result.indexBuild) : '';
  const held = heldBackText(heldBack.ids, heldBack.reason) + (result.backup ? `; backup taken first: ${result.backup}` : '') + build;
  const version = result.databaseVersion ?? '(untracked)';
  const from = result.plan?.databaseVersion ?? '(untracked)';
  const n = appliedOf(result).length;
  if (n === 0) return held ? `${label}: nothing applied, database at version ${version} (${took})${held}` : `${label}: up to date at version ${version} (${took})`;
  if (from === version) return `${label}: ${n} step(s) applied in ${took}, database still at version ${version}${held}`;
  return `${label}: upgraded from ${from} to ${version}, ${n} step(s) in ${took}${held}`;
}

/** What the backend owes a build, and the build running, as status shows them. */
function indexBuildLines(b: OwedIndexBuilds): string[] {
  const lines: string[] = [];
  if (b.owed.length > 0) {
    const exposed = b.owed.filter((name) => !b.held.includes(name));
    const risk =
      exposed.length === 0
        ? 'held out of searches until built: searches on them run unindexed'
        : b.held.length === 0
          ? 'searches on them run unindexed; after a restart of 389 DS they miss entries'
          : `searches on them run unindexed; after a restart of 389 DS those not held (${exposed.join(', ')}) miss entries`;
    lines.push(`Index build: ${b.owed.length} definition(s) not built yet (${risk}): ${b.owed.join(', ')}`);
  }
  if (b.afterRestart.length > 0) lines.push(`             the VLV definition of ${b.afterRestart.join(', ')} changed: 389 DS takes it at its next restart, and the first run after it builds the index`);
  if (b.trusted.length > 0) lines.push(`             389 DS restarted after defining ${b.trusted.join(', ')}: it searches through them as if built, and misses entries; run pki-db-upgrade to build them now`);
  if (b.running) lines.push(`             running: ${b.running.task}${b.running.status ? ` (${b.running.status})` : ''}; the backend is read-only until it ends`);
  else if (b.owed.some((name) => !b.afterRestart.includes(name))) lines.push('             the next run builds them in one index task (the backend is read-only meanwhile)');
  return lines;
}

/** The steps left out, as status and history show them after what was done. */
function notApplicableLines(steps: NotApplicableJson[]): string[] {
  if (steps.length === 0) return [];
  return [
    `Not applicable: ${steps.length} step(s) for other subsystems: not run on this database, not recorded`,
    ...steps.map((p) => `  ${p.id.padEnd(36)} ${p.scope.padEnd(8)} ${`for ${p.appliesTo.join(', ')}`.padEnd(12)} ${p.description}`),
  ];
}

/** The recorded steps; then those not applicable to this database (not in the history) when given. */
export function formatHistory(records: StepRecord[], notApplicable: NotApplicableStep[] = [], audit: AuditEvent[] = []): string {
  const after = notApplicableLines(notApplicable.map(notApplicableJson)).map((l) => `${l}\n`).join('') + auditLines(audit);
  if (records.length === 0) return 'No upgrade step has been recorded in this database.\n' + after;
  const rows = records.map((r) => [
    r.startTime.toISOString().replace('T', ' ').slice(0, 19),
    r.outcome,
    r.stepId,
    r.scope,
    r.server,
    r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(2)} s` : '-',
    r.error ?? '',
  ]);
  const header = ['STARTED (UTC)', 'OUTCOME', 'STEP', 'SCOPE', 'SERVER', 'DURATION', 'ERROR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n' + after;
}
