/** The bulk update pass, its flow control and its progress reports, on an in-memory directory. */
import { clockReading } from '../support/manual-clock';
import type { Clock } from '../../src/core/clock';
import { LdapResultError, type DirectoryEntry, type Modification } from '../../src/core/directory';
import { ServerUnreachableError } from '../../src/core/errors';
import type { Logger } from '../../src/core/logger';
import type { BulkUpdateSpec } from '../../src/core/step';
import { BulkUpdateError, LdapBulkUpdater } from '../../src/apply/bulk-update';
import { DiskSpaceError, type DiskSpaceCheck } from '../../src/apply/disk-space';
import { describeProgress, ProgressReporter } from '../../src/apply/progress';
import { readAhead, WritePipeline } from '../../src/apply/write-pipeline';
import { FakeDirectory, type FakeSession } from '../support/fake-directory';

function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const logger: Logger = {
    debug: (message) => lines.push({ level: 'debug', message }),
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    error: (message) => lines.push({ level: 'error', message }),
  };
  return { logger, lines };
}

/** n records, every third one already has a `fixed` value. */
function repository(n: number, options: ConstructorParameters<typeof FakeDirectory>[1] = {}) {
  const dir = new FakeDirectory((a) => !a.fixed, options);
  for (let i = 1; i <= n; i++) dir.add(`cn=${i},ou=repo`, i % 3 === 0 ? { cn: [String(i)], fixed: ['old'] } : { cn: [String(i)] });
  return dir;
}

/** A disk check that records what it was asked, and refuses with `refusal` if given. */
function diskSpace(refusal?: Error): DiskSpaceCheck & { asked: { entries: number; label: string }[] } {
  const asked: { entries: number; label: string }[] = [];
  return {
    asked,
    async ensureRoomFor(entries, label) {
      asked.push({ entries, label });
      if (refusal) throw refusal;
    },
  };
}

function updater(dir: FakeDirectory, writers = 2, extra: { dryRun?: boolean; clock?: Clock; logEveryMs?: number; diskSpace?: DiskSpaceCheck } = {}) {
  const { logger, lines } = recordingLogger();
  const sessions: FakeSession[] = Array.from({ length: writers }, (_, i) => dir.session(`w${i}`));
  let opened = 0;
  const bulk = new LdapBulkUpdater({
    reader: dir.session('reader'),
    openWriters: async () => {
      opened++;
      return { sessions, close: async () => sessions.forEach((s) => (s.closed = true)) };
    },
    logger,
    dryRun: extra.dryRun ?? false,
    clock: extra.clock,
    logEveryMs: extra.logEveryMs,
    diskSpace: extra.diskSpace,
  });
  return { bulk, lines, sessions, opened: () => opened };
}

const fix = (entry: DirectoryEntry): Modification[] => [{ operation: 'replace', attribute: 'fixed', values: [`v${entry.first('cn')}`] }];

function spec(extra: Partial<BulkUpdateSpec> = {}): BulkUpdateSpec {
  return { label: 'test backfill', base: 'ou=repo', filter: '(!(fixed=*))', attributes: ['cn'], transform: fix, pageSize: 10, ...extra };
}

describe('LdapBulkUpdater', () => {
  it('changes every entry the filter selects and no other', async () => {
    const dir = repository(100);
    const { bulk, lines, sessions } = updater(dir);
    const result = await bulk.update(spec());
    expect(result).toMatchObject({ matched: 67, modified: 67, unchanged: 0, vanished: 0 });
    expect(dir.entries.get('cn=1,ou=repo')!.fixed).toEqual(['v1']);
    expect(dir.entries.get('cn=3,ou=repo')!.fixed).toEqual(['old']);
    expect([...dir.entries.values()].every((a) => a.fixed)).toBe(true);
    expect(sessions.every((s) => s.closed)).toBe(true);
    expect(lines.map((l) => l.message)).toEqual([
      'test backfill: updating the entries under ou=repo that match (!(fixed=*)), at most 100 (the entries under it)',
      expect.stringMatching(/^test backfill: 67 updated in \d+ s \(\d[\d,]*\/s\)$/),
    ]);
  });

  it('keeps several writes in flight, never more than asked, spread over the writer connections', async () => {
    const dir = repository(200, { writeDelayMs: 5 });
    const { bulk } = updater(dir, 2);
    await bulk.update(spec({ concurrency: 6 }));
    expect(dir.maxInFlight).toBe(6);
    const perSession = new Map<string, number>();
    for (const w of dir.writes) perSession.set(w.session, (perSession.get(w.session) ?? 0) + 1);
    expect([...perSession.keys()].sort()).toEqual(['w0', 'w1']);
    for (const n of perSession.values()) expect(n).toBeGreaterThan(50);
  });

  it('writes one at a time when concurrency is 1', async () => {
    const dir = repository(30, { writeDelayMs: 2 });
    await updater(dir).bulk.update(spec({ concurrency: 1 }));
    expect(dir.maxInFlight).toBe(1);
    expect(dir.writes).toHaveLength(20);
  });

  it('finds nothing to do with its one search, and then opens no writer connection and checks no disk', async () => {
    const dir = repository(30);
    for (const attrs of dir.entries.values()) attrs.fixed = ['done'];
    const disk = diskSpace();
    const { bulk, lines, opened } = updater(dir, 2, { diskSpace: disk });
    const result = await bulk.update(spec());
    expect(result).toMatchObject({ matched: 0, modified: 0 });
    expect(opened()).toBe(0);
    expect(disk.asked).toEqual([]);
    // One search: 30 entries in pages of 10.
    expect(dir.pagesServed).toBe(3);
    expect(lines.map((l) => l.message)).toEqual([
      'test backfill: updating the entries under ou=repo that match (!(fixed=*)), at most 30 (the entries under it)',
      'test backfill: nothing to do (no entry under ou=repo matches (!(fixed=*)))',
    ]);
  });

  it('reads the entries once: no counting search before the pass', async () => {
    const dir = repository(100);
    await updater(dir).bulk.update(spec());
    // 100 entries in pages of 10: one search.
    expect(dir.pagesServed).toBe(10);
  });

  it('asks the disk for room for every entry under the base before its first write', async () => {
    const dir = repository(100);
    const disk = diskSpace();
    await updater(dir, 2, { diskSpace: disk }).bulk.update(spec());
    expect(disk.asked).toEqual([{ entries: 100, label: 'test backfill' }]);
  });

  it('writes nothing when the disk has no room, and fails with the disk\'s error', async () => {
    const dir = repository(100);
    const disk = diskSpace(new DiskSpaceError('not enough disk space for test backfill'));
    const { bulk, opened } = updater(dir, 2, { diskSpace: disk });
    await expect(bulk.update(spec())).rejects.toThrow(DiskSpaceError);
    expect(dir.writes).toHaveLength(0);
    expect(opened()).toBe(0);
  });

  it('resumes after an interruption without touching what was already done', async () => {
    const dir = repository(60);
    // First pass dies (connection lost) after some writes.
    let writes = 0;
    const dying = new FakeDirectory(dir.matches, {
      failWrite: () => (++writes > 15 ? new ServerUnreachableError('lost the connection') : undefined),
    });
    for (const [dn, attrs] of dir.entries) dying.add(dn, attrs);
    await expect(updater(dying, 1).bulk.update(spec({ concurrency: 1 }))).rejects.toThrow(ServerUnreachableError);
    const fixedBefore = [...dying.entries.values()].filter((a) => a.fixed && a.fixed[0] !== 'old').length;
    expect(fixedBefore).toBe(15);

    const again = new FakeDirectory(dir.matches);
    for (const [dn, attrs] of dying.entries) again.add(dn, attrs);
    const result = await updater(again).bulk.update(spec());
    expect(result.matched).toBe(40 - 15);
    expect(again.writes.map((w) => w.dn)).not.toContain('cn=1,ou=repo');
    expect([...again.entries.values()].every((a) => a.fixed)).toBe(true);
  });

  it('leaves entries the transform declines, and counts them', async () => {
    const dir = repository(30);
    const result = await updater(dir).bulk.update(spec({ transform: (e) => (Number(e.first('cn')) % 2 ? fix(e) : undefined) }));
    expect(result).toMatchObject({ matched: 20, modified: 10, unchanged: 10 });
  });

  it('goes on past a failing entry, writes the others, then fails naming the entry', async () => {
    const dir = repository(30);
    const { bulk, lines } = updater(dir);
    const pass = bulk.update(
      spec({
        transform: (e) => {
          if (e.first('cn') === '7') throw new Error('certificate is not DER');
          return fix(e);
        },
      }),
    );
    await expect(pass).rejects.toThrow(BulkUpdateError);
    await expect(pass).rejects.toThrow(/1 entry failed \(19 updated before that\): cn=7,ou=repo: certificate is not DER/);
    expect(dir.entries.get('cn=7,ou=repo')!.fixed).toBeUndefined();
    expect(dir.entries.get('cn=8,ou=repo')!.fixed).toEqual(['v8']);
    expect(lines).toContainEqual({ level: 'warn', message: 'test backfill: cn=7,ou=repo: certificate is not DER' });
  });

  it('stops early when failures pile up (a systematic error)', async () => {
    const dir = repository(300, { failWrite: (dn) => new LdapResultError(50, 'modify', dn, 'Insufficient access') });
    const pass = updater(dir).bulk.update(spec({ maxFailures: 5, concurrency: 2 }));
    const err: BulkUpdateError = await pass.then(
      () => {
        throw new Error('expected a failure');
      },
      (e) => e,
    );
    expect(err).toBeInstanceOf(BulkUpdateError);
    expect(err.stoppedEarly).toBe(true);
    // The failures of writes already in flight when the limit was reached still count.
    expect(err.failed).toBeGreaterThanOrEqual(5);
    expect(err.failed).toBeLessThanOrEqual(7);
    expect(err.failures).toHaveLength(5);
    expect(err.message).toMatch(/LDAP result 50/);
  });

  it('counts entries deleted meanwhile as vanished, not failed', async () => {
    const dir = repository(30);
    const result = await updater(dir).bulk.update(
      spec({
        transform: (e) => {
          if (e.first('cn') === '4') dir.entries.delete(e.dn);
          return fix(e);
        },
      }),
    );
    expect(result).toMatchObject({ matched: 20, modified: 19, vanished: 1 });
  });

  it('stops at once and rethrows when the connection is lost', async () => {
    const dir = repository(300, { failWrite: () => new ServerUnreachableError('lost the connection to 389 DS') });
    const { bulk, lines } = updater(dir);
    await expect(bulk.update(spec({ concurrency: 4 }))).rejects.toThrow('lost the connection to 389 DS');
    expect(dir.writes).toHaveLength(0);
    expect(lines.at(-1)).toMatchObject({ level: 'error', message: expect.stringMatching(/^test backfill: stopped after \d+ of at most 300/) });
  });

  it('logs progress with rate and time left at the interval', async () => {
    let t = 0;
    const dir = repository(90);
    const { bulk, lines } = updater(dir, 1, { clock: clockReading(() => (t += 100)), logEveryMs: 1000 });
    await bulk.update(spec({ concurrency: 1, transform: fix }));
    // The bound is every entry under the base (90): a third of them already have the value.
    const progress = lines.filter((l) => / of at most 90 /.test(l.message));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0].message).toMatch(/^test backfill: \d+ of at most 90 \(\d+%\), \d+\/s, at most \d+ s left$/);
  });

  it('refuses a pass without a filter', async () => {
    await expect(updater(repository(3)).bulk.update(spec({ filter: ' ' }))).rejects.toThrow(/needs a filter/);
  });
});

describe('readAhead', () => {
  async function* numbers(n: number, seen: { pulled: number; closed: boolean }) {
    try {
      for (let i = 0; i < n; i++) {
        seen.pulled++;
        await new Promise((r) => setImmediate(r));
        yield i;
      }
    } finally {
      seen.closed = true;
    }
  }

  it('yields everything in order', async () => {
    const seen = { pulled: 0, closed: false };
    const out: number[] = [];
    for await (const x of readAhead(numbers(50, seen), 7)) out.push(x);
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seen.closed).toBe(true);
  });

  it('never reads more than the limit ahead of a slow consumer', async () => {
    const seen = { pulled: 0, closed: false };
    let consumed = 0;
    let maxAhead = 0;
    for await (const _ of readAhead(numbers(100, seen), 10)) {
      consumed++;
      await new Promise((r) => setTimeout(r, 1));
      maxAhead = Math.max(maxAhead, seen.pulled - consumed);
    }
    expect(maxAhead).toBeLessThanOrEqual(11);
    expect(maxAhead).toBeGreaterThanOrEqual(5);
  });

  it('closes the source when the consumer stops early', async () => {
    const seen = { pulled: 0, closed: false };
    for await (const x of readAhead(numbers(1000, seen), 10)) if (x === 3) break;
    expect(seen.closed).toBe(true);
    expect(seen.pulled).toBeLessThan(20);
  });

  it('passes on an error of the source', async () => {
    async function* broken() {
      yield 1;
      throw new Error('search failed');
    }
    const out: number[] = [];
    await expect(
      (async () => {
        for await (const x of readAhead(broken(), 5)) out.push(x);
      })(),
    ).rejects.toThrow('search failed');
    expect(out).toEqual([1]);
  });
});

describe('WritePipeline', () => {
  it('keeps at most N writes in flight, each on the least busy writer, and drains them all', async () => {
    const pipeline = new WritePipeline(['a', 'b'], 3);
    const started: string[] = [];
    const release: (() => void)[] = [];
    let inFlight = 0;
    let most = 0;
    const submitting = (async () => {
      for (let i = 0; i < 10; i++) {
        await pipeline.submit(async (writer) => {
          started.push(writer);
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise<void>((r) => release.push(r));
          inFlight--;
        });
      }
    })();
    // Finish writes one at a time, oldest first, until the submitter and the pipeline are done.
    let finished = 0;
    while (finished < 10) {
      await new Promise((r) => setImmediate(r));
      const next = release.shift();
      if (next) {
        next();
        finished++;
      }
    }
    await submitting;
    await pipeline.drain();
    expect(most).toBe(3);
    expect(pipeline.inFlight).toBe(0);
    expect(started.slice(0, 3)).toEqual(['a', 'b', 'a']);
    expect(started).toHaveLength(10);
  });

  it('reports an operation that rejected when drained', async () => {
    const pipeline = new WritePipeline(['a'], 2);
    await pipeline.submit(async () => {
      throw new Error('bug');
    });
    await expect(pipeline.drain()).rejects.toThrow('bug');
  });
});

describe('progress', () => {
  it('describes count, percentage, rate and time left', () => {
    expect(describeProgress({ label: 'backfill', done: 12000, total: 100000, failed: 0, elapsedMs: 6000 })).toBe(
      'backfill: 12,000 of 100,000 (12%), 2,000/s, about 44 s left',
    );
    expect(describeProgress({ label: 'backfill', done: 500, failed: 2, elapsedMs: 1000 })).toBe('backfill: 500, 500/s, 2 failed');
    expect(describeProgress({ label: 'b', done: 10, total: 7200 * 10 + 10, failed: 0, elapsedMs: 1000 })).toMatch(/about 2 h 00 min left/);
  });

  it('says "at most" of a total that is only a bound', () => {
    expect(describeProgress({ label: 'backfill', done: 12000, total: 100000, atMost: true, failed: 0, elapsedMs: 6000 })).toBe(
      'backfill: 12,000 of at most 100,000 (12%), 2,000/s, at most 44 s left',
    );
  });

  it('draws a live line on a terminal and erases it before each log line', () => {
    let t = 0;
    const written: string[] = [];
    const terminal = { write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
    const { logger, lines } = recordingLogger();
    const reporter = new ProgressReporter({ logger, terminal, clock: clockReading(() => t), logEveryMs: 10_000, drawEveryMs: 250 }, 'pass', { total: 100 });
    t = 300;
    reporter.update(10, 0);
    expect(written).toEqual([expect.stringMatching(/^\rpass: 10 of 100 \(10%\), 33\/s, about 3 s left\x1b\[K$/)]);
    t = 10_500;
    reporter.update(50, 0);
    expect(written.at(-1)).toBe('\r\x1b[K');
    expect(lines).toEqual([{ level: 'info', message: expect.stringMatching(/^pass: 50 of 100 \(50%\)/) }]);
  });
});
