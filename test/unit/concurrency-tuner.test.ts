/** Choosing the number of writes in flight by measuring, on a simulated server. */
import { clockReading } from '../support/manual-clock';
import { ConcurrencyTuner } from '../../src/apply/concurrency-tuner';

/** Runs `writes` completions; each takes 1000/rate(level) ms of the fake clock. */
function simulate(tuner: ConcurrencyTuner, clock: { t: number }, writes: number, rate: (level: number) => number): number[] {
  const levels: number[] = [];
  for (let i = 0; i < writes; i++) {
    clock.t += 1000 / rate(tuner.current);
    tuner.completed();
    levels.push(tuner.current);
  }
  return levels;
}

function tuner(clock: { t: number }) {
  return new ConcurrencyTuner({ levels: [1, 2, 4, 8], windowSize: 10, minWindowMs: 0, steadyWindows: 5, clock: clockReading(() => clock.t) });
}

describe('ConcurrencyTuner', () => {
  it('tries every level once, the lowest last, then keeps the fastest', () => {
    const clock = { t: 0 };
    const t = tuner(clock);
    expect(t.current).toBe(2);
    const levels = simulate(t, clock, 40, (l) => ({ 1: 1500, 2: 1500, 4: 2500, 8: 1300 })[l]!);
    expect(levels.slice(0, 9)).toEqual(Array(9).fill(2));
    expect([levels[9], levels[19], levels[29]]).toEqual([4, 8, 1]);
    expect(levels[39]).toBe(4);
    expect(Math.round(t.measured().get(4)!)).toBe(2500);
  });

  it('keeps one write at a time where pipelining makes the server slower', () => {
    const clock = { t: 0 };
    const t = tuner(clock);
    simulate(t, clock, 40, (l) => 2000 / l);
    expect(t.current).toBe(1);
  });

  it('re-checks its choice against the neighbouring levels and follows a change of load', () => {
    const clock = { t: 0 };
    const t = tuner(clock);
    simulate(t, clock, 40, (l) => ({ 1: 1000, 2: 3000, 4: 2000, 8: 1000 })[l]!);
    expect(t.current).toBe(2);
    // The server gets busy: now one at a time is best. After the steady windows, 1 and 4 are
    // measured again against 2.
    const levels = simulate(t, clock, 50 + 30, (l) => ({ 1: 2000, 2: 1000, 4: 1200, 8: 300 })[l]!);
    expect(new Set(levels.slice(40, 70))).toEqual(new Set([1, 4, 2]));
    expect(t.current).toBe(1);
  });

  it('measures each level for a minimum time, so that a fast level is not judged on a few milliseconds', () => {
    const clock = { t: 0 };
    const t = new ConcurrencyTuner({ levels: [1, 16], windowSize: 10, minWindowMs: 100, clock: clockReading(() => clock.t) });
    // 8,000 writes/s at level 16: 10 writes take 1.25 ms, so the window runs on to 100 ms (800 writes).
    const levels = simulate(t, clock, 1200, (l) => (l === 16 ? 8_000 : 4_000));
    expect(levels.indexOf(1)).toBe(799);
    expect(Math.round(t.measured().get(16)!)).toBe(8_000);
  });

  it('ends the window of a level at under half the best of its round after the shortest time, and measures a closer one in full', () => {
    const clock = { t: 0 };
    const t = new ConcurrencyTuner({ levels: [1, 8, 16], windowSize: 2_000, minWindowMs: 100, clock: clockReading(() => clock.t) });
    // 16: 8,000/s, its full window of 2,000 writes. 8 at 5,000/s is above half: 2,000 writes too.
    // 1 at 1,000/s is below half of 8,000: its window ends at 100 ms (100 writes), not at 2 s.
    const levels = simulate(t, clock, 4_200, (l) => ({ 1: 1_000, 8: 5_000, 16: 8_000 })[l]!);
    expect(levels.slice(0, 1_999).every((l) => l === 8)).toBe(true);
    expect(levels.indexOf(1)).toBe(3_999);
    expect(levels.lastIndexOf(1)).toBe(3_999 + 99); // its 100th write ends the window
    expect(t.current).toBe(16);
    expect(Math.round(t.measured().get(1)!)).toBe(1_000);
  });

  it('starts pipelined and skips 2-4 per connection by default', () => {
    const t = new ConcurrencyTuner();
    expect(t.current).toBe(16);
    const clock = { t: 0 };
    const seen = new Set<number>();
    const d = new ConcurrencyTuner({ clock: clockReading(() => clock.t) });
    for (let i = 0; i < 20_000; i++) {
      clock.t += 1;
      d.completed();
      seen.add(d.current);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([1, 16, 32, 64]);
  });

  it('refuses levels below 1', () => {
    expect(() => new ConcurrencyTuner({ levels: [0, 2] })).toThrow(/at least 1/);
  });
});
