/**
 * Replica update vectors (RUV) and change sequence numbers (CSN) of 389 DS, as a client reads them
 * from the suffix's RUV tombstone entry: what each server has received from each replica.
 *
 * A CSN is 20 hex digits: seconds since 1970 (8), sequence (4), replica id (4), sub-sequence (4).
 * Fixed width and the time first, so string order is CSN order (after lower-casing).
 */

export interface RuvElement {
  replicaId: number;
  /** The replica's own URL as it names itself, e.g. ldap://ca1.example.com:389. */
  url?: string;
  minCsn?: string;
  /** Newest change of this replica that the server holding the RUV has applied. */
  maxCsn?: string;
}

export interface Ruv {
  generation?: string;
  /** By replica id. */
  elements: Map<number, RuvElement>;
}

/** Base (the suffix), filter and attribute of the entry holding the database RUV. */
export const RUV_FILTER = '(&(objectclass=nstombstone)(nsUniqueId=ffffffff-ffffffff-ffffffff-ffffffff))';
export const RUV_ATTRIBUTE = 'nsds50ruv';

/** The replica id 389 DS gives every read-only consumer: never the origin of a change. */
export const CONSUMER_REPLICA_ID = 65535;

const CSN_PATTERN = /^[0-9a-f]{20}$/;

export function isCsn(text: string): boolean {
  return CSN_PATTERN.test(text.toLowerCase());
}

/** Negative when a is older than b. Both must be CSNs. */
export function compareCsn(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** When the change was made (the CSN's clock has one-second resolution). */
export function csnTime(csn: string): Date {
  return new Date(Number.parseInt(csn.slice(0, 8), 16) * 1000);
}

export function csnReplicaId(csn: string): number {
  return Number.parseInt(csn.slice(12, 16), 16);
}

/**
 * Parses nsds50ruv values:
 *   {replicageneration} 6b069734000000010000
 *   {replica 1 ldap://localhost:39350} 6b069734000300010000 6b069785000000010000
 *   {replica 2 ldap://localhost:39352}                  (no change from replica 2 seen yet)
 * Values in another form are ignored, so a newer server's additions do not break the parser.
 */
export function parseRuv(values: string[]): Ruv {
  const ruv: Ruv = { elements: new Map() };
  for (const raw of values) {
    const value = raw.trim();
    const generation = /^\{replicageneration\}\s+(\S+)/i.exec(value);
    if (generation) {
      ruv.generation = generation[1].toLowerCase();
      continue;
    }
    const m = /^\{replica\s+(\d+)(?:\s+([^}\s]+))?\s*\}(.*)$/i.exec(value);
    if (!m) continue;
    const csns = m[3].trim().split(/\s+/).filter((t) => isCsn(t)).map((t) => t.toLowerCase());
    const element: RuvElement = { replicaId: Number(m[1]), url: m[2] };
    if (csns.length >= 2) {
      element.minCsn = csns[0];
      element.maxCsn = csns[1];
    } else if (csns.length === 1) {
      element.maxCsn = csns[0];
    }
    ruv.elements.set(element.replicaId, element);
  }
  return ruv;
}

export function maxCsn(ruv: Ruv, replicaId: number): string | undefined {
  return ruv.elements.get(replicaId)?.maxCsn;
}

/** True when the RUV shows the change `csn` (or a newer one) of replica `replicaId` applied. */
export function hasReached(ruv: Ruv, replicaId: number, csn: string): boolean {
  const max = maxCsn(ruv, replicaId);
  return max !== undefined && compareCsn(max, csn) >= 0;
}

export interface RuvGap {
  replicaId: number;
  /** What the reference has. */
  expected: string;
  /** What the other has (undefined: no change of that replica yet). */
  actual?: string;
}

/**
 * Replica ids for which `other` has not yet applied everything `reference` shows. Elements of the
 * reference without a CSN say nothing and are skipped.
 */
export function gaps(reference: Ruv, other: Ruv): RuvGap[] {
  const out: RuvGap[] = [];
  for (const element of reference.elements.values()) {
    if (!element.maxCsn) continue;
    const actual = maxCsn(other, element.replicaId);
    if (actual === undefined || compareCsn(actual, element.maxCsn) < 0) {
      out.push({ replicaId: element.replicaId, expected: element.maxCsn, actual });
    }
  }
  return out;
}

/**
 * Two servers have converged when, for every replica id both have a CSN for, the max CSNs are
 * equal. An element without a CSN on one side is ignored: right after a total update the receiving
 * server lists the sender's replica without a CSN although it holds all its data.
 */
export function converged(a: Ruv, b: Ruv): boolean {
  for (const element of a.elements.values()) {
    const other = maxCsn(b, element.replicaId);
    if (element.maxCsn && other && compareCsn(element.maxCsn, other) !== 0) return false;
  }
  return true;
}

/** Whole seconds by which `behind` trails `ahead` (0 when not behind); for progress messages. */
export function lagSeconds(ahead: string, behind: string | undefined): number | undefined {
  if (behind === undefined) return undefined;
  const d = (csnTime(ahead).getTime() - csnTime(behind).getTime()) / 1000;
  return d > 0 ? d : 0;
}

/** For messages: "6b069785000000010000 (2026-11-25 08:09:09Z)". */
export function describeCsn(csn: string | undefined): string {
  if (!csn) return 'none';
  return `${csn} (${csnTime(csn).toISOString().replace('T', ' ').replace('.000Z', 'Z')})`;
}
