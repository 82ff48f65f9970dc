/**
 * Who applies the cluster-scope steps when several servers are upgraded at once (dnf on every
 * server): a claim that replication itself arbitrates, without ever creating a replication
 * conflict entry.
 *
 * Each run that wants to apply cluster steps adds an entry of its own server,
 * cn=pki-db-upgrade claim <server>,<suffix> (standard object class applicationProcess, the claim as
 * JSON in description). Different servers never add the same DN, so concurrent claims cannot
 * conflict. Then:
 *
 *   1. another server's live claim is visible -> wait for it to go (bounded), else back off;
 *   2. add ours, and wait until it has reached every supplier AND this server has everything each
 *      supplier had when ours arrived there (convergence.ts, waitUntilExchanged);
 *   3. read the claims again: ours alone -> we hold it. Another live one -> withdraw ours, wait a
 *      random while, start again.
 *
 * Why this is safe: if B added its claim before ours reached B, step 2 brings B's claim here, so
 * we see it and withdraw; if B added it after, B saw ours before adding (step 1 on B) or sees it in
 * its step 3 and withdraws. Two runs can therefore never both hold it; both may withdraw, and the
 * random wait makes a repeat unlikely. "Step 2 brings B's claim here" needs evidence that it did:
 * the RUV itself must show every change made after the in-sync check (a freshly initialized
 * server lists its origin without a CSN, and "covered by the initialization" is only known to the
 * second, which once let both runs take a claim made in that second as exchanged and both hold). It works before the tracking entries exist (the very first
 * upgrade of a cluster, when two servers creating cn=dbUpgrade at once would conflict), which the
 * single-valued pkiDbUpgradeLockHolder on cn=dbUpgrade cannot.
 *
 * With local credentials only, step 2 is "ours is readable on every other server" (local-view.ts):
 * that alone already keeps two runs from both holding it, since each reads the claims only after
 * its own reached the other.
 *
 * A claim is alive while its holder refreshes it (heartbeat); one not refreshed for staleAfterMs,
 * or made from this host by a process that no longer exists, is a leftover of a dead run.
 */
import { isAlive } from '../process/alive';
import os from 'node:os';
import type { Clock } from '../core/clock';
import { hasResultCode, ResultCode, type DirectoryEntry, type LdapSession } from '../core/directory';
import { ClaimLostError } from '../core/errors';
import type { Logger } from '../core/logger';
import { escapeRdnValue } from '../ldap/filter';

const CN_PREFIX = 'pki-db-upgrade claim ';
const DESCRIPTION_PREFIX = 'pki-db-upgrade claim: ';

export interface ClaimData {
  /** The server (history id) whose run claims. */
  server: string;
  /** Identifies one run of the tool. */
  run: string;
  /** Host and process of that run, so a run on the same host can tell a dead one. */
  host: string;
  pid: number;
  since: string;
  heartbeat: string;
  tool?: string;
}

export interface Claim extends ClaimData {
  dn: string;
  /** The description value as stored (for compare-and-swap updates). */
  value: string;
}

export function claimDN(suffix: string, server: string): string {
  return `cn=${escapeRdnValue(CN_PREFIX + server)},${suffix}`;
}

export async function readClaims(ldap: LdapSession, suffix: string): Promise<Claim[]> {
  const entries = await ldap.search(suffix, {
    scope: 'one',
    filter: '(&(objectClass=applicationProcess)(cn=pki-db-upgrade claim *))',
    attributes: ['cn', 'description'],
  });
  return entries.flatMap((e) => {
    const claim = parseClaim(e);
    return claim ? [claim] : [];
  });
}

export function parseClaim(entry: DirectoryEntry): Claim | undefined {
  const value = entry.values('description').find((v) => v.startsWith(DESCRIPTION_PREFIX));
  const data = value === undefined ? undefined : parseDescription(value);
  return data && value !== undefined ? { ...data, dn: entry.dn, value } : undefined;
}

function parseDescription(value: string): ClaimData | undefined {
  if (!value.startsWith(DESCRIPTION_PREFIX)) return undefined;
  try {
    const data = JSON.parse(value.slice(DESCRIPTION_PREFIX.length)) as ClaimData;
    if (typeof data.server !== 'string' || typeof data.run !== 'string' || typeof data.heartbeat !== 'string') return undefined;
    return data;
  } catch {
    return undefined;
  }
}

export function claimValue(data: ClaimData): string {
  return DESCRIPTION_PREFIX + JSON.stringify(data);
}

export interface Liveness {
  now: Date;
  staleAfterMs: number;
  localHost: string;
  isProcessAlive(pid: number): boolean;
}

/** How this host judges claims at `now`: its processes by pid, the others' by their heartbeat. */
export function hostLiveness(now: Date, staleAfterMs: number): Liveness {
  return { now, staleAfterMs, localHost: os.hostname(), isProcessAlive: isAlive };
}

/** Alive: refreshed recently, and not made from this host by a process that is gone. */
export function claimIsLive(claim: ClaimData, liveness: Liveness): boolean {
  if (claim.host === liveness.localHost && !liveness.isProcessAlive(claim.pid)) return false;
  const heartbeat = Date.parse(claim.heartbeat);
  if (Number.isNaN(heartbeat)) return false;
  return liveness.now.getTime() - heartbeat <= liveness.staleAfterMs;
}


export function describeClaim(claim: ClaimData): string {
  return `${claim.server} (run ${claim.run} on ${claim.host}, pid ${claim.pid}, since ${claim.since})`;
}

export interface ClaimOptions {
  /** The local server. */
  ldap: LdapSession;
  suffix: string;
  server: string;
  run: string;
  tool?: string;
  /** After our claim is written: wait until it and the suppliers' writes have been exchanged. */
  exchange(): Promise<void>;
  logger: Logger;
  clock: Clock;
  /** How long to wait for another server's live claim to go away before backing off. */
  waitMs: number;
  staleAfterMs: number;
  heartbeatMs: number;
  pollMs?: number;
  random?: () => number;
  host?: string;
  pid?: number;
  isProcessAlive?: (pid: number) => boolean;
  /** Written readable by anonymous sessions: the local view reads it on the other servers (local-view.ts). */
  readableByAnyone?: boolean;
}

/** Lets anyone read the claim entry, and nothing else under the suffix. */
export const CLAIM_READ_ACI =
  '(targetattr="cn || description || objectClass")(version 3.0; acl "pki-db-upgrade claim: readable by the runs of the other servers"; allow (read, search, compare) userdn = "ldap:///anyone";)';

export type ClaimOutcome = { held: true } | { held: false; holder: Claim };

export class ClusterClaim {
  private current?: { dn: string; value: string; data: ClaimData };
  private timer?: NodeJS.Timeout;
  private lost?: string;
  private refreshing: Promise<void> = Promise.resolve();
  private readonly host: string;
  private readonly pid: number;
  private readonly random: () => number;

  constructor(private readonly options: ClaimOptions) {
    this.host = options.host ?? os.hostname();
    this.pid = options.pid ?? process.pid;
    this.random = options.random ?? Math.random;
  }

  get held(): boolean {
    return this.current !== undefined && this.lost === undefined;
  }

  /** Why the claim was lost while held (its entry replaced or removed), if it was. */
  get lostReason(): string | undefined {
    return this.lost;
  }

  liveness(): Liveness {
    return {
      now: this.options.clock.now(),
      staleAfterMs: this.options.staleAfterMs,
      localHost: this.host,
      isProcessAlive: this.options.isProcessAlive ?? isAlive,
    };
  }

  /**
   * The fence (core/fence.ts): our claim entry still names this run, and it was refreshed recently
   * enough that no other server takes it for a dead run's. One read of the entry.
   */
  async verify(): Promise<void> {
    const current = this.current;
    if (!current) throw new ClaimLostError('this run does not hold the cluster claim', 'run pki-db-upgrade again');
    if (!this.lost) {
      let entry: DirectoryEntry | undefined;
      try {
        entry = await this.options.ldap.read(current.dn, ['description']);
      } catch (err) {
        if (!hasResultCode(err, ResultCode.NoSuchObject)) throw err;
      }
      const age = this.options.clock.now().getTime() - Date.parse(current.data.heartbeat);
      // The heartbeat may be swapping the value right now: match the run, not the exact value.
      if (!entry?.values('description').some((v) => v.includes(`"run":"${current.data.run}"`))) this.lost = 'the claim entry was replaced or removed by another run';
      else if (age > this.options.staleAfterMs) this.lost = `it was not refreshed for ${Math.round(age / 1000)} s, so other servers take it for a dead run's`;
      if (this.lost) this.options.logger.error(`lost the cluster claim: ${this.lost}`);
    }
    if (this.lost) {
      throw new ClaimLostError(
        `this run lost the cluster claim (${this.lost}), so it stopped before writing more`,
        'run pki-db-upgrade again: it resumes at the step it stopped in (pki-db-upgrade cluster status shows who holds the claim now)',
      );
    }
  }

  /** Live claims of other runs (other servers, or another run of this server). */
  async rivals(): Promise<Claim[]> {
    const { ldap, suffix, server, run } = this.options;
    const liveness = this.liveness();
    return (await readClaims(ldap, suffix)).filter((c) => !(c.server === server && c.run === run) && claimIsLive(c, liveness));
  }

  /**
   * Waits (up to waitMs) until no other run holds a live claim, without claiming. Returns the
   * holder still there at the deadline, or undefined. The caller may plan again meanwhile: the
   * other run may have applied what this one came for.
   */
  async waitForRivals(deadline = this.options.clock.monotonicMs() + this.options.waitMs): Promise<Claim | undefined> {
    const { logger, clock, waitMs } = this.options;
    const pollMs = this.options.pollMs ?? 500;
    let announced: string | undefined;
    for (;;) {
      const holder = (await this.rivals())[0];
      if (!holder) return undefined;
      if (clock.monotonicMs() >= deadline) return holder;
      if (announced !== holder.run) {
        announced = holder.run;
        logger.info(`another upgrade holds the cluster claim: ${describeClaim(holder)}; waiting up to ${Math.round(waitMs / 1000)} s for it to finish`);
      }
      await clock.sleep(pollMs);
    }
  }

  async acquire(): Promise<ClaimOutcome> {
    const { logger, clock, waitMs } = this.options;
    const deadline = clock.monotonicMs() + waitMs;
    for (let attempt = 1; ; attempt++) {
      const holder = await this.waitForRivals(deadline);
      if (holder) return { held: false, holder };

      await this.write();
      try {
        await this.options.exchange();
      } catch (err) {
        await this.withdraw();
        throw err;
      }
      const after = await this.rivals();
      if (after.length === 0) {
        this.startHeartbeat();
        logger.info(`this run holds the cluster claim (${this.options.server}, run ${this.options.run})`);
        return { held: true };
      }
      await this.withdraw();
      const backoff = Math.round((0.5 + this.random()) * Math.min(4000, 250 * 2 ** attempt));
      logger.info(`${after.map(describeClaim).join(', ')} claimed at the same time: withdrew ours, trying again in ${backoff} ms`);
      await clock.sleep(backoff);
    }
  }

  /** Removes our claim (if we still hold it); safe to call more than once. */
  async release(): Promise<void> {
    this.stopHeartbeat();
    // A refresh in flight would find the entry gone and report a loss.
    await this.refreshing;
    await this.withdraw();
  }

  private async write(): Promise<void> {
    const { ldap, suffix, server, run, tool, clock } = this.options;
    const now = clock.now().toISOString();
    const data: ClaimData = { server, run, host: this.host, pid: this.pid, since: now, heartbeat: now, tool };
    const dn = claimDN(suffix, server);
    const value = claimValue(data);
    const attributes: Record<string, string[] | string> = { objectClass: ['top', 'applicationProcess'], cn: CN_PREFIX + server, description: value };
    if (this.options.readableByAnyone) attributes.aci = CLAIM_READ_ACI;
    try {
      await ldap.add(dn, attributes);
    } catch (err) {
      if (!hasResultCode(err, ResultCode.EntryAlreadyExists)) throw err;
      // A leftover of a dead run of this server (a live one was seen as a rival before).
      this.options.logger.info(`removing the leftover claim of an earlier run of ${server}`);
      await ldap.delete(dn);
      await ldap.add(dn, attributes);
    }
    this.current = { dn, value, data };
    this.lost = undefined;
  }

  private async withdraw(): Promise<void> {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    const { ldap } = this.options;
    try {
      const entry = await ldap.read(current.dn, ['description']);
      // Delete only our own claim: another run may have taken over a claim it judged dead.
      if (entry?.values('description').some((v) => v.includes(`"run":"${current.data.run}"`))) await ldap.delete(current.dn);
    } catch (err) {
      if (!hasResultCode(err, ResultCode.NoSuchObject)) throw err;
    }
  }

  private startHeartbeat(): void {
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The claim entry as this run last wrote it (DN and description value). */
  get written(): { dn: string; value: string } | undefined {
    return this.current && { dn: this.current.dn, value: this.current.value };
  }

  /**
   * Refreshes the claim now and returns the value written: a change of this server later than
   * every change of this run so far (the local view waits for it to show on the other servers).
   */
  async touch(): Promise<{ dn: string; value: string }> {
    await this.verify();
    await this.refresh();
    return this.written!;
  }

  /** Refreshes the claim by compare-and-swap: fails if someone replaced or removed it. One at a time (heartbeat and touch). */
  private refresh(): Promise<void> {
    const next = this.refreshing.then(() => this.swap());
    this.refreshing = next.catch(() => undefined);
    return next;
  }

  private async swap(): Promise<void> {
    const current = this.current;
    if (!current || this.lost) throw this.lostError(this.lost ?? 'this run does not hold the cluster claim any more');
    // A new value even within the same millisecond: the local view tells its writes apart by it.
    let heartbeat = this.options.clock.now().toISOString();
    if (heartbeat <= current.data.heartbeat) heartbeat = new Date(Date.parse(current.data.heartbeat) + 1).toISOString();
    const data = { ...current.data, heartbeat };
    const value = claimValue(data);
    try {
      await this.options.ldap.modify(current.dn, [
        { operation: 'delete', attribute: 'description', values: [current.value] },
        { operation: 'add', attribute: 'description', values: [value] },
      ]);
    } catch (err) {
      if (!hasResultCode(err, ResultCode.NoSuchAttribute) && !hasResultCode(err, ResultCode.NoSuchObject)) throw err;
      // Released meanwhile (cleanup on a signal): not a loss to report.
      if (this.current !== current) throw this.lostError('this run does not hold the cluster claim any more');
      this.lost = 'the claim entry was replaced or removed by another run';
      this.options.logger.error(`lost the cluster claim: ${this.lost}`);
      throw this.lostError(this.lost);
    }
    if (this.current === current) this.current = { ...current, value, data };
  }

  private lostError(why: string): ClaimLostError {
    return new ClaimLostError(
      `this run lost the cluster claim (${why}), so it stopped before writing more`,
      'run pki-db-upgrade again: it resumes at the step it stopped in (pki-db-upgrade cluster status shows who holds the claim now)',
    );
  }

  /**
   * Whether `values` (the claim entry's description as another server holds it) show this run's
   * claim refreshed at `mark` or later: a heartbeat after the mark replaces the marked value.
   */
  shows(values: string[], mark: { value: string }): boolean {
    const at = parseDescription(mark.value)?.heartbeat;
    return values.some((v) => {
      const data = parseDescription(v);
      return data !== undefined && at !== undefined && data.run === this.options.run && data.server === this.options.server && data.heartbeat >= at;
    });
  }

  private async beat(): Promise<void> {
    if (!this.current || this.lost) return;
    try {
      await this.refresh();
    } catch (err) {
      if (!(err instanceof ClaimLostError)) this.options.logger.warn(`could not refresh the cluster claim: ${(err as Error).message}`);
    }
  }
}
