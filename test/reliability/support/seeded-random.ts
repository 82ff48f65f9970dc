/**
 * Reproducible randomness for the reliability suite: every random choice (kill delays) comes from
 * one seed, printed in the summary, so a failure can be replayed with PKI_TEST_SEED=<seed>.
 */
export const DEFAULT_SEED = 20261125;

export function suiteSeed(): number {
  const raw = process.env.PKI_TEST_SEED;
  if (!raw) return DEFAULT_SEED;
  const seed = Number.parseInt(raw, 10);
  if (!Number.isInteger(seed)) throw new Error(`PKI_TEST_SEED must be an integer, got "${raw}"`);
  return seed;
}

/** mulberry32: small, fast, good enough to spread test delays; not for anything secret. */
export function seededRandom(seed: number): { next(): number; between(min: number, max: number): number } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, between: (min, max) => Math.round(min + next() * (max - min)) };
}
