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

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};
