/**
 * Benchmark: the automated upgrade on three suppliers (full mesh, 127.0.0.1/2/3), as %posttrans
 * runs it (the bundled tool, a fake /etc/pki tree per server).
 *
 *   - one run alone on a fresh mesh: its total time, and the time to take the cluster claim
 *     (from the log's debug lines: after the in-sync check, until the claim is held);
 *   - the same upgrade started on all three servers at once, on another fresh mesh: the time until
 *     the last of the three ends, against the single run (target: <= 1.5x, the single run already
 *     includes the wait for replication to the others);
 *   - one run alone with local credentials only (LDAPI autobind, no password: the local view of
 *     docs/schema-replication.md), on a third fresh mesh, against the run with the password.
 *
 * Build and run (creates and removes its own servers):
 *   npx esbuild test/bench/cluster.ts --bundle --platform=node --format=cjs --target=node20 \
 *     --log-level=warning --outfile=dist/bench-cluster.js
 *   node dist/bench-cluster.js [--port-base 19380] [--certs 2000] [--rounds 3]
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { removeInstance, type DsInstance } from '../harness/dirsrv';
import { loadPkiDatabase, loadPkiSchema } from '../harness/pki-database';
import { createReplicatedSuffix, createSuppliers, waitForConvergence } from '../harness/replication';

const { values } = parseArgs({
  options: {
    'port-base': { type: 'string', default: '19380' },
    certs: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
  },
});
const portBase = Number(values['port-base']);
const certificates = Number(values.certs);
const rounds = Number(values.rounds);
const BUNDLE = path.resolve(__dirname, 'pki-db-upgrade.js');
const SUFFIX = 'o=pki-tomcat-CA';

interface Run {
  ms: number;
  code: number | null;
  claimMs?: number;
  line: string;
}

async function mesh(root: string, ldapiOnly = false): Promise<{ servers: DsInstance[]; trees: string[] }> {
  const servers = await createSuppliers({ rootDir: path.join(root, 'ds'), portBase, count: 3, hosts: ['127.0.0.1', '127.0.0.2', '127.0.0.3'] });
  await createReplicatedSuffix(servers, SUFFIX, 'ca');
  for (const ds of servers) await loadPkiSchema(ds);
  await loadPkiDatabase(servers[0], { suffix: SUFFIX, backendName: 'ca', certificates, schema: false });
  await waitForConvergence(servers, SUFFIX, 300_000);
  const trees = servers.map((ds, i) => {
    const tree = path.join(root, `tree${i}`);
    const sub = path.join(tree, 'etc/pki/pki-tomcat/ca');
    mkdirSync(sub, { recursive: true });
    const auth = ldapiOnly ? ['internaldb.ldapauth.authtype=SslClientAuth'] : ['internaldb.ldapauth.authtype=BasicAuth', `internaldb.ldapauth.bindDN=${ds.rootDN}`, 'internaldb.ldapauth.bindPWPrompt=internaldb'];
    writeFileSync(
      path.join(sub, 'CS.cfg'),
      [`internaldb.basedn=${SUFFIX}`, ...auth, `internaldb.ldapconn.host=${ldapiOnly ? 'localhost' : ds.host}`, `internaldb.ldapconn.port=${ds.port}`, 'internaldb.ldapconn.secureConn=false', ''].join('\n'),
    );
    if (ldapiOnly) writeFileSync(path.join(tree, 'etc/pki/pki-tomcat/db-upgrade.conf'), `ldapi_socket = ${ds.ldapiPath}\nuse_keyring = false\n`);
    else writeFileSync(path.join(tree, 'etc/pki/pki-tomcat/password.conf'), `internaldb=${ds.rootPassword}\n`, { mode: 0o600 });
    return tree;
  });
  return { servers, trees };
}

function posttrans(tree: string): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUNDLE, '--root', tree, '--mode', 'posttrans'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const log = readFileSync(path.join(tree, 'var/log/pki/pki-tomcat/db-upgrade.log'), 'utf8');
      const inSync = /the servers are in sync \((\d+) ms\)/.exec(log);
      const taken = /cluster claim taken \((\d+) ms\)/.exec(log);
      resolve({ ms, code, claimMs: inSync && taken ? Number(taken[1]) - Number(inSync[1]) : undefined, line: out.trim() });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const single: Run[] = [];
  const together: number[] = [];
  const ldapiAlone: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['single', 'together', 'ldapi'] as const) {
      const root = mkdtempSync(path.join(os.tmpdir(), 'pkidbu-bcl-'));
      chmodSync(root, 0o755); // as root, ns-slapd runs as dirsrv and must reach its instance root
      process.stderr.write(`round ${round}, ${kind}: three suppliers on 127.0.0.1-3:${portBase}.., ${certificates} certificates\n`);
      const { servers, trees } = await mesh(root, kind === 'ldapi');
      try {
        if (kind === 'single' || kind === 'ldapi') {
          const run = await posttrans(trees[0]);
          if (run.code !== 0) throw new Error(`the ${kind} run failed (${run.code}): ${run.line}`);
          if (kind === 'single') single.push(run);
          else ldapiAlone.push(run.ms);
        } else {
          const started = performance.now();
          const runs = await Promise.all(trees.map(posttrans));
          if (runs.some((r) => r.code !== 0)) throw new Error(`a simultaneous run failed: ${runs.map((r) => `${r.code} ${r.line}`).join(' | ')}`);
          together.push(performance.now() - started);
        }
      } finally {
        await Promise.all(servers.map((ds) => removeInstance(ds).catch(() => undefined)));
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
  const one = median(single.map((r) => r.ms));
  const claims = single.map((r) => r.claimMs).filter((c): c is number => c !== undefined);
  const all = median(together);
  process.stdout.write(
    `Automated upgrade on three suppliers (${certificates} certificates, 30% without issuerName; median of ${rounds}; the bundled tool, --mode posttrans):\n` +
      `  uncontended cluster claim (in sync -> held):  ${claims.length ? `${median(claims)} ms (each: ${claims.join(', ')} ms)` : 'not found in the log'}\n` +
      `  one server alone (incl. waiting for the others): ${(one / 1000).toFixed(2)} s\n` +
      `  all three at once, until the last ends:          ${(all / 1000).toFixed(2)} s  (${(all / one).toFixed(2)}x the single run; target <= 1.5x)\n` +
      `  one server alone, LDAPI autobind only (local view): ${(median(ldapiAlone) / 1000).toFixed(2)} s  (${(median(ldapiAlone) / one).toFixed(2)}x the run with the password)\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
