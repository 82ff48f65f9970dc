/**
 * A Clock for tests: time moves only when the code under test sleeps (or the test sets `ms`), and
 * `whileAsleep` lets the test act during each wait (replicate, release a lock, ...). Wall-clock and
 * monotonic time are the same count here.
 */
import type { Clock } from '../../src/core/clock';

export class ManualClock implements Clock {
  constructor(
    public ms = Date.parse('2026-11-25T10:00:00Z'),
    private readonly whileAsleep?: (ms: number) => unknown,
  ) {}

  now(): Date {
    return new Date(this.ms);
  }

  monotonicMs(): number {
    return this.ms;
  }

  async sleep(ms: number): Promise<void> {
    this.ms += ms;
    await this.whileAsleep?.(ms);
  }
}

/** A Clock whose time, wall-clock and monotonic alike, is whatever `read` returns; sleeping takes no time. */
export function clockReading(read: () => number): Clock {
  return { now: () => new Date(read()), monotonicMs: read, sleep: async () => undefined };
}
