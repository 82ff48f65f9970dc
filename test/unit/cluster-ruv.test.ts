/** Reading 389 DS replica update vectors and comparing change sequence numbers. */
import { compareCsn, converged, csnReplicaId, csnTime, gaps, hasReached, lagSeconds, parseRuv } from '../../src/converge/ruv';

// As read from a supplier (replica 1) two servers: values as 389 DS 2.3 writes them.
const ON_A = [
  '{replicageneration} 6b069734000000010000',
  '{replica 1 ldap://localhost:39350} 6b069734000300010000 6b069785000300010000',
  '{replica 2 ldap://localhost:39352} 6b069737000100020000 6b069778000000020000',
];
// Right after a total update from A, B lists replica 1 without CSNs; element order differs.
const ON_B = ['{replicageneration} 6b069734000000010000', '{replica 2 ldap://localhost:39352} 6b069737000100020000 6b069778000000020000', '{replica 1 ldap://localhost:39350}'];

describe('a CSN', () => {
  it('orders by time first, as fixed-width hex, whatever the case', () => {
    expect(compareCsn('6b069785000300010000', '6b069786000000010000')).toBeLessThan(0);
    expect(compareCsn('6b069785000300010000', '6b069785000200020000')).toBeGreaterThan(0);
    expect(compareCsn('6B069785000300010000', '6b069785000300010000')).toBe(0);
  });

  it('carries its time (seconds) and its replica id', () => {
    expect(csnTime('6b069785000300010000').toISOString()).toBe('2026-11-25T08:08:37.000Z');
    expect(csnReplicaId('6b069785000300020000')).toBe(2);
  });
});

describe('parseRuv', () => {
  it('reads the generation and each replica with URL, min and max CSN', () => {
    const ruv = parseRuv(ON_A);
    expect(ruv.generation).toBe('6b069734000000010000');
    expect(ruv.elements.get(1)).toEqual({ replicaId: 1, url: 'ldap://localhost:39350', minCsn: '6b069734000300010000', maxCsn: '6b069785000300010000' });
    expect(ruv.elements.get(2)?.maxCsn).toBe('6b069778000000020000');
  });

  it('keeps a replica listed without CSNs, with no max', () => {
    expect(parseRuv(ON_B).elements.get(1)).toEqual({ replicaId: 1, url: 'ldap://localhost:39350' });
  });

  it('ignores values it does not understand', () => {
    expect(parseRuv(['garbage', '{replica x} 1 2', '']).elements.size).toBe(0);
  });
});

describe('comparing RUVs', () => {
  const a = parseRuv(ON_A);
  const b = parseRuv(ON_B);

  it('a change is reached once the max CSN of its replica is at least its CSN', () => {
    expect(hasReached(a, 1, '6b069785000300010000')).toBe(true);
    expect(hasReached(a, 1, '6b069785000400010000')).toBe(false);
    expect(hasReached(b, 1, '6b069734000300010000')).toBe(false); // no CSN: nothing known
  });

  it('lists what the other lacks, per replica', () => {
    expect(gaps(a, b)).toEqual([{ replicaId: 1, expected: '6b069785000300010000', actual: undefined }]);
    expect(gaps(b, a)).toEqual([]);
  });

  it('converged ignores elements without a CSN (design: fresh after a total update)', () => {
    expect(converged(a, b)).toBe(true);
    const behind = parseRuv([...ON_B.slice(0, 2), '{replica 1 ldap://localhost:39350} 6b069734000300010000 6b069780000000010000']);
    expect(converged(a, behind)).toBe(false);
  });

  it('lag is the difference of the CSN clocks, never negative', () => {
    expect(lagSeconds('6b069785000300010000', '6b069780000000010000')).toBe(5);
    expect(lagSeconds('6b069780000000010000', '6b069785000300010000')).toBe(0);
    expect(lagSeconds('6b069780000000010000', undefined)).toBeUndefined();
  });
});
