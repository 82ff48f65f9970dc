/**
 * The two flow-control pieces of a bulk pass, free of LDAP so they can be tested alone:
 * - readAhead: keeps the next search page coming while the current one is being written, in a
 *   bounded buffer (memory stays constant);
 * - WritePipeline: at most N writes in flight, each sent on the least busy connection.
 */

/**
 * Yields the items of `source`, reading up to `limit` items ahead of the consumer. The source is
 * pulled by a background pump that stops when the buffer is full; an early exit of the consumer
 * (break, throw) stops the pump and closes the source.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, limit: number): AsyncGenerator<T> {
  const buffer: T[] = [];
  let finished = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const notifyConsumer = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };

  const pump = (async () => {
    try {
      for await (const item of source) {
        buffer.push(item);
        notifyConsumer();
        while (buffer.length >= limit && !stopped) await new Promise<void>((r) => (wakePump = r));
        if (stopped) break; // leaving the loop closes the source
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      notifyConsumer();
    }
  })();

  try {
    for (;;) {
      if (buffer.length > 0) {
        const item = buffer.shift() as T;
        wakePump?.();
        wakePump = undefined;
        yield item;
        continue;
      }
      if (failure) throw failure.error;
      if (finished) return;
      await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    stopped = true;
    wakePump?.();
    await pump;
  }
}

/** A connection able to carry writes, with its count of operations in flight. */
interface Lane<W> {
  writer: W;
  inFlight: number;
}

/**
 * Bounded concurrency over a few writers. submit() waits while `concurrency` operations are in
 * flight, then starts `operation` on the writer with the fewest outstanding operations. Operations
 * are expected to handle their own errors; one that rejects anyway is reported by drain().
 *
 * A finished operation wakes the waiters directly. (Waiting with Promise.race over the operations
 * in flight attaches a handler to each of them on every call: with 64 in flight that is 64
 * handlers per write, and a 100,000-entry pass spent more CPU in those than in LDAP.)
 */
export class WritePipeline<W> {
  private readonly lanes: Lane<W>[];
  private running = 0;
  private waiters: (() => void)[] = [];
  private unexpected: { error: unknown } | undefined;

  private concurrency = 1;

  constructor(writers: W[], concurrency: number) {
    if (writers.length === 0) throw new Error('WritePipeline needs at least one writer');
    this.lanes = writers.map((writer) => ({ writer, inFlight: 0 }));
    this.setConcurrency(concurrency);
  }

  /** Changes the limit; lowering it lets the writes in flight finish first. */
  setConcurrency(concurrency: number): void {
    if (!(concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${concurrency}`);
    this.concurrency = concurrency;
  }

  get inFlight(): number {
    return this.running;
  }

  async submit(operation: (writer: W) => Promise<void>): Promise<void> {
    while (this.running >= this.concurrency) await this.oneFinished();
    const lane = this.lanes.reduce((best, l) => (l.inFlight < best.inFlight ? l : best));
    lane.inFlight++;
    this.running++;
    void Promise.resolve()
      .then(() => operation(lane.writer))
      .catch((error: unknown) => {
        this.unexpected ??= { error };
      })
      .finally(() => {
        lane.inFlight--;
        this.running--;
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
  }

  /** Waits for every operation in flight; rethrows the first operation that broke its contract. */
  async drain(): Promise<void> {
    while (this.running > 0) await this.oneFinished();
    if (this.unexpected) throw this.unexpected.error;
  }

  private oneFinished(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}
