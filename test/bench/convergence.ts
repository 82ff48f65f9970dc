/**
 * Benchmark: how soon the tool notices that its changes reached the other supplier, compared with
 * when they really arrived there.
 *
 * For each batch size, writes a batch on supplier A and records the moment the last write
 * returned. Then, at the same time:
 *   - detection: the tool's own wait (src/converge/convergence.ts, waitForLocalChanges, default
 *     100 ms poll) until B's RUV shows A's last CSN;
 *   - arrival: a 5 ms poll reading the batch's last entry on B.
 * Prints per batch size the median and 90th percentile of both delays and of their ratio
 * (detection / arrival; 1.0 = noticed at the instant it arrived).
 *
 * Build and run (it creates and removes a throw-away pair on 127.0.0.1):
 *   npx esbuild test/bench/convergence.ts --bundle --platform=node --format=cjs --target=node20 \
 *     --log-level=warning --outfile=dist/bench-convergence.js
 *   node dist/bench-convergence.js [--port-base 19370] [--rounds 15] [--batches 1,100,1000]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'ldapts';
import { waitForLocalChanges } from '../../src/converge/convergence';
import { maxCsn } from '../../src/converge/ruv';
import { discoverTopology, readRuv } from '../../src/converge/topology';
import { silentLogger } from '../../src/core/logger';
import { LdaptsSession } from '../../src/ldap/ldapts-session';
import { removeInstance } from '../harness/dirsrv';
import { createReplicatedPair, createReplicatedSuffix } from '../harness/replication';

const { values } = parseArgs({
  options: {
    'port-base': { type: 'string', default: '19370' },
    rounds: { type: 'string', default: '15' },
    batches: { type: 'string', default: '1,100,1000' },
  },
});
const portBase = Number(values['port-base']);
const rounds = Number(values.rounds);
const batches = values.batches!.split(',').map(Number);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pkidbu-bc-'));
  chmodSync(root, 0o755); // as root, ns-slapd runs as dirsrv and must reach its instance root
  process.stderr.write(`creating a replicated pair on 127.0.0.1:${portBase}.. (root ${root})\n`);
  const pair = await createReplicatedPair({ rootDir: root, portBase });
  try {
    const suffix = 'o=bench';
    await createReplicatedSuffix(pair, suffix, 'bench');
    const credentials = { kind: 'simple' as const, bindDN: pair.a.rootDN, password: pair.a.rootPassword };
    const local = await LdaptsSession.open({ url: pair.a.url, credentials });
    const topology = (await discoverTopology({ local, localId: `localhost:${pair.a.port}`, suffix, connect: (url) => LdaptsSession.open({ url, credentials }), logger: silentLogger }))!;
    const writer = new Client({ url: pair.a.url });
    await writer.bind(pair.a.rootDN, pair.a.rootPassword);
    const watcher = new Client({ url: pair.b.url });
    await watcher.bind(pair.b.rootDN, pair.b.rootPassword);

    const lines = ['batch  rounds  arrival ms (p50/p90)  detected ms (p50/p90)  ratio detected/arrival (p50/p90)'];
    let n = 0;
    for (const batch of batches) {
      const arrivals: number[] = [];
      const detections: number[] = [];
      const ratios: number[] = [];
      for (let round = 0; round < rounds; round++) {
        let lastDN = '';
        for (let i = 0; i < batch; i++) {
          lastDN = `ou=e${++n},${suffix}`;
          await writer.add(lastDN, { objectClass: ['top', 'organizationalUnit'], ou: `e${n}` });
        }
        const lastWrite = performance.now();
        const reading = await readRuv(local, suffix);
        const csn = maxCsn((reading as { ruv: Parameters<typeof maxCsn>[0] }).ruv, 1)!;
        const arrived = (async () => {
          for (;;) {
            try {
              await watcher.search(lastDN, { scope: 'base', attributes: ['1.1'] });
              return performance.now();
            } catch {
              await sleep(5);
            }
          }
        })();
        const detected = waitForLocalChanges(csn, { topology, what: 'the batch', timeoutMs: 600_000, logger: silentLogger }).then(() => performance.now());
        const [a, d] = await Promise.all([arrived, detected]);
        arrivals.push(a - lastWrite);
        detections.push(d - lastWrite);
        ratios.push((d - lastWrite) / Math.max(1, a - lastWrite));
      }
      const s = (xs: number[]) => [...xs].sort((x, y) => x - y);
      const [A, D, R] = [s(arrivals), s(detections), s(ratios)];
      lines.push(
        `${String(batch).padStart(5)}  ${String(rounds).padStart(6)}  ${`${quantile(A, 0.5).toFixed(0)}/${quantile(A, 0.9).toFixed(0)}`.padStart(20)}  ` +
          `${`${quantile(D, 0.5).toFixed(0)}/${quantile(D, 0.9).toFixed(0)}`.padStart(21)}  ${`${quantile(R, 0.5).toFixed(2)}/${quantile(R, 0.9).toFixed(2)}`.padStart(32)}`,
      );
      process.stderr.write(`batch ${batch}: done\n`);
    }
    await Promise.all([writer.unbind(), watcher.unbind(), topology.close(), local.close()]);
    process.stdout.write(`Convergence detection (tool poll 100 ms) vs actual arrival on the other supplier:\n${lines.join('\n')}\n`);
  } finally {
    await Promise.all([removeInstance(pair.a), removeInstance(pair.b)]);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
