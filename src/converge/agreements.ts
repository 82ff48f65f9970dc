/**
 * Replication agreements of one server (cn=config, local to that server): which servers it sends a
 * suffix's changes to, and how the last attempt went.
 */
import type { DirectoryEntry, LdapSession } from '../core/directory';
import { escapeFilterValue } from '../ldap/filter';
import { parseGeneralizedTime } from '../ldap/generalized-time';

/**
 * ok: last session succeeded. warning: a transient failure the server retries by itself (replica
 * busy, backing off). error: the last session failed (cannot connect, bad credentials, ...).
 * paused: nsds5ReplicaEnabled is off, nothing is sent. initializing: a total update is running.
 * unknown: no session yet since the server started.
 */
export type AgreementState = 'ok' | 'warning' | 'error' | 'paused' | 'initializing' | 'unknown';

export interface Agreement {
  dn: string;
  name: string;
  suffix: string;
  /** The receiving server, as the agreement names it. */
  host: string;
  port: number;
  /** LDAP, SSL (LDAPS) or TLS (StartTLS). */
  transport: string;
  enabled: boolean;
  state: AgreementState;
  /** nsds5replicaLastUpdateStatus, e.g. "Error (0) Replica acquired successfully: Incremental update succeeded". */
  status: string;
  updateInProgress: boolean;
  lastUpdateEnd?: string;
  /** When the last successful total update (initialization) of the receiver through this agreement ended. */
  lastInitEnd?: Date;
}

export const AGREEMENT_ATTRIBUTES = [
  'cn',
  'nsDS5ReplicaRoot',
  'nsDS5ReplicaHost',
  'nsDS5ReplicaPort',
  'nsDS5ReplicaTransportInfo',
  'nsds5ReplicaEnabled',
  'nsds5replicaLastUpdateStatus',
  'nsds5replicaLastUpdateStatusJSON',
  'nsds5replicaUpdateInProgress',
  'nsds5replicaLastUpdateEnd',
  'nsds5BeginReplicaRefresh',
  'nsds5replicaLastInitEnd',
  'nsds5replicaLastInitStatus',
];

export async function readAgreements(ldap: LdapSession, suffix: string): Promise<Agreement[]> {
  const entries = await ldap.search('cn=config', {
    scope: 'sub',
    // nsDS5ReplicaRoot has DN syntax: the server matches it however the suffix is spelled.
    filter: `(&(objectClass=nsds5ReplicationAgreement)(nsDS5ReplicaRoot=${escapeFilterValue(suffix)}))`,
    attributes: AGREEMENT_ATTRIBUTES,
  });
  return entries.map(parseAgreement);
}

export function parseAgreement(entry: DirectoryEntry): Agreement {
  const enabled = (entry.first('nsds5ReplicaEnabled') ?? 'on').toLowerCase() !== 'off';
  const status = entry.first('nsds5replicaLastUpdateStatus') ?? '';
  const initializing = entry.has('nsds5BeginReplicaRefresh');
  return {
    dn: entry.dn,
    name: entry.first('cn') ?? entry.dn,
    suffix: entry.first('nsDS5ReplicaRoot') ?? '',
    host: entry.first('nsDS5ReplicaHost') ?? '',
    port: Number(entry.first('nsDS5ReplicaPort') ?? 389),
    transport: (entry.first('nsDS5ReplicaTransportInfo') ?? 'LDAP').toUpperCase(),
    enabled,
    state: !enabled ? 'paused' : initializing ? 'initializing' : classifyStatus(status, entry.first('nsds5replicaLastUpdateStatusJSON')),
    status,
    updateInProgress: (entry.first('nsds5replicaUpdateInProgress') ?? '').toUpperCase() === 'TRUE',
    lastUpdateEnd: entry.first('nsds5replicaLastUpdateEnd'),
    lastInitEnd: /Total update succeeded/i.test(entry.first('nsds5replicaLastInitStatus') ?? '')
      ? parseGeneralizedTime(entry.first('nsds5replicaLastInitEnd') ?? '')
      : undefined,
  };
}

/**
 * 389 DS >= 1.4.2 adds a JSON status whose "state" is green, amber or red; older servers only
 * have the text, whose "Error (N)" is 0 on success.
 */
export function classifyStatus(status: string, json?: string): AgreementState {
  if (/no replication sessions started/i.test(status)) return 'unknown';
  if (json) {
    try {
      const state = String((JSON.parse(json) as { state?: unknown }).state ?? '').toLowerCase();
      if (state === 'green') return 'ok';
      if (state === 'amber') return 'warning';
      if (state === 'red') return 'error';
    } catch {
      // fall back to the text
    }
  }
  const code = /Error \((-?\d+)\)/.exec(status);
  if (!code) return 'unknown';
  if (code[1] === '0') return 'ok';
  if (/busy|backing off|transient/i.test(status)) return 'warning';
  return 'error';
}

/**
 * How to reach the receiving server as the agreement does: LDAPS for SSL, StartTLS
 * (ldap+starttls://, see LdaptsSession) for TLS, so a bind password goes encrypted where
 * replication does.
 */
export function agreementUrl(agreement: Agreement): string {
  const t = agreement.transport;
  const scheme = t === 'SSL' || t === 'LDAPS' ? 'ldaps' : t === 'TLS' || t === 'STARTTLS' ? 'ldap+starttls' : 'ldap';
  const host = agreement.host.includes(':') ? `[${agreement.host}]` : agreement.host;
  return `${scheme}://${host}:${agreement.port}`;
}

/** One line: "to-b (127.0.0.1:39352): paused (nsds5ReplicaEnabled: off)". */
export function describeAgreement(agreement: Agreement): string {
  const where = `${agreement.name} (${agreement.host}:${agreement.port})`;
  switch (agreement.state) {
    case 'paused':
      return `${where}: paused (nsds5ReplicaEnabled: off)`;
    case 'initializing':
      return `${where}: total update (initialization) in progress`;
    default:
      return `${where}: ${agreement.state}${agreement.status ? `: ${agreement.status}` : ''}`;
  }
}

/** A problem that stops cluster-scope steps: nothing or not everything would reach that server. */
export function blockingProblem(agreement: Agreement): string | undefined {
  if (agreement.state === 'paused') return `${describeAgreement(agreement)}: changes made now would not reach ${agreement.host}:${agreement.port}`;
  if (agreement.state === 'error') return `${describeAgreement(agreement)}`;
  if (agreement.state === 'initializing') return `${describeAgreement(agreement)}: ${agreement.host}:${agreement.port} is being re-initialized`;
  return undefined;
}
