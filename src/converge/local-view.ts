/**
 * What a run that can authenticate to its own server only (LDAPI autobind, as FreeIPA runs it:
 * no password anywhere) still knows of the other servers, and how it knows it.
 *
 * - Who they are: this server's agreements, and its RUV, which lists every supplier that ever
 *   wrote to the suffix. Every such supplier must be a direct consumer of this server (a full mesh,
 *   as seen from here); otherwise this server could not tell that its changes reached it.
 * - What they hold: cn=schema and the cluster claim, read anonymously over the agreement's
 *   transport (389 DS lets anyone read cn=schema; the claim is written readable by anyone). No
 *   password is sent, so none can leak to a server this run did not choose.
 * - Whether they have this server's changes: a server applies the changes of one supplier in CSN
 *   order (its RUV holds one max CSN per supplier), so once a later change of this server, the
 *   claim's refreshed value, is readable there, everything this server wrote before it is there too.
 */
import type { Clock } from '../core/clock';
import { hasResultCode, ResultCode, type LdapSession } from '../core/directory';
import { ClusterNotReadyError, errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import { escapeFilterValue } from '../ldap/filter';
import { hostPortOf } from '../ldap/peer-transport';
import { CONSUMER_REPLICA_ID, type Ruv } from './ruv';
import type { ClusterMember, Topology } from './topology';

export interface Observer {
  member: ClusterMember;
  /** Anonymous: reads cn=schema and the claim entry, nothing else. */
  session: LdapSession;
}

/** A topology seen from this server alone. */
export interface LocalView {
  observers: Observer[];
}

/**
 * nsds5AgmtMaxCSN values of the local replica entry: "suffix;agreement;host;port;consumer rid;csn"
 * (389 DS, repl5_agmt.c). The consumer's replica id shows once the agreement has reached it
 * ("unavailable" before).
 */
export function consumerReplicaIds(values: string[]): Map<string, number> {
  const byAgreement = new Map<string, number>();
  for (const value of values) {
    // From the right: the suffix and the agreement name may hold ';' themselves.
    const parts = value.split(';');
    if (parts.length < 6) continue;
    const rid = Number(parts[parts.length - 2]);
    const name = parts.slice(1, parts.length - 4).join(';');
    if (Number.isInteger(rid) && rid > 0) byAgreement.set(name.toLowerCase(), rid);
  }
  return byAgreement;
}

/**
 * Which replica id each agreement of the local replica entry (cn=replica,...) sends to, by agreement
 * name. 389 DS returns nsds5AgmtMaxCSN only with the in-memory RUV (nsds50ruv) of that entry, and
 * only for enabled agreements.
 */
export async function readConsumerReplicaIds(ldap: LdapSession, suffix: string): Promise<Map<string, number>> {
  const entries = await ldap.search('cn=mapping tree,cn=config', {
    scope: 'sub',
    filter: `(&(objectClass=nsds5Replica)(nsDS5ReplicaRoot=${escapeFilterValue(suffix)}))`,
    attributes: ['nsds50ruv', 'nsds5AgmtMaxCSN'],
  });
  return consumerReplicaIds(entries[0]?.values('nsds5AgmtMaxCSN') ?? []);
}

/** The local view, or why there is none: every other member must be readable anonymously. */
export function localView(topology: Topology): { view: LocalView } | { problems: string[] } {
  const problems: string[] = [];
  const observers: Observer[] = [];
  for (const member of topology.members) {
    if (member.local) continue;
    if (member.session) return { problems: [`${member.id} can be read with the credentials of this run and others cannot: a run reads either every server or its own only`] };
    if (!member.observer) problems.push(`${member.id} cannot be read even anonymously: ${member.observerError ?? member.error ?? 'unknown reason'}`);
    else observers.push({ member, session: member.observer });
  }
  return problems.length > 0 ? { problems } : { view: { observers } };
}

/**
 * The suppliers in this server's RUV that no agreement of this server feeds (by the consumer
 * replica ids of nsds5AgmtMaxCSN, else by the supplier's own URL). 389 DS writes an agreement's
 * consumer id there on a local change once the agreement has reached the consumer: a caller that
 * finds one missing writes again (the claim's refresh) and looks once more.
 */
export function unfedSuppliers(topology: Topology, ruv: Ruv, consumers: Map<string, number>): string[] {
  const fed = new Set<number>();
  const fedUrls = new Set<string>();
  for (const agreement of topology.local.agreements) {
    const rid = consumers.get(agreement.name.toLowerCase());
    if (rid !== undefined) fed.add(rid);
    fedUrls.add(`${agreement.host}:${agreement.port}`.toLowerCase());
  }
  const self = topology.local.replica?.replicaId;
  const problems: string[] = [];
  for (const element of ruv.elements.values()) {
    if (element.replicaId === self || element.replicaId === CONSUMER_REPLICA_ID || fed.has(element.replicaId)) continue;
    if (element.url && fedUrls.has(hostPortOf(element.url))) continue;
    problems.push(
      `the supplier with replica id ${element.replicaId} (${element.url ?? 'URL unknown'}) is not fed by an agreement of ${topology.local.id}, ` +
        'so this server cannot tell whether its changes reached it (a decommissioned server left in the RUV is removed with dsconf INSTANCE repl-tasks cleanallruv)',
    );
  }
  return problems;
}

/**
 * Names each observed server as it names itself (the URL its replica id carries in the RUV: its
 * nsslapd-localhost and port), which is the name the history knows it by. Until then it is known
 * by the host:port of the agreement that feeds it.
 */
export function nameObserved(topology: Topology, ruv: Ruv, consumers: Map<string, number>): void {
  for (const agreement of topology.local.agreements) {
    const member = topology.target(agreement);
    const rid = consumers.get(agreement.name.toLowerCase());
    const url = rid === undefined ? undefined : ruv.elements.get(rid)?.url;
    if (!member || member.local || !member.observer || !url) continue;
    member.id = url.replace(/^[a-z]+:\/\//i, '');
  }
}

export interface SeenOptions {
  /** For messages: "the cluster claim". */
  what: string;
  timeoutMs: number;
  pollMs: number;
  clock: Clock;
  logger: Logger;
  /** Called once if the wait is not over after a few polls: e.g. to poke a busy agreement. */
  nudge?: () => Promise<void>;
}

/** Progress lines while waiting, this often. */
const PROGRESS_MS = 5_000;

/**
 * Waits until every observer reads, in attribute `attribute` of `dn`, values that `shows` accepts
 * (a change of this server, replicated there). Throws ClusterNotReadyError after `timeoutMs`,
 * naming the servers that still lack it.
 */
export async function waitUntilSeen(view: LocalView, dn: string, attribute: string, shows: (values: string[]) => boolean, options: SeenOptions): Promise<void> {
  const { clock } = options;
  const started = clock.monotonicMs();
  const deadline = started + options.timeoutMs;
  let nextProgress = started + PROGRESS_MS;
  let pending = [...view.observers];
  let polls = 0;
  for (;;) {
    const still: Observer[] = [];
    for (const observer of pending) if (!shows(await valuesOn(observer, dn, attribute))) still.push(observer);
    pending = still;
    if (pending.length === 0) return;
    const now = clock.monotonicMs();
    if (now >= nextProgress) {
      options.logger.info(`waiting for ${options.what} to reach ${pending.map((o) => o.member.id).join(', ')} (${Math.round((now - started) / 1000)} s)`);
      nextProgress = now + PROGRESS_MS;
    }
    if (now >= deadline) {
      throw new ClusterNotReadyError(
        `${options.what} did not reach ${pending.map((o) => o.member.id).join(', ')} within ${Math.round(options.timeoutMs / 1000)} s (read anonymously there)`,
        'check the agreements of this server (dsconf INSTANCE repl-agmt status) and that server, then run again',
      );
    }
    if (++polls === 3) await options.nudge?.();
    await clock.sleep(options.pollMs);
  }
}

async function valuesOn(observer: Observer, dn: string, attribute: string): Promise<string[]> {
  try {
    const entry = await observer.session.read(dn, [attribute]);
    return entry?.values(attribute) ?? [];
  } catch (err) {
    if (hasResultCode(err, ResultCode.NoSuchObject)) return [];
    throw new ClusterNotReadyError(`cannot read ${dn} on ${observer.member.id} anonymously: ${errorMessage(err)}`, 'allow anonymous reads there (nsslapd-allow-anonymous-access), or run pki-db-upgrade cluster upgrade with --password-file');
  }
}
