/**
 * make bench-replicated: the issuerName backfill on a replicated pair until every server has it
 * (#17 item 2), with durable transactions on, never part of make test. Two suppliers, two
 * replicated copies of the same N records (loaded on supplier a over LDAP, replicated to b):
 *
 *  1. the replica's replay rate alone: the backfill's writes pre-encoded on one raw socket to a
 *     (raw-modifies.ts, 64 in flight) on one copy, and the time until b's RUV holds a's last
 *     change (from the first write, and after the last);
 *  2. the tool (a bundle of the tracking steps and the real backfill, as make bench) on the other
 *     copy: its whole run, which ends once every server has the changes (the cluster safety's
 *     convergence wait), against its backfill pass plus the replay time of 1. The run must end
 *     with exit 0 (its wait fails only when the replica stops making progress), and b must hold
 *     every record's issuerName.
 *
 * Environment: PKI_BENCH_REPL_N (default 100000), PKI_BENCH_REPL_PORT (default
 * PKI_TEST_PORT_BASE+110, else 19010; it uses four ports from there, above the tests' first 90), PKI_BENCH_DURABLE=off.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeInstance, restartInstance, type DsInstance } from '../harness/dirsrv';
import { CertificateAuthority } from '../harness/certificates';
import { loadPkiDatabase, loadPkiSchema } from '../harness/pki-database';
import { createReplicatedPair, createReplicatedSuffix, readRuv, waitForConvergence } from '../harness/replication';
import { int, sec, table } from './figures';
import { rawIssuerNameBackfill } from './raw-modifies';
import { watchedRun } from './watched-run';
import { MISSING_ISSUER_NAME_FILTER, certificateRepositoryDN } from '../../src/pki/ca-database';
import { LdaptsSession } from '../../src/ldap/ldapts-session';

const ROOT = process.env.PKI_BENCH_REPO ?? path.resolve(__dirname, '..');
const BENCH_BUNDLE = path.join(ROOT, 'dist/bench-backfill.js');
const progress = (message: string) => process.stderr.write(`[bench-replicated] ${new Date().toISOString().slice(11, 19)} ${message}\n`);

function slapdPid(ds: DsInstance): number {
  return Number(readFileSync(ds.pidFile, 'utf8').trim());
}

/**
 * ms from `started` until `to` holds the last change of replica `rid` (`from`'s own, 1 for
 * supplier a: createReplicatedSuffix numbers them) as `from`'s RUV has it now; polled every 50 ms.
 */
async function untilReplayed(from: DsInstance, to: DsInstance, suffix: string, rid: string, started: bigint): Promise<number> {
  const csn = (await readRuv(from, suffix))?.get(rid);
  if (!csn) throw new Error(`no CSN of replica ${rid} in the RUV of ${suffix} on ${from.name}`);
  for (;;) {
    const have = (await readRuv(to, suffix))?.get(rid);
    if (have !== undefined && have >= csn) return Number(process.hrtime.bigint() - started) / 1e6;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function lacking(ds: DsInstance, suffix: string): Promise<number> {
  const session = await LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
  try {
    return (await session.search(certificateRepositoryDN(suffix), { scope: 'one', filter: MISSING_ISSUER_NAME_FILTER, attributes: ['1.1'] })).length;
  } finally {
    await session.close();
  }
}

async function main(): Promise<void> {
  const n = Number(process.env.PKI_BENCH_REPL_N ?? 100_000);
  const portBase = Number(process.env.PKI_BENCH_REPL_PORT ?? (process.env.PKI_TEST_PORT_BASE ? Number(process.env.PKI_TEST_PORT_BASE) + 110 : 19010));
  const durable = process.env.PKI_BENCH_DURABLE !== 'off';
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pkidbu-brp-'));
  await fsp.chmod(dir, 0o755);
  progress(`a replicated pair on 127.0.0.1:${portBase} and :${portBase + 2}, N=${int.format(n)}, files in ${dir}`);
  const { a, b } = await createReplicatedPair({ rootDir: dir, portBase, durableTransactions: durable });
  try {
    const passwordFile = path.join(dir, 'password');
    await fsp.writeFile(passwordFile, `${a.rootPassword}\n`, { mode: 0o600 });
    for (const ds of [a, b]) await loadPkiSchema(ds);
    const copies = { tool: 'o=repltool', raw: 'o=replraw' };
    const ca = new CertificateAuthority();
    const created = new Date();
    let issuerName = '';
    for (const [backend, suffix] of [['repltool', copies.tool], ['replraw', copies.raw]]) {
      await createReplicatedSuffix({ a, b }, suffix, backend);
      progress(`loading ${suffix} on ${a.name} (${int.format(n)} records without issuerName) and replicating it`);
      issuerName = (await loadPkiDatabase(a, { suffix, backendName: backend, certificates: n, withoutIssuerNameRatio: 1, schema: false, ca, created })).issuerName;
      await waitForConvergence({ a, b }, suffix, 3600_000);
    }
    // Entry caches sized at start-up for these backends (as make bench does).
    for (const ds of [a, b]) await restartInstance(ds);
    for (const suffix of Object.values(copies)) await waitForConvergence({ a, b }, suffix, 600_000);

    progress(`replay alone: ${int.format(n)} raw modifies on ${a.name}, until ${b.name} has them`);
    const started = process.hrtime.bigint();
    const writeMs = await rawIssuerNameBackfill(a, copies.raw, n, issuerName);
    const replayedMs = await untilReplayed(a, b, copies.raw, '1', started);

    progress(`the tool's backfill of ${copies.tool} on ${a.name}, until every server has it`);
    const r = await watchedRun(BENCH_BUNDLE, ['run', '--url', a.url, '--base-dn', copies.tool, '--password-file', passwordFile], {
      rssFile: path.join(dir, 'rss'),
      watch: { backfillStart: /applying 10\.3\.3\/01-IssuerNameBackfill/, backfillEnd: /issuerName backfill: [\d,]+ updated in/ },
      slapdPid: slapdPid(a),
    });
    if (r.code !== 0 || r.at.backfillEnd === undefined) throw new Error(`the tool's run failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
    const left = await lacking(b, copies.tool);
    if (left !== 0) throw new Error(`${b.name} still has ${left} records without issuerName after the run ended`);
    const waits = r.stderr.split('\n').filter((l) => /waiting|wait for|replicat/i.test(l)).slice(-3);
    const backfillMs = r.at.backfillEnd - (r.at.backfillStart ?? 0);
    const bound = backfillMs + replayedMs;
    const rows = [
      [`replicated pair, N = ${int.format(n)}`, 'value', 'target'],
      ['replay alone: raw writes on a (64 in flight)', `${sec(writeMs)}, ${int.format((n * 1000) / writeMs)}/s`, ''],
      ['replay alone: until b has them, from the first write', `${sec(replayedMs)}, ${int.format((n * 1000) / replayedMs)}/s (${sec(replayedMs - writeMs)} after the last)`, ''],
      ['tool: backfill pass on a (log line to log line)', `${sec(backfillMs)}, ${int.format((n * 1000) / backfillMs)}/s`, ''],
      ['tool: whole run, until every server has the changes', sec(r.ms), ''],
      ['tool: whole run / (its backfill pass + replay alone)', `${(r.ms / bound).toFixed(2)}×`, '≤ 1.1×'],
      ['tool: after its backfill pass (the wait, the rest)', sec(r.ms - r.at.backfillEnd), ''],
      ['tool exit; records without issuerName on b after it', `${r.code}; ${left}`, '0; 0'],
      ['tool peak RSS', `${r.rssMiB.toFixed(0)} MiB`, ''],
    ];
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    process.stdout.write(
      `\n${durable ? 'durable transactions on (as production)' : 'durable transactions off (PKI_BENCH_DURABLE=off)'}; load average at the end ${load}\n\n${table(rows)}\n\nThe tool's last lines about waiting:\n${waits.map((l) => `  ${l}`).join('\n')}\n`,
    );
  } finally {
    await Promise.all([a, b].map((ds) => removeInstance(ds).catch(() => undefined)));
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`[bench-replicated] failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
