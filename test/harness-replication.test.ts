/** The run's replicated pair: per-test replicated suffixes, changes both ways, RUV convergence. */
import { Attribute, Change } from 'ldapts';
import { firstString } from './harness/ldap';
import { loadPkiDatabase, loadPkiSchema } from './harness/pki-database';
import { createReplicatedSuffix, parseRuv, readRuv, ruvsConverged, waitForConvergence } from './harness/replication';
import { pair, uniqueSuffix, withLdap } from './harness/test-env';

const ou = (name: string) => ({ objectClass: ['top', 'organizationalUnit'], ou: name });

describe('replicated pair', () => {
  it('carries changes from A to B and from B to A', async () => {
    const p = await pair();
    const { suffix, backendName } = uniqueSuffix('repl');
    await createReplicatedSuffix(p, suffix, backendName);

    await withLdap(p.a, (c) => c.add(`ou=fromA,${suffix}`, ou('fromA')));
    await waitForConvergence(p, suffix, 15_000);
    await withLdap(p.b, async (c) => {
      const { searchEntries } = await c.search(`ou=fromA,${suffix}`, { scope: 'base' });
      expect(searchEntries).toHaveLength(1);
      await c.add(`ou=fromB,${suffix}`, ou('fromB'));
      await c.modify(
        `ou=fromA,${suffix}`,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['set on B'] }) }),
      );
    });
    await waitForConvergence(p, suffix, 15_000);
    await withLdap(p.a, async (c) => {
      expect((await c.search(`ou=fromB,${suffix}`, { scope: 'base' })).searchEntries).toHaveLength(1);
      const { searchEntries } = await c.search(`ou=fromA,${suffix}`, { scope: 'base', attributes: ['description'] });
      expect(firstString(searchEntries[0], 'description')).toBe('set on B');
    });

    const [ra, rb] = await Promise.all([readRuv(p.a, suffix), readRuv(p.b, suffix)]);
    expect([...ra!.keys()].sort()).toEqual(['1', '2']);
    expect(ruvsConverged([ra!, rb!])).toBe(true);
  });

  it('replicates a loaded PKI database', async () => {
    const p = await pair();
    const { suffix, backendName } = uniqueSuffix('replpki');
    await createReplicatedSuffix(p, suffix, backendName);
    // cn=schema replicates only with the next session; apply it on B too so B accepts the records
    // even if they arrive first (the loader applies it on A).
    await loadPkiSchema(p.b);
    const loaded = await loadPkiDatabase(p.a, { suffix, backendName, certificates: 100 });
    await waitForConvergence(p, suffix, 30_000);
    await withLdap(p.b, async (c) => {
      const { searchEntries } = await c.search(`ou=certificateRepository,ou=ca,${suffix}`, {
        scope: 'one',
        filter: '(&(objectclass=certificateRecord)(!(issuerName=*)))',
        attributes: ['cn'],
      });
      expect(searchEntries).toHaveLength(loaded.withoutIssuerName.length);
    });
  });
});

describe('RUV comparison', () => {
  const a = parseRuv([
    '{replicageneration} 6b06962e000000010000',
    '{replica 1 ldap://127.0.0.1:38910} 6b06962e000100010000 6b0696aa000000010000',
    '{replica 2 ldap://127.0.0.1:38912} 6b06962e000200020000 6b0696ab000000020000',
    '{replica 3 ldap://127.0.0.1:38914}',
  ]);
  it('reads the max CSN per replica id and skips elements without CSNs', () => {
    expect([...a]).toEqual([
      ['1', '6b0696aa000000010000'],
      ['2', '6b0696ab000000020000'],
    ]);
  });
  it('compares regardless of element order', () => {
    const b = parseRuv([
      '{replica 2 ldap://127.0.0.1:38912} 6b06962e000200020000 6b0696ab000000020000',
      '{replica 1 ldap://127.0.0.1:38910} 6b06962e000100010000 6b0696aa000000010000',
    ]);
    expect(ruvsConverged([a, b])).toBe(true);
    const behind = parseRuv(['{replica 1 ldap://127.0.0.1:38910} 6b06962e000100010000 6b0696a0000000010000']);
    expect(ruvsConverged([a, behind])).toBe(false);
  });
});
