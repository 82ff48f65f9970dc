/**
 * `status` and `history` in instance mode. status first prints what the status file recorded
 * (works with the 389 DS down: last run, result, log, pending upgrade), then the live state of
 * each database when it can be reached. Neither prompts nor restores password.conf.
 */
import fs from 'node:fs';
import { ExitCode, errorMessage } from '../core/errors';
import { systemClock } from '../core/clock';
import { silentLogger } from '../core/logger';
import { databaseOn, type Registry } from './database';
import type { Io } from './io';
import { allRecords, auditJson, formatHistory, formatStatus, notApplicableJson, recordJson, statusReport, type StatusReport } from '../report/run-report';
import type { NotApplicableStep } from '../core/planner';
import type { SystemPaths } from '../config/paths';
import type { AuditEvent, StepRecord } from '../core/history-store';
import type { PkiInstance } from '../config/instance-discovery';
import { escapeTerminal } from '../logging/escape';
import { lookAtEachSubsystem } from './instance-context';
import { oneLine } from './instance-outcome';
import type { InstanceRequest } from './instance-request';
import { isAlive } from '../process/alive';
import { readStatusFile, statusFilePath, type StatusFile } from '../record/status-file';

interface LiveDatabase {
  subsystem: string;
  report?: StatusReport;
  records?: StepRecord[];
  notApplicable?: NotApplicableStep[];
  audit?: AuditEvent[];
  error?: string;
}

export async function showInstance(paths: SystemPaths, instance: PkiInstance, request: InstanceRequest, registry: Registry, io: Io): Promise<number> {
  const recorded = request.action === 'status' ? readStatusFile(paths.stateDir(instance.name)) : undefined;
  const live = await lookAtEachSubsystem<LiveDatabase>(
    paths,
    instance,
    request,
    io,
    async (sub, session) => {
      const entry: LiveDatabase = { subsystem: sub.name };
      const db = await databaseOn(session, { suffix: sub.cs.internalDb.baseDN, backend: sub.cs.internalDb.backend, subsystem: sub.name }, registry);
      const { plan, state } = await db.engine({ dryRun: true, logger: silentLogger, clock: systemClock }).plan();
      if (request.action === 'status') {
        entry.report = statusReport(`${instance.name}/${sub.name} ${sub.cs.internalDb.baseDN}`, plan, state, await db.owedIndexBuilds());
        // The last run saw the whole cluster (which servers are behind); this look sees the history only.
        const last = recorded?.lastRun?.databases.find((d) => d.subsystem === sub.name);
        for (const p of entry.report.pending) {
          if (!p.heldBack && last?.heldBack?.includes(p.id)) p.heldBack = `held back by the last run: ${last.heldBackReason ?? 'left for a later run'}`;
        }
      } else {
        entry.records = allRecords(state);
        entry.notApplicable = plan.notApplicable;
        entry.audit = state.audit;
      }
      return entry;
    },
    (sub, err) => ({ subsystem: sub.name, error: oneLine(errorMessage(err)) }),
  );

  if (request.json) {
    const databases = live.map((d) => ({ ...d, records: d.records?.map(recordJson), notApplicable: d.notApplicable?.map(notApplicableJson), audit: d.audit?.map(auditJson) }));
    io.stdout.write(JSON.stringify({ instance: instance.name, recorded: recorded ?? null, statusFile: statusFilePath(paths.stateDir(instance.name)), databases }, null, 2) + '\n');
  } else if (request.action === 'status') {
    // What the file owes may have been done since, by another server of the cluster.
    const nowCurrent = live.length > 0 && live.every((d) => d.report?.upToDate);
    // Server text (errors, recorded messages) reaches the terminal escaped (escape.ts).
    io.stdout.write(escapeTerminal(formatRecorded(instance, recorded, statusFilePath(paths.stateDir(instance.name)), nowCurrent)));
    for (const d of live) io.stdout.write(escapeTerminal(d.report ? formatStatus(d.report) : `Database:    ${instance.name}/${d.subsystem}: live state unavailable: ${d.error}\n`));
  } else {
    for (const d of live) {
      io.stdout.write(`== ${instance.name}/${d.subsystem}\n`);
      io.stdout.write(escapeTerminal(d.records ? formatHistory(d.records, d.notApplicable, d.audit) : `history unavailable: ${d.error}\n`));
    }
  }
  // status answers from the file even when the server is down; history needs the server.
  return request.action === 'history' && live.some((d) => d.error) ? ExitCode.ServerUnreachable : ExitCode.Ok;
}

export function formatRecorded(instance: PkiInstance, status: StatusFile | undefined, file: string, nowCurrent = false): string {
  const lines = [`Instance:    ${instance.name} (${instance.dir})`];
  const run = status?.lastRun;
  if (!run) {
    lines.push(`Last run:    none recorded (${fs.existsSync(file) ? 'unreadable' : 'no'} ${file})`);
  } else {
    let result: string = run.result;
    if (run.result === 'running' && !isAlive(run.pid)) result = `interrupted (pid ${run.pid} ended without finishing: killed?)`;
    else if (run.result === 'running') result = `running now (pid ${run.pid})`;
    lines.push(`Last run:    ${run.endTime ?? run.startTime} ${result} (${run.mode}, package ${run.packageVersion}${run.exitCode !== undefined ? `, exit ${run.exitCode}` : ''})`);
    if (run.message) lines.push(`             ${run.message}`);
    if (run.logFile) lines.push(`Log:         ${run.logFile}`);
  }
  if (status?.pending && nowCurrent) {
    lines.push(`Upgrade:     done: pending after the last run here (${status.pending.reason}), but every database is up to date now`);
  } else {
    lines.push(
      status?.pending
        ? `Upgrade:     PENDING since ${status.pending.since} (package ${status.pending.packageVersion}): ${status.pending.reason}`
        : `Upgrade:     ${run ? 'nothing pending after the last run' : 'unknown'}`,
    );
  }
  return lines.join('\n') + '\n';
}
