/**
 * Reliability 2 — concurrency. Eight runs of the bundled tool started at the same moment on one
 * PKI instance (as when dnf and an administrator, or several scriptlets, start it together):
 * exactly one applies the upgrade; the others exit 3 naming the run that holds the lock, or with
 * --wait wait for it and then find nothing left to do. No step is applied twice (the shared log
 * shows each step once, the backfill updates each record once), and no lock is left behind: the
 * next run starts at once.
 *
 * The database is a CA's on a server of this file's own: the real upgrade's last step changes
 * certificateRecord in cn=schema, which every suffix of a server shares (the shared server's other
 * tests load records without issuerName).
 */
import fs from 'node:fs';
import { CertificateAuthority } from '../harness/certificates';
import { loadPkiDatabase } from '../harness/pki-database';
import type { DsInstance } from '../harness/dirsrv';
import { MAIN_BUNDLE } from '../support/bundle';
import { packageVersion } from '../../upgrades/registry.generated';
import { dropInstance, ownInstance, pkiTree, PORTS, type Tree } from './support/environment';
import { ReliabilityGuard } from './support/guard';
import { ToolRunner, type ToolResult } from './support/tool-run';

const RUNS = 8;
// Large enough that the winner still holds the lock when the last of the eight asks for it.
const RECORDS = 3000;
const PASSWORD = 'Concurrency-Rel1ability.pw';

let ds: DsInstance | undefined;
let runner: ToolRunner;
let guard: ReliabilityGuard;
let counter = 0;

beforeAll(async () => {
  runner = new ToolRunner(MAIN_BUNDLE, 'concurrency');
  guard = new ReliabilityGuard('2 concurrency', runner, [PASSWORD]);
  ds = await ownInstance('relk', PORTS.concurrency, PASSWORD);
}, 60_000);
afterEach(() => expect(guard.problems()).toEqual([]));
afterAll(async () => {
  guard?.dispose();
  await dropInstance(ds);
});

async function caInstance(): Promise<{ tree: Tree; lacking: number }> {
  counter++;
  const suffix = `o=pki-concurrency-${counter}`;
  const db = await loadPkiDatabase(ds!, { suffix, backendName: `relk${counter}`, certificates: RECORDS, withoutIssuerNameRatio: 0.6, ca: new CertificateAuthority() });
  return { tree: pkiTree(guard, ds!, suffix), lacking: db.withoutIssuerName.length };
}

/** Lines of the instance log (shared by all runs) that say a step is being applied. */
function appliedSteps(tree: Tree): string[] {
  return fs
    .readFileSync(tree.logFile, 'utf8')
    .split('\n')
    .map((l) => / applying (\S+) /.exec(l)?.[1])
    .filter((s): s is string => !!s);
}

function startAll(tree: Tree, extra: (i: number) => string[]): { pids: number[]; results: Promise<ToolResult[]> } {
  const runs = Array.from({ length: RUNS }, (_, i) => runner.start(['--root', tree.root, ...extra(i)], { expose: [tree.root], timeoutMs: 110_000 }));
  return { pids: runs.map((r) => r.pid), results: Promise.all(runs.map((r) => r.done)) };
}

function expectNoLockLeft(tree: Tree): void {
  expect(fs.readdirSync(tree.stateDir).sort()).toEqual(['status.json']);
}

describe(`${RUNS} runs started together on one instance`, () => {
  it('exactly one applies the upgrade; the other seven exit 3 naming its pid; no step applied twice; no lock left', async () => {
    const { tree, lacking } = await caInstance();
    // Half as %posttrans would start it, half as an administrator would.
    const { pids, results } = startAll(tree, (i) => (i % 2 ? ['--mode', 'posttrans'] : []));
    const done = await results;

    const winners = done.map((r, i) => ({ r, pid: pids[i] })).filter(({ r }) => r.code === 0);
    const losers = done.filter((r) => r.code !== 0);
    expect(winners).toHaveLength(1);
    expect(losers.map((r) => r.code)).toEqual(Array(RUNS - 1).fill(3));
    for (const loser of losers) {
      expect(loser.stdout + loser.stderr).toContain(`another pki-db-upgrade run holds the lock of instance ${tree.name}: pid ${winners[0].pid} (`);
      expect(loser.stdout + loser.stderr).toContain('let it finish, or run again with --wait SECONDS to wait for it');
    }
    const applied = appliedSteps(tree);
    expect(applied.length).toBeGreaterThanOrEqual(4);
    expect(new Set(applied).size).toBe(applied.length);
    expect(fs.readFileSync(tree.logFile, 'utf8')).toContain(`issuerName backfill: ${lacking.toLocaleString('en-US')} updated in`);

    expectNoLockLeft(tree);
    const next = await runner.run(['--root', tree.root], { expose: [tree.root] });
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`up to date at ${packageVersion}`);
  });

  it('with --wait: one applies, the seven others wait for it, then find nothing to do; no step applied twice; no lock left', async () => {
    const { tree, lacking } = await caInstance();
    const { results } = startAll(tree, (i) => ['--wait', '100', ...(i % 2 ? ['--mode', 'posttrans'] : [])]);
    const done = await results;

    expect(done.map((r) => r.code)).toEqual(Array(RUNS).fill(0));
    const outputs = done.map((r) => r.stdout + r.stderr);
    expect(outputs.filter((o) => o.includes(`upgraded from (untracked) to ${packageVersion}`))).toHaveLength(1);
    expect(outputs.filter((o) => o.includes(`up to date at ${packageVersion}`))).toHaveLength(RUNS - 1);
    const applied = appliedSteps(tree);
    expect(new Set(applied).size).toBe(applied.length);
    const log = fs.readFileSync(tree.logFile, 'utf8');
    expect(log.match(/issuerName backfill: [\d,]+ updated in/g)).toEqual([expect.stringContaining(`${lacking.toLocaleString('en-US')} updated in`)]);
    expect(log.match(/waiting up to 100 s for pid \d+/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
    expectNoLockLeft(tree);
  });
});
