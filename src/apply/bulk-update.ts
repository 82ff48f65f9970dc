/**
 * Bulk updates for data backfills over large repositories (e.g. issuerName on 100,000 certificate
 * records):
 *  - the entries come from one paged search, read one page ahead, so memory stays constant;
 *  - writes are pipelined: several modify operations outstanding at once over a few connections,
 *    which keeps 389 DS busy instead of waiting for each round trip; how many is measured during
 *    the pass (ConcurrencyTuner), since it depends on the server and its load;
 *  - progress (count, rate, time left) goes to the log every few seconds, and to a live line when
 *    the console is a terminal;
 *  - the search filter selects only entries still to be changed, so a pass interrupted by a crash
 *    resumes where it stopped, and a pass with nothing left costs one empty search.
 * In dry-run the writer is the recording session: every change becomes LDIF, nothing is written.
 */
import type { DiskSpaceCheck } from './disk-space';
import { systemClock, type Clock } from '../core/clock';
import { hasResultCode, LdapResultError, ResultCode, type DirectoryEntry, type LdapSession, type Modification } from '../core/directory';
import { errorMessage } from '../core/errors';
import type { Fence } from '../core/fence';
import type { Logger } from '../core/logger';
import type { BulkUpdater, BulkUpdateResult, BulkUpdateSpec } from '../core/step';
import { ConcurrencyTuner } from './concurrency-tuner';
import { formatDuration, ProgressReporter } from './progress';
import { readAhead, WritePipeline } from './write-pipeline';

/** Connections to write on, opened for one pass and closed after it. */
export interface WriterPool {
  sessions: LdapSession[];
  close(): Promise<void>;
}

export interface BulkUpdaterOptions {
  /** Runs the searches (the step's session). */
  reader: LdapSession;
  openWriters(): Promise<WriterPool>;
  logger: Logger;
  dryRun: boolean;
  /** Where to draw the live progress line (a TTY), if anywhere. */
  terminal?: NodeJS.WritableStream;
  /** Interval of progress lines in the log (default 10 s). */
  logEveryMs?: number;
  /** Verified before each batch (page) of writes: a run that lost its cluster claim stops there. */
  fence?: Fence;
  /** Asked, before the first write of a large pass, whether it fits on the server's disk. */
  diskSpace?: DiskSpaceCheck;
  clock?: Clock;
}

export const BULK_DEFAULTS = { concurrency: 'auto', pageSize: 500, maxFailures: 20 } as const;
/** How many failed entries an error message names. */
const NAMED_FAILURES = 5;

/**
 * A pass reads every entry under its base, through no index (its filter selects what is still to
 * change, e.g. records without issuerName): a page comes once the server has read that far, which
 * on a resumed pass with little left is nearly all of it. Each page may take this long.
 */
const SCAN_TIMEOUT_MS = 30 * 60_000;

export interface EntryFailure {
  dn: string;
  message: string;
}

/** Some entries could not be changed; the others were. Running the step again retries only those left. */
export class BulkUpdateError extends Error {
  constructor(
    readonly label: string,
    readonly result: BulkUpdateResult,
    readonly failed: number,
    readonly failures: EntryFailure[],
    readonly stoppedEarly: boolean,
  ) {
    const examples = failures.map((f) => `${f.dn}: ${f.message}`).join('; ');
    super(
      `${label}: ${failed} ${failed === 1 ? 'entry' : 'entries'} failed${stoppedEarly ? ' and the pass stopped early' : ''} ` +
        `(${result.modified} updated before that): ${examples}` +
        ' — fix the cause and run the upgrade again: entries already updated are not searched again',
    );
    this.name = 'BulkUpdateError';
  }
}

export class LdapBulkUpdater implements BulkUpdater {
  constructor(private readonly options: BulkUpdaterOptions) {}

  private now(): number {
    return (this.options.clock ?? systemClock).monotonicMs();
  }

  async update(spec: BulkUpdateSpec): Promise<BulkUpdateResult> {
    const { reader, logger, dryRun } = this.options;
    if (!spec.filter.trim()) throw new Error(`${spec.label}: a bulk update needs a filter that selects only the entries left to change`);
    const concurrency = spec.concurrency ?? BULK_DEFAULTS.concurrency;
    const tuner = concurrency === 'auto' ? new ConcurrencyTuner({ clock: this.options.clock }) : undefined;
    const pageSize = spec.pageSize ?? BULK_DEFAULTS.pageSize;
    const maxFailures = spec.maxFailures ?? BULK_DEFAULTS.maxFailures;
    const scope = spec.scope ?? 'one';
    const started = this.now();
    const result: BulkUpdateResult = { matched: 0, modified: 0, unchanged: 0, vanished: 0, durationMs: 0 };

    // No counting pass first: 389 DS serves a `!` filter from no index, so counting the entries
    // reads every one of them, as the pass does again (102 s of a million-record pass,
    // docs/benchmarks.md). The entries under the base bound the pass instead, for the progress
    // lines and the disk check; a pass that finds nothing says so after its one search.
    const bound = scope === 'one' ? await this.childCount(spec.base) : undefined;
    logger.info(
      `${spec.label}: ${dryRun ? 'examining (dry-run)' : 'updating'} the entries under ${spec.base} that match ${spec.filter}` +
        (bound === undefined ? '' : `, at most ${bound.toLocaleString('en-US')} (the entries under it)`),
    );
    const progress = new ProgressReporter(
      { logger, terminal: this.options.terminal, logEveryMs: this.options.logEveryMs, clock: this.options.clock },
      spec.label,
      bound === undefined ? undefined : { total: bound, atMost: true },
    );
    const failures: EntryFailure[] = [];
    let failed = 0;
    let done = 0;
    let fatal: { error: unknown } | undefined;
    const fail = (dn: string, err: unknown) => {
      failed++;
      if (failures.length < NAMED_FAILURES) failures.push({ dn, message: errorMessage(err) });
      progress.log(`${spec.label}: ${dn}: ${errorMessage(err)}`, 'warn');
    };
    const finish = () => {
      done++;
      progress.update(done, failed);
    };

    // Opened at the first write: a pass with nothing to do opens no connection and checks no disk.
    let pool: WriterPool | undefined;
    let pipeline: WritePipeline<LdapSession> | undefined;
    const search = reader.searchStream(spec.base, {
      scope,
      filter: spec.filter,
      attributes: spec.attributes,
      binaryAttributes: spec.binaryAttributes,
      pageSize,
      scanTimeoutMs: SCAN_TIMEOUT_MS,
    });
    try {
      for await (const entry of readAhead(search, pageSize)) {
        if (fatal || failed >= maxFailures) break;
        if (this.options.fence && result.matched % pageSize === 0) {
          try {
            await this.options.fence.verify();
          } catch (err) {
            fatal = { error: err };
            break;
          }
        }
        result.matched++;
        const changes = transformed(spec, entry);
        if (changes instanceof Error) {
          fail(entry.dn, changes);
          finish();
          continue;
        }
        if (!changes || changes.length === 0) {
          result.unchanged++;
          finish();
          continue;
        }
        if (!pipeline) {
          try {
            if (!dryRun && bound !== undefined) await this.options.diskSpace?.ensureRoomFor(bound, spec.label);
            pool = await this.options.openWriters();
          } catch (err) {
            fatal = { error: err };
            break;
          }
          pipeline = new WritePipeline(pool.sessions, tuner?.current ?? (concurrency as number));
        }
        const writes = pipeline;
        await writes.submit(async (writer) => {
          try {
            await writer.modify(entry.dn, changes);
            result.modified++;
          } catch (err) {
            if (hasResultCode(err, ResultCode.NoSuchObject)) result.vanished++;
            else if (err instanceof LdapResultError) fail(entry.dn, err);
            // Not an LDAP answer (connection lost, timeout): no point going on.
            else fatal ??= { error: err };
          }
          if (tuner) {
            tuner.completed();
            writes.setConcurrency(tuner.current);
          }
          finish();
        });
      }
    } finally {
      try {
        await pipeline?.drain();
      } finally {
        progress.clear();
        await pool?.close();
      }
    }
    result.durationMs = this.now() - started;
    if (!fatal && result.matched === 0) {
      logger.info(`${spec.label}: nothing to do (no entry under ${spec.base} matches ${spec.filter})`);
      return result;
    }

    const rate = result.durationMs > 0 ? Math.round((done * 1000) / result.durationMs) : done;
    const summary =
      `${result.modified.toLocaleString('en-US')} ${dryRun ? 'recorded as LDIF' : 'updated'}` +
      (result.unchanged ? `, ${result.unchanged.toLocaleString('en-US')} left unchanged` : '') +
      (result.vanished ? `, ${result.vanished.toLocaleString('en-US')} deleted meanwhile` : '') +
      (failed ? `, ${failed.toLocaleString('en-US')} failed` : '') +
      ` in ${formatDuration(result.durationMs)} (${rate.toLocaleString('en-US')}/s)`;
    if (tuner && tuner.measured().size > 0) {
      const rates = [...tuner.measured()].map(([level, r]) => `${level}: ${Math.round(r).toLocaleString('en-US')}/s`).join(', ');
      logger.debug(`${spec.label}: writes in flight chosen by measurement: ${tuner.current} (latest window per level: ${rates})`);
    }
    if (fatal) {
      const of = bound === undefined ? '' : ` of at most ${bound.toLocaleString('en-US')}`;
      logger.error(`${spec.label}: stopped after ${done.toLocaleString('en-US')}${of}: ${summary}`);
      throw fatal.error;
    }
    if (failed > 0) {
      logger.error(`${spec.label}: ${summary}`);
      throw new BulkUpdateError(spec.label, result, failed, failures, failed >= maxFailures);
    }
    logger.info(`${spec.label}: ${summary}`);
    return result;
  }

  /**
   * How many entries are directly under `base`: 389 DS keeps it as the operational attribute
   * numSubordinates, absent when there are none. Undefined when the base is unreadable.
   */
  private async childCount(base: string): Promise<number | undefined> {
    const entry = await this.options.reader.read(base, ['numSubordinates']);
    if (!entry) return undefined;
    return Number(entry.first('numSubordinates') ?? 0);
  }
}

function transformed(spec: BulkUpdateSpec, entry: DirectoryEntry): Modification[] | undefined | Error {
  try {
    return spec.transform(entry);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
