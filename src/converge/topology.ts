/**
 * Which servers hold a replicated suffix, found from the replication agreements: those of the local
 * server, then those of every server reached through them (a chain A -> B -> C finds C too).
 *
 * Each server is named by the identity the history uses (host:port from its own cn=config, see
 * server-identity.ts), so that a server reached as 127.0.0.1:389 and named ca1.example.com:389 in an
 * agreement is one server, and the local server is recognised when a peer's agreement points back.
 * Peers are contacted with the local server's credentials (Directory Manager on every server of a
 * PKI cluster); one that cannot be reached is kept with the reason, never silently dropped.
 */
import { hasResultCode, ResultCode, type LdapSession } from '../core/directory';
import { ConfigError, errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import { escapeFilterValue } from '../ldap/filter';
import { identifyServer } from '../ldap/server-identity';
import { agreementUrl, readAgreements, type Agreement } from './agreements';
import { CONSUMER_REPLICA_ID, parseRuv, RUV_ATTRIBUTE, RUV_FILTER, type Ruv } from './ruv';

export type ReplicaRole = 'supplier' | 'hub' | 'consumer';

export interface ReplicaInfo {
  /** cn=replica,<mapping tree node> */
  dn: string;
  /** The mapping tree node of the suffix (where its nsslapd-state lives). */
  mappingTreeDN: string;
  replicaId: number;
  role: ReplicaRole;
}

export interface ClusterMember {
  /** host:port as the server names itself (nsslapd-localhost, nsslapd-port); the agreement's host:port when unreachable. */
  id: string;
  /** The URL this tool used (or would use) to reach it. */
  url: string;
  local: boolean;
  /** Open while the topology is; undefined when the server could not be reached. */
  session?: LdapSession;
  replica?: ReplicaInfo;
  agreements: Agreement[];
  /** Why the server could not be reached or read. */
  error?: string;
  /** It may well be up: this run has no credentials that work there (LDAPI autobind is local). */
  unreadable?: boolean;
  /** Unreadable with the run's credentials: an anonymous session for the local view (local-view.ts). */
  observer?: PeerSession;
  /** Why not even an anonymous session could be opened. */
  observerError?: string;
}

export interface Topology {
  suffix: string;
  local: ClusterMember;
  /** Every server found, the local one first. */
  members: ClusterMember[];
  /** The member an agreement sends to, when it was found. */
  target(agreement: Agreement): ClusterMember | undefined;
  /** Closes the peers' sessions (not the local one: the caller owns it). */
  close(): Promise<void>;
}

/** A session to a peer, which the topology closes when it is done. */
export type PeerSession = LdapSession & { close(): Promise<void> };
export type Connect = (url: string) => Promise<PeerSession>;

/** At most this many servers are visited: a bound for a misconfigured agreement loop. */
const MAX_MEMBERS = 64;

export async function readReplica(ldap: LdapSession, suffix: string): Promise<ReplicaInfo | undefined> {
  const entries = await ldap.search('cn=mapping tree,cn=config', {
    scope: 'sub',
    filter: `(&(objectClass=nsds5Replica)(nsDS5ReplicaRoot=${escapeFilterValue(suffix)}))`,
    attributes: ['nsDS5ReplicaId', 'nsDS5ReplicaType', 'nsDS5Flags'],
  });
  const entry = entries[0];
  if (!entry) return undefined;
  const type = entry.first('nsDS5ReplicaType');
  const flags = entry.first('nsDS5Flags');
  const role: ReplicaRole = type === '3' ? 'supplier' : flags === '1' ? 'hub' : 'consumer';
  return {
    dn: entry.dn,
    mappingTreeDN: entry.dn.slice(entry.dn.search(/(?<!\\),/) + 1),
    replicaId: Number(entry.first('nsDS5ReplicaId') ?? CONSUMER_REPLICA_ID),
    role,
  };
}

export type RuvReading = { ruv: Ruv } | { initializing: true } | { error: string };

/**
 * The database RUV of the suffix on one server. While a total update replaces its data the server
 * answers with a referral (10): that is reported as initializing, i.e. not converged.
 */
export async function readRuv(ldap: LdapSession, suffix: string): Promise<RuvReading> {
  try {
    const entries = await ldap.search(suffix, { scope: 'sub', filter: RUV_FILTER, attributes: [RUV_ATTRIBUTE] });
    if (entries.length === 0) return { error: `no RUV under ${suffix} (is the suffix replicated there?)` };
    return { ruv: parseRuv(entries[0].values(RUV_ATTRIBUTE)) };
  } catch (err) {
    if (hasResultCode(err, ResultCode.Referral)) return { initializing: true };
    if (hasResultCode(err, ResultCode.NoSuchObject)) return { error: `${suffix} does not exist there` };
    return { error: errorMessage(err) };
  }
}

/**
 * Finds the servers holding `suffix`. Returns undefined when the suffix is not replicated on the
 * local server (no replica entry): the caller then upgrades it as a standalone database.
 */
export async function discoverTopology(options: {
  local: LdapSession;
  /** The local server's name in the history (may be overridden by --server-id). */
  localId: string;
  suffix: string;
  connect: Connect;
  /** Anonymous sessions to the servers `connect` has no credentials for. */
  observe?: Connect;
  logger: Logger;
}): Promise<Topology | undefined> {
  const { local, localId, suffix, connect, observe, logger } = options;
  const replica = await readReplica(local, suffix);
  if (!replica) return undefined;

  const localSelf = await identifyServer(local);
  const localMember: ClusterMember = { id: localId, url: local.url, local: true, session: local, replica, agreements: await readAgreements(local, suffix) };
  const members: ClusterMember[] = [localMember];
  // Servers by their own identity, and by every URL an agreement used for them.
  const byIdentity = new Map<string, ClusterMember>([[localSelf, localMember]]);
  const byUrl = new Map<string, ClusterMember>([[local.url, localMember]]);
  const opened: PeerSession[] = [];

  const queue: Agreement[] = [...localMember.agreements];
  while (queue.length > 0 && members.length < MAX_MEMBERS) {
    const agreement = queue.shift()!;
    const url = agreementUrl(agreement);
    if (byUrl.has(url)) continue;
    let session: PeerSession;
    try {
      session = await connect(url);
    } catch (err) {
      const unreadable = err instanceof ConfigError;
      const member: ClusterMember = { id: `${agreement.host}:${agreement.port}`, url, local: false, agreements: [], error: errorMessage(err), unreadable };
      if (unreadable && observe) {
        try {
          member.observer = await observe(url);
          opened.push(member.observer);
        } catch (observeErr) {
          member.observerError = errorMessage(observeErr);
        }
      }
      if (!member.observer) logger.warn(`${unreadable ? 'cannot read' : 'cannot reach'} ${url} (replication agreement ${agreement.name}): ${member.error}`);
      members.push(member);
      byUrl.set(url, member);
      continue;
    }
    let identity: string;
    try {
      identity = await identifyServer(session);
    } catch (err) {
      await session.close();
      const member: ClusterMember = { id: `${agreement.host}:${agreement.port}`, url, local: false, agreements: [], error: errorMessage(err) };
      members.push(member);
      byUrl.set(url, member);
      continue;
    }
    try {
      const known = byIdentity.get(identity);
      if (known) {
        // The local server or one already found, under another name.
        byUrl.set(url, known);
        await session.close();
        continue;
      }
      opened.push(session);
      const member: ClusterMember = { id: identity, url, local: false, session, agreements: [] };
      members.push(member);
      byIdentity.set(identity, member);
      byUrl.set(url, member);
      member.replica = await readReplica(session, suffix);
      if (!member.replica) {
        member.error = `${suffix} is not replicated there (no replica entry), although ${agreement.name} sends it there`;
        continue;
      }
      member.agreements = await readAgreements(session, suffix);
      queue.push(...member.agreements);
    } catch (err) {
      const member = byUrl.get(url);
      if (member) member.error = errorMessage(err);
    }
  }

  return {
    suffix,
    local: localMember,
    members,
    target: (agreement) => byUrl.get(agreementUrl(agreement)),
    close: async () => {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
    },
  };
}

/** Members that originate changes (and could therefore claim or write): suppliers. */
export function suppliers(topology: Topology): ClusterMember[] {
  return topology.members.filter((m) => m.replica?.role === 'supplier' || (!m.replica && m.error !== undefined));
}

/** Agreements of any reached member that send to `member`, with the sender's name. */
export function agreementsTo(topology: Topology, member: ClusterMember): { from: ClusterMember; agreement: Agreement }[] {
  const out: { from: ClusterMember; agreement: Agreement }[] = [];
  for (const from of topology.members) {
    for (const agreement of from.agreements) {
      if (topology.target(agreement) === member) out.push({ from, agreement });
    }
  }
  return out;
}
