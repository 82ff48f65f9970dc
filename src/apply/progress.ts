/**
 * Progress of a long pass: count, rate and time left, as a log line every few seconds and, when
 * the console is a terminal, as one status line redrawn in place.
 */
import { systemClock, type Clock } from '../core/clock';
import type { Logger } from '../core/logger';

export interface ProgressSnapshot {
  label: string;
  /** Entries finished (written, left unchanged, vanished or failed). */
  done: number;
  /** Entries expected in all, when known. */
  total?: number;
  /** The total is a bound (e.g. every entry under the base), not a count: the pass may end sooner. */
  atMost?: boolean;
  failed: number;
  elapsedMs: number;
}

// Made on first use: an Intl.NumberFormat costs ~5 ms of ICU set-up, which a run with nothing to
// do would pay at start-up for nothing (docs/benchmarks.md, "No-op run and bundle size").
let formatter: Intl.NumberFormat | undefined;
const count = { format: (n: number) => (formatter ??= new Intl.NumberFormat('en-US')).format(n) };

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/**
 * "issuerName backfill: 12,000 of 100,000 (12%), 1,950/s, about 40 s left", or with a bound
 * "12,000 of at most 100,000 (12%), 1,950/s, at most 40 s left".
 */
export function describeProgress(p: ProgressSnapshot): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const parts: string[] = [];
  if (p.total !== undefined && p.total > 0) {
    const shown = Math.min(p.done, p.total);
    parts.push(`${count.format(p.done)} of ${p.atMost ? 'at most ' : ''}${count.format(p.total)} (${Math.floor((shown * 100) / p.total)}%)`);
  } else {
    parts.push(count.format(p.done));
  }
  parts.push(`${count.format(Math.round(rate))}/s`);
  if (p.total !== undefined && rate > 0 && p.done < p.total) {
    parts.push(`${p.atMost ? 'at most' : 'about'} ${formatDuration(((p.total - p.done) / rate) * 1000)} left`);
  }
  if (p.failed > 0) parts.push(`${count.format(p.failed)} failed`);
  return `${p.label}: ${parts.join(', ')}`;
}

export interface ProgressOptions {
  logger: Logger;
  /** A terminal to draw the live line on (stderr when it is a TTY); omit otherwise. */
  terminal?: NodeJS.WritableStream;
  /** Interval of log lines (default 10 s). */
  logEveryMs?: number;
  /** Interval of terminal redraws (default 250 ms). */
  drawEveryMs?: number;
  clock?: Clock;
}

/** Reports one pass. Call update() as often as you like: it throttles itself. */
export class ProgressReporter {
  private readonly started: number;
  private lastLog: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly options: ProgressOptions,
    private readonly label: string,
    private readonly expected?: { total: number; atMost?: boolean },
  ) {
    this.started = this.now();
    this.lastLog = this.started;
  }

  private now(): number {
    return (this.options.clock ?? systemClock).monotonicMs();
  }

  snapshot(done: number, failed: number): ProgressSnapshot {
    return { label: this.label, done, total: this.expected?.total, atMost: this.expected?.atMost, failed, elapsedMs: this.now() - this.started };
  }

  update(done: number, failed: number): void {
    const now = this.now();
    if (now - this.lastLog >= (this.options.logEveryMs ?? 10_000)) {
      this.lastLog = now;
      this.log(describeProgress(this.snapshot(done, failed)));
    } else if (this.options.terminal && now - this.lastDraw >= (this.options.drawEveryMs ?? 250)) {
      this.lastDraw = now;
      this.options.terminal.write(`\r${describeProgress(this.snapshot(done, failed))}\x1b[K`);
      this.drawn = true;
    }
  }

  /** Logs a line, first erasing the live line so the two never mix. */
  log(message: string, level: 'info' | 'warn' = 'info'): void {
    this.clear();
    this.options.logger[level](message);
  }

  clear(): void {
    if (this.drawn) {
      this.options.terminal?.write('\r\x1b[K');
      this.drawn = false;
    }
  }
}
