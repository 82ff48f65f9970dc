/**
 * Bounded polling. Every wait in the harness goes through here so that none can hang forever and
 * every timeout says what it was waiting for (the caller's `describe()` adds instance, port and the
 * tail of the 389 DS error log).
 */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown from a poll check to stop waiting at once (e.g. the server process died). */
export class AbortPoll extends Error {
  override name = 'AbortPoll';
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What we wait for, e.g. "instance standalone (port 18900) to answer". */
  what: string;
  /** Extra diagnostics appended to the timeout error (called only on failure). */
  describe?: () => string | Promise<string>;
}

/**
 * Calls `check` until it returns a value other than undefined/false, or throws after the timeout.
 * Errors thrown by `check` count as "not yet" (the last one is reported on timeout), except
 * AbortPoll, which ends the wait immediately.
 */
export async function pollUntil<T>(check: () => Promise<T | undefined | false>, opts: PollOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      if (err instanceof AbortPoll) {
        const detail = opts.describe ? await opts.describe() : '';
        throw new Error(`gave up waiting for ${opts.what}: ${err.message}${detail ? '\n' + detail : ''}`);
      }
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
  const detail = opts.describe ? await opts.describe() : '';
  const last = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
  throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${last}${detail ? '\n' + detail : ''}`);
}
