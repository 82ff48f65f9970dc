/**
 * The cluster claim (src/lock/cluster-claim.ts) on in-memory suppliers whose replication the test
 * drives: who may apply cluster-scope steps when several servers are upgraded at once.
 */
import { claimDN, claimIsLive, ClusterClaim, readClaims, type ClaimData } from '../../src/lock/cluster-claim';
import { ClaimLostError } from '../../src/core/errors';
import { silentLogger } from '../../src/core/logger';
import type { Clock } from '../../src/core/clock';
import { FakeSupplier, replicate } from '../support/fake-replicated-directory';

const SUFFIX = 'o=pki-tomcat-CA';

class FakeTime {
  ms = Date.parse('2026-11-25T10:00:00Z');
}

type ClaimOptions = ConstructorParameters<typeof ClusterClaim>[0];

/** A claim on `server`; while it waits, time passes and replication delivers (or `sleep` does what the test needs). */
function claimFor(server: FakeSupplier, name: string, time: FakeTime, cluster: FakeSupplier[], extra: Partial<ClaimOptions> & { sleep?: (ms: number) => Promise<void> } = {}) {
  const { sleep, ...options } = extra;
  const clock: Clock = {
    now: () => new Date(time.ms),
    monotonicMs: () => time.ms,
    sleep:
      sleep ??
      (async (ms) => {
        time.ms += ms;
        replicate(...cluster);
      }),
  };
  return new ClusterClaim({
    ldap: server,
    suffix: SUFFIX,
    server: name,
    run: `run-${name}`,
    // Convergence both ways: whatever either side wrote is now on the other.
    exchange: async () => replicate(...cluster),
    logger: silentLogger,
    clock,
    waitMs: 10_000,
    staleAfterMs: 60_000,
    heartbeatMs: 1_000_000,
    pollMs: 500,
    host: 'host-of-test',
    pid: 4242,
    isProcessAlive: () => true,
    ...options,
  });
}

describe('a claim', () => {
  const base: ClaimData = { server: 'ca2:389', run: 'r', host: 'ca2.example.com', pid: 7, since: '2026-11-25T10:00:00.000Z', heartbeat: '2026-11-25T10:00:00.000Z' };
  const liveness = { now: new Date('2026-11-25T10:01:00Z'), staleAfterMs: 120_000, localHost: 'ca1.example.com', isProcessAlive: () => false };

  it('is alive while its holder refreshes it', () => {
    expect(claimIsLive(base, liveness)).toBe(true);
  });

  it('is dead once not refreshed for longer than the stale time', () => {
    expect(claimIsLive(base, { ...liveness, now: new Date('2026-11-25T10:02:01Z') })).toBe(false);
  });

  it('is dead at once when made from this host by a process that no longer exists', () => {
    expect(claimIsLive({ ...base, host: 'ca1.example.com' }, liveness)).toBe(false);
    expect(claimIsLive({ ...base, host: 'ca1.example.com' }, { ...liveness, isProcessAlive: () => true })).toBe(true);
  });
});

describe('the cluster claim protocol', () => {
  it('is held by a lone run, and its entry is removed on release', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const b = new FakeSupplier('ldap://b');
    const claim = claimFor(a, 'a:389', time, [a, b]);
    expect(await claim.acquire()).toEqual({ held: true });
    expect((await readClaims(b, SUFFIX)).map((c) => c.server)).toEqual(['a:389']);
    await claim.release();
    replicate(a, b);
    expect(await readClaims(b, SUFFIX)).toEqual([]);
  });

  it('waits for another live claim to go, then takes it', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const b = new FakeSupplier('ldap://b');
    const first = claimFor(a, 'a:389', time, [a, b]);
    await first.acquire();
    replicate(a, b);
    const second = claimFor(b, 'b:389', time, [a, b], {
      // A finishes while B waits.
      sleep: async (ms) => {
        time.ms += ms;
        await first.release();
        replicate(a, b);
      },
    });
    expect(await second.acquire()).toEqual({ held: true });
  });

  it('backs off after the wait when the other run keeps its claim, naming the holder', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const b = new FakeSupplier('ldap://b');
    await claimFor(a, 'a:389', time, [a, b]).acquire();
    replicate(a, b);
    const outcome = await claimFor(b, 'b:389', time, [a, b], { waitMs: 3_000 }).acquire();
    expect(outcome).toMatchObject({ held: false, holder: { server: 'a:389', run: 'run-a:389' } });
    expect(time.ms - new FakeTime().ms).toBeGreaterThanOrEqual(3_000);
    // B wrote nothing: no claim of B anywhere.
    expect((await readClaims(a, SUFFIX)).map((c) => c.server)).toEqual(['a:389']);
  });

  it('lets exactly one of two simultaneous runs hold it, without a replication conflict', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-25T10:00:00Z') });
    try {
      const a = new FakeSupplier('ldap://a');
      const b = new FakeSupplier('ldap://b');
      // The worst case: both read "no claim" and write theirs before either has replicated.
      let written = 0;
      let bothWritten!: () => void;
      const gate = new Promise<void>((resolve) => (bothWritten = resolve));
      const exchange = async () => {
        if (written < 2 && ++written === 2) bothWritten();
        await gate;
        replicate(a, b);
      };
      const options = (random: number) => ({
        exchange,
        clock: {
          now: () => new Date(),
          monotonicMs: () => Date.now(),
          // Virtual time passes in order; replication delivers meanwhile.
          sleep: async (ms: number) => {
            await new Promise((resolve) => setTimeout(resolve, ms));
            replicate(a, b);
          },
        },
        random: () => random,
      });
      const both = Promise.all([
        claimFor(a, 'a:389', new FakeTime(), [a, b], options(0.0)).acquire(),
        claimFor(b, 'b:389', new FakeTime(), [a, b], options(0.9)).acquire(),
      ]);
      await jest.advanceTimersByTimeAsync(30_000);
      const [oa, ob] = await both;
      // Both saw both claims and withdrew; A's shorter random wait made it retry first.
      expect(oa).toEqual({ held: true });
      expect(ob).toMatchObject({ held: false, holder: { server: 'a:389' } });
      expect([...a.conflicts, ...b.conflicts]).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('replaces the leftover claim of a dead earlier run of the same server', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const b = new FakeSupplier('ldap://b');
    await claimFor(a, 'a:389', time, [a, b], { run: 'dead-run', pid: 1 }).acquire();
    const outcome = await claimFor(a, 'a:389', time, [a, b], { isProcessAlive: (pid) => pid !== 1 }).acquire();
    expect(outcome).toEqual({ held: true });
    const claims = await readClaims(a, SUFFIX);
    expect(claims.map((c) => c.run)).toEqual(['run-a:389']);
    expect(claims[0].dn.toLowerCase()).toBe(claimDN(SUFFIX, 'a:389').toLowerCase());
  });

  it('on release, leaves alone a claim another run took over', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const old = claimFor(a, 'a:389', time, [a], { run: 'old' });
    await old.acquire();
    // Judged dead elsewhere and taken over by a new run of the same server.
    await a.delete(claimDN(SUFFIX, 'a:389'));
    await claimFor(a, 'a:389', time, [a], { run: 'new' }).acquire();
    await old.release();
    expect((await readClaims(a, SUFFIX)).map((c) => c.run)).toEqual(['new']);
  });

  it('withdraws its claim when the exchange with the other suppliers fails', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const claim = claimFor(a, 'a:389', time, [a], { exchange: async () => { throw new Error('replication did not converge'); } });
    await expect(claim.acquire()).rejects.toThrow('replication did not converge');
    expect(await readClaims(a, SUFFIX)).toEqual([]);
  });

  it('for the local view: written readable by anyone, and each touch leaves a new value, even within one millisecond and beside the heartbeat', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const claim = claimFor(a, 'a:389', time, [a], { readableByAnyone: true, heartbeatMs: 1 });
    await claim.acquire();
    const entry = await a.read(claimDN(SUFFIX, 'a:389'));
    expect(entry?.first('aci')).toMatch(/allow \(read, search, compare\) userdn = "ldap:\/\/\/anyone"/);
    // The clock stands still; the heartbeat timer (1 ms) swaps the value too.
    const values = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { value } = await claim.touch();
      values.add(value);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(values.size).toBe(5);
    expect(claim.lostReason).toBeUndefined();
    expect((await a.read(claimDN(SUFFIX, 'a:389')))?.values('description')).toEqual([claim.written!.value]);
    await claim.release();
  });

  it('for the local view: a server shows a touch once it holds that value or a later heartbeat of the same run', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const claim = claimFor(a, 'a:389', time, [a], { readableByAnyone: true });
    await claim.acquire();
    const first = await claim.touch();
    time.ms += 1000;
    const second = await claim.touch();
    expect(claim.shows([first.value], first)).toBe(true);
    expect(claim.shows([second.value], first)).toBe(true);
    expect(claim.shows([first.value], second)).toBe(false);
    expect(claim.shows([second.value.replace('run-a:389', 'run-other')], first)).toBe(false);
    await claim.release();
  });

  it('a touch of a claim whose entry another run removed is a lost claim, not a raw LDAP error', async () => {
    const time = new FakeTime();
    const a = new FakeSupplier('ldap://a');
    const claim = claimFor(a, 'a:389', time, [a]);
    await claim.acquire();
    await a.delete(claimDN(SUFFIX, 'a:389'));
    await expect(claim.touch()).rejects.toThrow(ClaimLostError);
    expect(claim.lostReason).toBe('the claim entry was replaced or removed by another run');
  });
});
