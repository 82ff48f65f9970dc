/**
 * Picks how many writes to keep in flight by measuring, because whether pipelining pays depends
 * on the server, its caches and its load. Raw modifies on 389 DS 2.3 as packaged (jemalloc),
 * 2 cores, 20,000 entries: one write at a time ran at 2,300-2,700/s; 16 to 64 in flight at
 * 8,700-10,000/s, over one to three connections alike; but 2 in flight on one connection stalled
 * again and again (257/s) and 3-4 ran no faster than one; with an undersized entry cache every
 * level above 1 stalled. So: try each level for a window of writes, keep the fastest, and re-check
 * it against its neighbours now and then, since the load changes during a long pass. The default
 * levels skip the 2-4-per-connection zone.
 *
 * A window is at least 400 writes and at least 250 ms: 400 writes take ~40 ms at 16 in flight,
 * and one 50 ms hiccup of a busy machine then made a level look four times slower than it is. A
 * level at under half the best of its round ends its window after 250 ms (clearlyLosing).
 */
import { systemClock, type Clock } from '../core/clock';

export interface TunerOptions {
  /** Levels to choose from, ascending (default 1, 16, 32, 64: with two connections 1, 8, 16, 32 each). */
  levels?: number[];
  /** Writes per measurement window (default 400). */
  windowSize?: number;
  /** Shortest measurement window in ms, whatever its writes (default 250). */
  minWindowMs?: number;
  /** Windows at the chosen level between two re-checks (default 15). */
  steadyWindows?: number;
  clock?: Clock;
}

export class ConcurrencyTuner {
  private readonly levels: number[];
  private readonly windowSize: number;
  private readonly minWindowMs: number;
  private readonly steadyWindows: number;
  private readonly now: () => number;
  /** Rates (writes per second) measured in the current round, by level. */
  private readonly rates = new Map<number, number>();
  /** Levels still to measure in this round; undefined when settled. */
  private queue: number[] | undefined;
  private level: number;
  private windowStart: number;
  private inWindow = 0;
  private steadyLeft = 0;

  constructor(options: TunerOptions = {}) {
    this.levels = options.levels ?? [1, 16, 32, 64];
    if (this.levels.length === 0 || this.levels.some((l) => !(l >= 1))) throw new Error('concurrency levels must be at least 1');
    this.windowSize = options.windowSize ?? 400;
    this.minWindowMs = options.minWindowMs ?? 250;
    this.steadyWindows = options.steadyWindows ?? 15;
    const clock = options.clock ?? systemClock;
    this.now = () => clock.monotonicMs();
    // One write at a time is measured last: it is rarely the fastest, and measured first it also
    // carried the start of the pass (first search page, cold JIT): 750-1,000/s against ~2,400/s.
    this.queue = [...this.levels.slice(1), this.levels[0]];
    this.level = this.queue.shift() as number;
    this.windowStart = this.now();
  }

  /**
   * A level below half the best rate of its round after the shortest window cannot be chosen: a
   * hiccup of the machine only makes a level look slower, and not by half in that time. Its
   * window ends there. One write at a time with durable transactions runs at a fifth of 64 in
   * flight, and its full window of 400 writes cost 8% of a 20,000-record pass (bench-scale).
   */
  private clearlyLosing(elapsedMs: number): boolean {
    if (!this.queue || this.rates.size === 0 || elapsedMs <= 0) return false;
    const best = Math.max(...this.rates.values());
    return (this.inWindow * 1000) / elapsedMs < best / 2;
  }

  /** Writes to keep in flight now. */
  get current(): number {
    return this.level;
  }

  /** Writes per second measured in the current (or last) round, by level. */
  measured(): ReadonlyMap<number, number> {
    return this.rates;
  }

  /** Call once per finished write. */
  completed(): void {
    ++this.inWindow;
    const elapsed = this.now() - this.windowStart;
    if (elapsed < this.minWindowMs) return;
    if (this.inWindow < this.windowSize && !this.clearlyLosing(elapsed)) return;
    this.rates.set(this.level, (this.inWindow * 1000) / Math.max(1, elapsed));
    this.inWindow = 0;
    this.windowStart = this.now();

    if (this.queue) {
      const next = this.queue.shift();
      if (next !== undefined) {
        this.level = next;
        return;
      }
      // Round over: settle on the fastest level measured.
      this.queue = undefined;
      this.level = [...this.rates].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
      this.steadyLeft = this.steadyWindows;
      return;
    }
    if (--this.steadyLeft > 0) return;
    // Re-check the chosen level against its neighbours: the load changes during a long pass.
    const i = this.levels.indexOf(this.level);
    const round = [this.levels[i - 1], this.levels[i + 1], this.level].filter((l): l is number => l !== undefined);
    this.rates.clear();
    this.level = round.shift() as number;
    this.queue = round;
  }
}
