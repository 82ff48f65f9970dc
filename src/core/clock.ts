/**
 * The one source of time: wall-clock timestamps for what is recorded or shown, a monotonic
 * millisecond count for durations and deadlines (a clock step during a long run must not cut a
 * wait short or stretch it), and sleep. Everything that waits or measures takes a Clock, so tests
 * run long waits in no time.
 */
export interface Clock {
  now(): Date;
  monotonicMs(): number;
  sleep(ms: number): Promise<void>;
}

// process.hrtime, not performance.now(): the global `performance` loads node's perf_hooks (nine
// modules) at its first use, at every start. Counted from here, so it starts near 0 as that did.
const origin = process.hrtime.bigint();

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => Number(process.hrtime.bigint() - origin) / 1e6,
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};
