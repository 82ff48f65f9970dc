/**
 * Waiting for replication, by RUV: a server has received a change of replica R once its max CSN
 * for R is at least that change's CSN. Every wait is bounded, says every few seconds who it waits
 * for, and on timeout names the lagging server, how far behind it is and what the agreements that
 * feed it report.
 *
 * A wait fails once the lagging servers' RUVs have not moved for `timeoutMs` (a healthy replica
 * replaying a large backfill keeps moving for minutes), and in any case after `capMs`.
 *
 * Waits are "caught up with a snapshot", never "RUVs equal": on a busy cluster the RUVs are rarely
 * equal at the instant they are read, but every server reaching what the others had at one moment
 * is both reachable and exactly what the callers need.
 */
import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import { ClusterNotReadyError } from '../core/errors';
import type { Logger } from '../core/logger';
import { describeAgreement, readAgreements } from './agreements';
import { compareCsn, csnTime, hasReached, lagSeconds, maxCsn, type Ruv } from './ruv';
import { agreementsTo, readRuv, type ClusterMember, type RuvReading, type Topology } from './topology';

/** What one server must have applied: replica id -> CSN. */
export interface Expectation {
  member: ClusterMember;
  reach: Map<number, string>;
  /**
   * Changes that an initialization may account for (coveredByInit), per replica id: only those up
   * to this CSN; a replica absent here must show the change itself. Unset: any change.
   */
  initCovers?: Map<number, string>;
}

/** Has `member` applied the change `csn` of replica `rid`, by its RUV `ruv`? */
function holds(e: Expectation, ruv: Ruv, topology: Topology, rid: number, csn: string): boolean {
  if (hasReached(ruv, rid, csn)) return true;
  const upTo = e.initCovers ? e.initCovers.get(rid) : csn;
  return upTo !== undefined && compareCsn(csn, upTo) <= 0 && coveredByInit(topology, e.member, ruv, rid, csn);
}

function satisfies(e: Expectation, ruv: Ruv, topology: Topology): boolean {
  return [...e.reach].every(([rid, csn]) => holds(e, ruv, topology, rid, csn));
}

/**
 * After a total update the receiving server lists the sender's replica without a CSN, although it
 * holds all its data, and keeps it so until the sender's next change arrives. A change of replica
 * `rid` made no later than the end of the last initialization of `member` by the origin of `rid`
 * (origin's clock, whole seconds) is therefore there: sent with the data, or replayed right after
 * it, which would have given the replica a CSN. Without this, a check after a fresh
 * initialization would wait for a write that may never come.
 *
 * The end of the initialization is known to the second only, so a change made in that same
 * second, just AFTER the initialization, also passes here although it may not have arrived. A
 * wait about changes made after the cluster was seen in sync (the claim exchange) must therefore
 * not rely on this for them (Expectation.initCovers): such changes always arrive as replicated
 * changes, which give the replica a CSN.
 */
export function coveredByInit(topology: Topology, member: ClusterMember, ruv: Ruv, rid: number, csn: string): boolean {
  const element = ruv.elements.get(rid);
  if (!element || element.maxCsn) return false;
  const origin = topology.members.find((m) => m.replica?.replicaId === rid && m.replica.role === 'supplier');
  const init = origin?.agreements.find((a) => topology.target(a) === member && a.lastInitEnd)?.lastInitEnd;
  return init !== undefined && csnTime(csn).getTime() <= Math.floor(init.getTime() / 1000) * 1000;
}

/** No wait lasts longer than this, progress or not: well inside the %posttrans limit (30 min). */
export const WAIT_CAP_MS = 20 * 60_000;

export interface WaitOptions {
  topology: Topology;
  /** For messages: "the upgrade's changes to reach every server". */
  what: string;
  /** Fails after this long without progress of the lagging servers' RUVs. */
  timeoutMs: number;
  /** Fails after this long in all (default WAIT_CAP_MS). */
  capMs?: number;
  /**
   * Called once when the wait has not finished after `nudgeAfterMs` (default 300 ms), with the
   * servers still lacking changes: e.g. to poke an agreement that backs off from a busy replica.
   */
  nudge?: (lagging: ClusterMember[]) => Promise<void>;
  nudgeAfterMs?: number;
  pollMs?: number;
  /** How often a progress line is logged while waiting. */
  progressMs?: number;
  logger: Logger;
  clock?: Clock;
}

export interface Lag {
  member: ClusterMember;
  state: 'behind' | 'initializing' | 'unreadable';
  /** What it lacks, or why it cannot be read. */
  detail: string;
  /** Largest lag behind the expected changes, in seconds (CSN clock), when known. */
  seconds?: number;
  /** Status of the agreements that send to it: "localhost:39350 -> to-b (127.0.0.1:39352): ok: Error (0) ...". */
  agreements: string[];
}

/**
 * Waits until every expectation holds. Returns the RUV each server had when its expectation was
 * first seen to hold (callers use it as the next snapshot). Throws ClusterNotReadyError on timeout,
 * or at once for a server that cannot be contacted at all.
 */
export async function waitUntilReached(expectations: Expectation[], options: WaitOptions): Promise<Map<ClusterMember, Ruv>> {
  const { topology, logger, timeoutMs } = options;
  const clock = options.clock ?? systemClock;
  const pollMs = options.pollMs ?? 100;
  const progressMs = options.progressMs ?? 5000;
  const started = clock.monotonicMs();
  const capMs = options.capMs ?? WAIT_CAP_MS;
  let nextProgress = started + progressMs;
  let nudged = false;
  // Progress: a lagging server's max CSN, for a replica id it waits for, moved since the last poll.
  const reached = new Map<Expectation, Map<number, string>>();
  let movedAt = started;

  const satisfied = new Map<ClusterMember, Ruv>();
  let pending = expectations.filter((e) => e.reach.size > 0);
  for (const e of expectations) if (e.reach.size === 0) satisfied.set(e.member, { elements: new Map() });
  const last = new Map<Expectation, RuvReading>();

  const unreachable = pending.find((e) => !e.member.session);
  if (unreachable) {
    const lags = await describeLags([unreachable], last, topology);
    throw new ClusterNotReadyError(
      `cannot wait for ${options.what}: ${formatLag(lags[0])}`,
      'make the server reachable from here with the same credentials (or remove its replication agreements if it was decommissioned), then run again',
    );
  }

  for (;;) {
    await Promise.all(
      pending.map(async (e) => {
        const reading = await readRuv(e.member.session!, topology.suffix);
        last.set(e, reading);
        if (!('ruv' in reading)) return;
        if (satisfies(e, reading.ruv, topology)) satisfied.set(e.member, reading.ruv);
        const before = reached.get(e) ?? new Map<number, string>();
        for (const rid of e.reach.keys()) {
          const now = maxCsn(reading.ruv, rid);
          const was = before.get(rid);
          if (now && (!was || compareCsn(now, was) > 0)) {
            if (reached.has(e)) movedAt = clock.monotonicMs();
            before.set(rid, now);
          }
        }
        reached.set(e, before);
      }),
    );
    pending = pending.filter((e) => !satisfied.has(e.member));
    if (pending.length === 0) return satisfied;

    const now = clock.monotonicMs();
    if (now - movedAt >= timeoutMs || now - started >= capMs) {
      const lags = await describeLags(pending, last, topology);
      const why = now - started >= capMs ? `within the cap of ${Math.round(capMs / 1000)} s` : `: no progress for ${Math.round((now - movedAt) / 1000)} s`;
      throw new ClusterNotReadyError(
        `replication did not deliver ${options.what}${why.startsWith(':') ? '' : ' '}${why}: ${lags.map(formatLag).join('; ')}`,
        'fix the agreement or the lagging server (dsconf INSTANCE repl-agmt status --suffix SUFFIX NAME; ' +
          'dsconf INSTANCE repl-agmt poke --suffix SUFFIX NAME retries at once), then run again',
      );
    }
    if (!nudged && options.nudge && now - started >= (options.nudgeAfterMs ?? 300)) {
      nudged = true;
      await options.nudge(pending.map((e) => e.member));
    }
    if (now >= nextProgress) {
      nextProgress = now + progressMs;
      const lags = await describeLags(pending, last, topology);
      logger.info(`waiting for ${options.what} (${Math.round((now - started) / 1000)} s): ${lags.map(formatLag).join('; ')}`);
    }
    await clock.sleep(pollMs);
  }
}

/** Why each pending expectation does not hold yet; re-reads the feeding agreements for fresh status. */
export async function describeLags(pending: Expectation[], last: Map<Expectation, RuvReading>, topology: Topology): Promise<Lag[]> {
  const senders = new Set<ClusterMember>();
  for (const e of pending) for (const { from } of agreementsTo(topology, e.member)) senders.add(from);
  await Promise.all(
    [...senders].map(async (from) => {
      if (!from.session) return;
      try {
        from.agreements = await readAgreements(from.session, topology.suffix);
      } catch {
        // keep the status read before
      }
    }),
  );
  return pending.map((e) => {
    const agreements = agreementsTo(topology, e.member).map(({ from, agreement }) => `${from.id} -> ${describeAgreement(agreement)}`);
    const reading = last.get(e);
    if (!e.member.session) return { member: e.member, state: 'unreadable', detail: e.member.error ?? 'not reachable', agreements };
    if (!reading) return { member: e.member, state: 'unreadable', detail: 'not read yet', agreements };
    if ('initializing' in reading) {
      return { member: e.member, state: 'initializing', detail: 'a total update (re-initialization) is running there: it answers with referrals', agreements };
    }
    if ('error' in reading) return { member: e.member, state: 'unreadable', detail: `cannot read its RUV: ${reading.error}`, agreements };
    let worst: number | undefined;
    const parts: string[] = [];
    for (const [rid, csn] of e.reach) {
      if (holds(e, reading.ruv, topology, rid, csn)) continue;
      const has = maxCsn(reading.ruv, rid);
      const lag = lagSeconds(csn, has);
      if (lag !== undefined) worst = Math.max(worst ?? 0, lag);
      parts.push(
        has
          ? `has the changes of ${replicaName(topology, rid)} up to ${clockTime(has)}, needs ${clockTime(csn)} (${lag ?? '?'} s behind)`
          : `has no change of ${replicaName(topology, rid)} yet, needs ${clockTime(csn)}`,
      );
    }
    return { member: e.member, state: 'behind', detail: parts.join(', '), seconds: worst, agreements };
  });
}

export function formatLag(lag: Lag): string {
  const via = lag.agreements.length ? ` [${lag.agreements.join('; ')}]` : '';
  return `${lag.member.id}${lag.member.local ? ' (this server)' : ''}: ${lag.detail}${via}`;
}

function replicaName(topology: Topology, rid: number): string {
  const member = topology.members.find((m) => m.replica?.replicaId === rid && m.replica.role === 'supplier');
  return member ? `replica ${rid} (${member.id})` : `replica ${rid}`;
}

function clockTime(csn: string): string {
  return `${csnTime(csn).toISOString().slice(11, 19)}Z [${csn}]`;
}

/** Newest CSN per replica id over several RUVs (elements without a CSN say nothing). */
export function newest(ruvs: Iterable<Ruv>): Map<number, string> {
  const out = new Map<number, string>();
  for (const ruv of ruvs) {
    for (const element of ruv.elements.values()) {
      if (!element.maxCsn) continue;
      const current = out.get(element.replicaId);
      if (!current || compareCsn(element.maxCsn, current) > 0) out.set(element.replicaId, element.maxCsn);
    }
  }
  return out;
}

/** The local server's RUV now; throws when it cannot be read (the local server must answer). */
export async function localRuv(topology: Topology): Promise<Ruv> {
  const reading = await readRuv(topology.local.session!, topology.suffix);
  if ('ruv' in reading) return reading.ruv;
  if ('initializing' in reading) {
    throw new ClusterNotReadyError(
      `${topology.local.id} is being re-initialized (total update of ${topology.suffix} in progress)`,
      'wait until the initialization has finished, then run again',
    );
  }
  throw new ClusterNotReadyError(`cannot read the replication state (RUV) of ${topology.suffix} on ${topology.local.id}: ${reading.error}`);
}

/**
 * Converged as of now: every other server reaches what this server has applied now, and this
 * server reaches what each supplier has applied now. Used before cluster-scope steps. Returns
 * what every server holds from then on (newest CSN per replica id of the readings compared):
 * every change newer than that was made after this check, i.e. after any initialization of
 * these servers had ended (a server being initialized fails the check).
 */
export async function waitUntilInSync(options: WaitOptions): Promise<Map<number, string>> {
  const { topology } = options;
  const mine = await localRuv(topology);
  const peers = topology.members.filter((m) => !m.local);
  const theirs: Ruv[] = [];
  for (const peer of peers.filter((m) => m.session)) {
    const reading = await readRuv(peer.session!, topology.suffix);
    if ('ruv' in reading) theirs.push(reading.ruv);
  }
  const expectations: Expectation[] = peers.map((member) => ({ member, reach: newest([mine]) }));
  expectations.push({ member: topology.local, reach: newest(theirs) });
  await waitUntilReached(expectations, options);
  return newest([mine, ...theirs]);
}

/** Every other server has applied this server's changes up to `csn`. */
export async function waitForLocalChanges(csn: string, options: WaitOptions, members?: ClusterMember[]): Promise<void> {
  const { topology } = options;
  const rid = topology.local.replica!.replicaId;
  const expectations = (members ?? topology.members).filter((m) => !m.local).map((member) => ({ member, reach: new Map([[rid, csn]]) }));
  await waitUntilReached(expectations, options);
}

/**
 * Both ways, around a write of ours with CSN `csn`: first every supplier has it; then this server
 * has everything each supplier had applied at the moment it was seen to have it. A write a
 * supplier made before ours reached it is therefore here afterwards; one it made later was made
 * while ours was visible there.
 *
 * `inSync` is what waitUntilInSync returned before our write. Only changes up to it may be taken
 * as delivered by an initialization; anything newer (our write, and a rival's claim) must show in
 * the RUV itself. Otherwise a change made in the same second as the end of a total update counts
 * as there before it has arrived: two servers each "see" the other's claim as exchanged, read no
 * rival, and both hold the claim.
 */
export async function waitUntilExchanged(csn: string, inSync: Map<number, string>, options: WaitOptions): Promise<void> {
  const { topology } = options;
  const rid = topology.local.replica!.replicaId;
  const others = topology.members.filter((m) => !m.local && m.replica?.role !== 'consumer' && m.replica?.role !== 'hub');
  const seen = await waitUntilReached(
    others.map((member) => ({ member, reach: new Map([[rid, csn]]), initCovers: inSync })),
    options,
  );
  await waitUntilReached([{ member: topology.local, reach: newest(seen.values()), initCovers: inSync }], options);
}
