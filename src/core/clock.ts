/** Time source of the engine, injectable so tests can fix durations and timestamps. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
