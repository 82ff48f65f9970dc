/**
 * `pki-db-upgrade cluster status`: every server of the suffix, its agreements, its RUV, whether it
 * has converged with the local server, the database version it sees, a freeze and the claims.
 */
import type { Clock } from '../core/clock';
import type { HistoryState } from '../core/history-store';
import { errorMessage } from '../core/errors';
import { trackingDNs } from '../ldap/tracking-schema';
import { claimIsLive, hostLiveness, readClaims } from '../lock/cluster-claim';
import { readFreezeState } from '../converge/freeze';
import { converged, csnTime, gaps, lagSeconds, type Ruv } from '../converge/ruv';
import { readRuv, type Topology } from '../converge/topology';

export interface ServerStatus {
  id: string;
  url: string;
  local: boolean;
  reachable: boolean;
  error: string | null;
  role: string | null;
  replicaId: number | null;
  /** The version this server's copy of the tracking entry holds (replication lag shows here). */
  databaseVersion: string | null;
  /** The package version it recorded in the history (as the local server sees it). */
  packageVersion: string | null;
  /** Converged with the local server (same max CSN for every replica both know); null: unknown. */
  converged: boolean | null;
  /** Why not converged, e.g. "replica 1: 3 s behind". */
  lag: string | null;
  initializing: boolean;
  frozen: { by: string; run: string; at: string; leftover: boolean } | null;
  ruv: { replicaId: number; url: string | null; maxCsn: string | null; time: string | null }[];
  agreements: { name: string; to: string; enabled: boolean; state: string; status: string; lastUpdateEnd: string | null }[];
}

export interface ClusterStatusReport {
  suffix: string;
  local: string;
  replicated: boolean;
  servers: ServerStatus[];
  claims: { server: string; run: string; host: string; pid: number; since: string; heartbeat: string; live: boolean }[];
}

export async function clusterStatus(options: {
  topology: Topology | undefined;
  suffix: string;
  localId: string;
  state: HistoryState;
  clock: Clock;
  staleClaimMs: number;
}): Promise<ClusterStatusReport> {
  const { topology, suffix, localId, state, clock } = options;
  if (!topology) return { suffix, local: localId, replicated: false, servers: [], claims: [] };
  const liveness = hostLiveness(clock.now(), options.staleClaimMs);
  const claims = (await readClaims(topology.local.session!, suffix)).map((c) => ({
    server: c.server,
    run: c.run,
    host: c.host,
    pid: c.pid,
    since: c.since,
    heartbeat: c.heartbeat,
    live: claimIsLive(c, liveness),
  }));
  const liveRuns = new Set(claims.filter((c) => c.live).map((c) => c.run));

  const readings = await Promise.all(topology.members.map((m) => (m.session ? readRuv(m.session, suffix) : Promise.resolve(undefined))));
  const localReading = readings[0];
  const localRuv = localReading && 'ruv' in localReading ? localReading.ruv : undefined;

  const servers: ServerStatus[] = [];
  for (const [i, member] of topology.members.entries()) {
    const reading = readings[i];
    const ruv = reading && 'ruv' in reading ? reading.ruv : undefined;
    let databaseVersion: string | null = null;
    let frozen: ServerStatus['frozen'] = null;
    let error = member.error ?? null;
    if (member.session) {
      try {
        const root = await member.session.read(trackingDNs(suffix).root, ['pkiDbUpgradeVersion']);
        databaseVersion = root?.first('pkiDbUpgradeVersion') ?? null;
        if (member.replica) {
          const { marker } = await readFreezeState(member.session, suffix);
          if (marker) frozen = { by: marker.by, run: marker.run, at: marker.at, leftover: !liveRuns.has(marker.run) };
        }
      } catch (err) {
        error = errorMessage(err);
      }
    }
    if (reading && 'error' in reading) error = error ?? reading.error;
    const info = state.serverInfo.get(member.local ? localId : member.id);
    servers.push({
      id: member.id,
      url: member.url,
      local: member.local,
      reachable: member.session !== undefined,
      error,
      role: member.replica?.role ?? null,
      replicaId: member.replica?.replicaId ?? null,
      databaseVersion,
      packageVersion: info?.packageVersion ?? null,
      converged: member.local ? true : ruv && localRuv ? converged(localRuv, ruv) : null,
      lag: member.local || !ruv || !localRuv ? null : describeGaps(localRuv, ruv),
      initializing: reading !== undefined && 'initializing' in reading,
      frozen,
      ruv: ruv ? ruvRows(ruv) : [],
      agreements: member.agreements.map((a) => ({
        name: a.name,
        to: topology.target(a)?.id ?? `${a.host}:${a.port}`,
        enabled: a.enabled,
        state: a.state,
        status: a.status,
        lastUpdateEnd: a.lastUpdateEnd ?? null,
      })),
    });
  }
  return { suffix, local: localId, replicated: true, servers, claims };
}

function ruvRows(ruv: Ruv): ServerStatus['ruv'] {
  return [...ruv.elements.values()]
    .sort((a, b) => a.replicaId - b.replicaId)
    .map((e) => ({ replicaId: e.replicaId, url: e.url ?? null, maxCsn: e.maxCsn ?? null, time: e.maxCsn ? csnTime(e.maxCsn).toISOString() : null }));
}

function describeGaps(local: Ruv, other: Ruv): string | null {
  const behind = gaps(local, other).map((g) => `lacks changes of replica ${g.replicaId}${g.actual ? ` (${lagSeconds(g.expected, g.actual)} s behind)` : ''}`);
  const ahead = gaps(other, local).map((g) => `has changes of replica ${g.replicaId} this server lacks`);
  const parts = [...behind, ...ahead];
  return parts.length ? parts.join(', ') : null;
}

export function formatClusterStatus(report: ClusterStatusReport): string {
  if (!report.replicated) return `${report.suffix} on ${report.local} is not replicated (no replica entry in cn=config)\n`;
  const lines: string[] = [`Replication of ${report.suffix}, as seen from ${report.local}:`, ''];
  for (const s of report.servers) {
    const head = `${s.id}${s.local ? ' (this server)' : ''}`;
    lines.push(head);
    if (!s.reachable) {
      lines.push(`  unreachable: ${s.error}`, '');
      continue;
    }
    lines.push(`  role: ${s.role ?? 'unknown'}${s.replicaId !== null ? `, replica id ${s.replicaId}` : ''}`);
    lines.push(`  database version: ${s.databaseVersion ?? '(untracked)'}; package recorded: ${s.packageVersion ?? '(never ran pki-db-upgrade)'}`);
    if (!s.local) {
      const c = s.initializing ? 'no: being re-initialized (total update)' : s.converged === null ? 'unknown' : s.converged ? 'yes' : `no: ${s.lag ?? 'differs'}`;
      lines.push(`  converged with ${report.local}: ${c}`);
    }
    if (s.frozen) {
      lines.push(
        `  FROZEN (read-only: client writes refused) by ${s.frozen.by}, run ${s.frozen.run}, since ${s.frozen.at}` +
          (s.frozen.leftover ? ' - left by a run that is gone: the next pki-db-upgrade cluster upgrade lifts it' : ''),
      );
    }
    if (s.error) lines.push(`  error: ${s.error}`);
    for (const e of s.ruv) lines.push(`  RUV replica ${e.replicaId}: ${e.maxCsn ? `${e.maxCsn} (${e.time})` : 'no change yet'}`);
    for (const a of s.agreements) {
      lines.push(`  agreement ${a.name} -> ${a.to}: ${a.enabled ? a.state : 'paused'}${a.status ? ` (${a.status})` : ''}`);
    }
    lines.push('');
  }
  if (report.claims.length === 0) lines.push('cluster claim: none (no upgrade running)');
  for (const c of report.claims) {
    lines.push(`cluster claim: ${c.server}, run ${c.run} on ${c.host} (pid ${c.pid}) since ${c.since}, refreshed ${c.heartbeat}${c.live ? '' : ' - stale, ignored'}`);
  }
  return lines.join('\n') + '\n';
}
