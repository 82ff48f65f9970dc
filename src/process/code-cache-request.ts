/**
 * The bundle's loader (packaging/code-cache.mjs) writes V8's code cache only at the end of a run
 * that asks for it: one that found nothing to do, the run every PKI server start repeats. The cache
 * then holds what that run compiles and no more: one written after a whole upgrade is a third
 * larger, and slower to load for every no-op run after it (docs/benchmarks.md, "No-op run").
 */
const REQUEST = Symbol.for('pki-db-upgrade.write-code-cache');

/** Asks the loader to write the code cache when this process exits (if it keeps one). */
export function requestCodeCache(): void {
  (process as unknown as Record<symbol, unknown>)[REQUEST] = true;
}
