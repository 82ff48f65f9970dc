/**
 * Reliability 1 — crash anywhere. The real upgrade (package 11.6.0: schema steps, an issuerName
 * backfill over 3,000 of 4,000 certificate records, CA indexes and their index task, a schema
 * change that is not backward compatible) is run in instance mode, as %posttrans runs it, and
 * killed with SIGKILL again and again at seeded random delays after chosen moments: the start,
 * a step's first console line, or the server having applied a given write (a history record, a
 * schema change, an index definition, the index task). After each kill the history must never say
 * `done` for a step that did not finish: a step recorded done must have nothing left to do (its
 * own dry-run writes nothing; its indexes are built, or marked for the build that follows the
 * steps, which the next run does) and the recorded version must be covered by
 * done steps. The next run picks up (lock taken over, leftover password.conf removed); after the
 * last kill a normal run finishes.
 *
 * The result is compared with the same database upgraded in one uninterrupted run on a second
 * server: every entry of the suffix with its user attributes (tracking records: times and
 * host:port aside), the whole schema (cn=schema is per server: each database has a server of its
 * own, so schema steps really run under the kills), the backend's index configuration, and
 * whether each index is built. Then single-kill trials: fresh databases killed once at a random
 * moment, after which one normal run must finish with the same result.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CertificateAuthority } from '../harness/certificates';
import type { DsInstance } from '../harness/dirsrv';
import { loadPkiDatabase } from '../harness/pki-database';
import { MAIN_BUNDLE } from '../support/bundle';
import { CA_INDEXES } from '../../src/pki/ca-indexes';
import { packageVersion } from '../../upgrades/registry.generated';
import { AccessLogFollower } from './support/access-log';
import { expectHistoryTruthful, history, REPOSITORY, STEPS } from './support/history';
import { exportIndexes, exportSchema, exportSuffix, unindexedAttributes } from './support/directory-export';
import { dropInstance, ownInstance, pkiTree, PORTS, type Tree } from './support/environment';
import { recordFigure } from './support/figures';
import { ReliabilityGuard } from './support/guard';
import { seededRandom, suiteSeed } from './support/seeded-random';
import { ToolRunner, type ToolProcess } from './support/tool-run';

const PASSWORD = 'Crash-Rel1ability.pw';
const RECORDS = 4000;
const WITHOUT_ISSUER = 0.75;
const SUFFIX = 'o=pki-crash-ca';
const BACKEND = 'crashca';

type Trigger =
  | { kind: 'start' }
  | { kind: 'any step' }
  | { kind: 'file'; what: string; ready: (tree: Tree, pid: number) => boolean }
  | { kind: 'console'; step: string }
  | { kind: 'server'; step?: string; what: string; pattern: RegExp };

interface KillPoint {
  trigger: Trigger;
  /** Seeded random delay after the trigger, ms. */
  delayMs: number;
}

const seed = suiteSeed();
const random = seededRandom(seed);
const applying = (step: string, maxMs: number): KillPoint => ({ trigger: { kind: 'console', step }, delayMs: random.between(0, maxMs) });
const server = (what: string, pattern: RegExp, maxMs: number, step?: string): KillPoint => ({ trigger: { kind: 'server', what, pattern, step }, delayMs: random.between(0, maxMs) });
const historyWrite = (step: string) => new RegExp(`(ADD|MOD) dn="cn=${step.replace(/[.]/g, '\\.')},cn=history,cn=dbUpgrade,`, 'i');

/** In upgrade order, so that later steps are still pending when their kill points come. */
const CHAIN: KillPoint[] = [
  { trigger: { kind: 'start' }, delayMs: random.between(0, 300) },
  { trigger: { kind: 'file', what: 'the instance lock taken', ready: (t, pid) => ownedBy(path.join(t.stateDir, 'run.holder.json'), pid) }, delayMs: random.between(0, 20) },
  { trigger: { kind: 'file', what: 'password.conf restored', ready: (t, pid) => ownedBy(path.join(t.stateDir, 'password-conf.marker.json'), pid) }, delayMs: random.between(0, 30) },
  { trigger: { kind: 'console', step: '' }, delayMs: random.between(0, 60) },
  applying('10.0.0/01-TrackingSchema', 60),
  server('the first schema change', /MOD dn="cn=schema"/i, 15, '10.0.0/01-TrackingSchema'),
  applying('10.0.0/02-TrackingAudit', 60),
  applying('10.2.0/01-AuthoritySchema', 80),
  applying('10.3.0/01-CertProfileSchema', 80),
  server('the backfill recorded as started', historyWrite('10.3.3/01-IssuerNameBackfill'), 10, '10.3.3/01-IssuerNameBackfill'),
  ...Array.from({ length: 6 }, () => applying('10.3.3/01-IssuerNameBackfill', 900)),
  server('the first certificate record updated', /MOD dn="cn=\d+,ou=certificateRepository,ou=ca,/i, 30, '10.3.3/01-IssuerNameBackfill'),
  server('the database version set', /MOD dn="cn=dbUpgrade,o=/i, 10, '10.3.3/01-IssuerNameBackfill'),
  server('the first index defined', new RegExp(`ADD dn="cn=[^,]+,cn=index,cn=${BACKEND},`, 'i'), 40, '11.6.0/01-CAIndexes'),
  server('an index defined', new RegExp(`ADD dn="cn=[^,]+,cn=index,cn=${BACKEND},`, 'i'), 120, '11.6.0/01-CAIndexes'),
  applying('11.6.0/01-CAIndexes', 1000),
  applying('11.6.0/02-RequireIssuerName', 60),
  server('the last step recorded', historyWrite('11.6.0/02-RequireIssuerName'), 10, '11.6.0/02-RequireIssuerName'),
  server('the server record written', /MOD dn="cn=[^,]+,cn=servers,cn=dbUpgrade,/i, 10),
  // The run's index build comes after its steps: every step is recorded done, the indexes marked.
  server('the index task created', /ADD dn="cn=pki-db-upgrade-[^,]+,cn=index,cn=tasks,cn=config"/i, 80),
];

/** The console line of the last step's start (a chain kill comes no later: killRun). */
const LAST_STEP_LINE = `applying ${STEPS[STEPS.length - 1].id} `;

/** True once `file` (JSON with a pid, as the lock holder and password.conf marker files are) names `pid`. */
function ownedBy(file: string, pid: number): boolean {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).pid === pid;
  } catch {
    return false;
  }
}

/** Single-kill trials: a fresh database, one kill at a random moment of the whole run, one normal run. */
const TRIALS = 4;

let crash: DsInstance | undefined;
let reference: DsInstance | undefined;
let runner: ToolRunner;
let guard: ReliabilityGuard;
let ca: CertificateAuthority;
const created = new Date('2024-01-02T03:04:05Z');
let referenceMs = 0;
let chainTree: Tree;
const landed: { point: number; trigger: string; delayMs: number; landed: string; killed: boolean }[] = [];

beforeAll(async () => {
  runner = new ToolRunner(MAIN_BUNDLE, 'crash');
  guard = new ReliabilityGuard('1 crash anywhere', runner, [PASSWORD]);
  ca = new CertificateAuthority({ now: created });
  // Two servers of our own at once (dscreate dominates: ~5 s each).
  [crash, reference] = await Promise.all([
    ownInstance('relc', PORTS.crash, PASSWORD),
    ownInstance('relr', PORTS.reference, PASSWORD),
  ]);
  await Promise.all([crash, reference].map((ds) => loadDatabase(ds!, SUFFIX, BACKEND)));
}, 120_000);

afterAll(async () => {
  guard?.dispose();
  await Promise.all([dropInstance(crash), dropInstance(reference)]);
  recordFigure({ kind: 'crash', seed, records: RECORDS, backfilled: Math.floor(RECORDS * WITHOUT_ISSUER), referenceMs, kills: landed });
});

function loadDatabase(ds: DsInstance, suffix: string, backendName: string) {
  return loadPkiDatabase(ds, { suffix, backendName, certificates: RECORDS, withoutIssuerNameRatio: WITHOUT_ISSUER, ca, created });
}

const args = (tree: Tree) => ['--root', tree.root, '--instance', tree.name];

describe('reference: one uninterrupted run on a server of its own', () => {
  it('upgrades the database from untracked to 11.6.0', async () => {
    const tree = pkiTree(guard, reference!, SUFFIX);
    const result = await runner.run(args(tree), { expose: [tree.root] });
    expect(result.code).toBe(0);
    referenceMs = result.ms;
    expect(result.stderr).toContain(`upgraded from (untracked) to ${packageVersion} (${STEPS.length} step(s)`);
    expect(guard.problems()).toEqual([]);
  });
});

/** Where in the run the kill landed, from the run's console lines. */
function landing(run: ToolProcess): string {
  const lines = run.stderr().split('\n');
  const applied = lines.map((l) => /^applying (\S+)/.exec(l)?.[1]).filter(Boolean) as string[];
  if (applied.length === 0) return 'before the first step (start, lock, password, connection, plan)';
  const last = applied[applied.length - 1];
  return lines.some((l) => l.startsWith(`done ${last} `)) ? `after ${last} (bookkeeping)` : `during ${last}`;
}

function describeTrigger(t: Trigger): string {
  if (t.kind === 'start') return 'start';
  if (t.kind === 'any step') return 'the first step line';
  if (t.kind === 'console') return t.step ? `"applying ${t.step}"` : 'the first console line';
  if (t.kind === 'file') return t.what;
  return t.what;
}

/**
 * Starts a run and kills it `delayMs` after the trigger (in the chain: or when the last step
 * starts, if that is sooner); a trigger whose step is already done falls back to the first step
 * line. Resolves with whether the run was still alive when killed.
 */
async function killRun(tree: Tree, ds: DsInstance, point: KillPoint, done: ReadonlySet<string>, options: { beforeLastStep: boolean }): Promise<{ run: ToolProcess; killed: boolean; exit: Awaited<ToolProcess['done']> }> {
  let trigger = point.trigger;
  if ((trigger.kind === 'console' || trigger.kind === 'server') && trigger.step && done.has(trigger.step)) trigger = { kind: 'any step' };
  const log = new AccessLogFollower(ds);
  const run = runner.start(args(tree), { expose: [tree.root] });
  let exited = false;
  void run.done.then(() => (exited = true));
  const fired = (): boolean => {
    if (trigger.kind === 'start') return true;
    if (trigger.kind === 'console') return trigger.step ? run.stderr().includes(`applying ${trigger.step} `) : run.stderr().length > 0;
    if (trigger.kind === 'file') return trigger.ready(tree, run.pid);
    if (trigger.kind === 'any step') return /^applying /m.test(run.stderr());
    return trigger.pattern.test(log.text());
  };
  while (!exited && !fired()) await new Promise((r) => setTimeout(r, 3));
  // In the chain a delay never carries the kill past the start of the last step, unless the
  // trigger came later: a run that ran to its end would leave every later point no run to kill.
  const pastLastStep = () => run.stderr().includes(LAST_STEP_LINE);
  const bounded = options.beforeLastStep && !pastLastStep();
  const until = Date.now() + point.delayMs;
  while (!exited && Date.now() < until && !(bounded && pastLastStep())) await new Promise((r) => setTimeout(r, 3));
  const killed = !exited;
  if (killed) process.kill(run.pid, 'SIGKILL');
  const exit = await run.done;
  return { run, killed: killed && exit.signal === 'SIGKILL', exit };
}

describe(`kill -9 at ${CHAIN.length} moments of one upgrade (seed ${seed}), each followed by the next run`, () => {
  beforeAll(() => {
    chainTree = pkiTree(guard, crash!, SUFFIX);
  });

  it.each(CHAIN.map((p, i) => [i + 1, describeTrigger(p.trigger), p.delayMs, p] as const))(
    'kill point %i: %s + %i ms; the history stays truthful',
    async (n, trigger, delayMs, point) => {
      const before = await history(crash!, SUFFIX);
      const done = new Set([...before.records].filter(([, o]) => o === 'done').map(([id]) => id));
      const { run, killed, exit } = await killRun(chainTree, crash!, point, done, { beforeLastStep: true });
      landed.push({ point: n, trigger, delayMs, landed: killed ? landing(run) : `not killed: the run ended first (exit ${exit.code})`, killed });
      // Ended before the kill: then it was a normal run, which must have succeeded.
      if (!killed) expectSuccess(exit);
      await expectHistoryTruthful(crash!, SUFFIX, BACKEND);
      // The status file claims no outcome the killed run did not reach: it still says running
      // (status shows that as interrupted, the pid being gone), unless the run had finished
      // everything and was killed on its way out.
      if (killed && fs.existsSync(chainTree.statusFile)) {
        const last = JSON.parse(fs.readFileSync(chainTree.statusFile, 'utf8')).lastRun;
        if (last.pid === run.pid && last.result !== 'running') {
          expect(last.result).toMatch(/^(upgraded|up-to-date)$/);
          expect((await history(crash!, SUFFIX)).version).toBe(packageVersion);
        }
      }
    },
  );

  it('at least 20 kills hit a live run during the upgrade', () => {
    const during = landed.filter((l) => l.killed);
    expect(during.length).toBeGreaterThanOrEqual(20);
  });

  it('then a normal run finishes: lock taken over, leftover password.conf removed, database at the package version', async () => {
    const result = await runner.run(args(chainTree), { expose: [chainTree.root] });
    expectSuccess(result);
    // The last kill may have left only the index build (after the steps) to finish.
    expect(result.stderr).toMatch(new RegExp(`(upgraded from \\S+ to|up to date at|no step to apply, database at) ${packageVersion.replace(/\./g, '\\.')}`));
    const { records, version } = await history(crash!, SUFFIX);
    expect(version).toBe(packageVersion);
    expect([...records]).toEqual(expect.arrayContaining(STEPS.map((s) => [s.id, 'done'])));
    expect([...records.keys()].sort()).toEqual(STEPS.map((s) => s.id).sort());
    expect(guard.problems()).toEqual([]);
  });

  it('the database equals the uninterrupted run: entries, schema, index configuration, built indexes', async () => {
    const serverIds = [`localhost:${crash!.port}`, `localhost:${reference!.port}`];
    const [crashed, clean] = await Promise.all([exportSuffix(crash!, SUFFIX, { serverIds }), exportSuffix(reference!, SUFFIX, { serverIds })]);
    expect(crashed.split('\n\n').length).toBeGreaterThan(RECORDS);
    expectSameText(crashed, clean);
    expect(await exportSchema(crash!)).toEqual(await exportSchema(reference!));
    expectSameText(await exportIndexes(crash!, BACKEND), await exportIndexes(reference!, BACKEND));
    expect(await unindexedAttributes(crash!, REPOSITORY(SUFFIX), CA_INDEXES.map((i) => i.attribute))).toEqual([]);
    expect(await unindexedAttributes(reference!, REPOSITORY(SUFFIX), CA_INDEXES.map((i) => i.attribute))).toEqual([]);
  });
});

let referenceExport: { entries: string; indexes: string } | undefined;

describe(`single kills on fresh databases (${TRIALS} trials): after the kill one normal run finishes`, () => {
  it.each(Array.from({ length: TRIALS }, (_, i) => [i + 1, random.between(200, 3500)] as const))(
    'trial %i: kill -9 at %i ms, then one run; same database as the uninterrupted run',
    async (n, delayMs) => {
      // cn=schema of this server is already upgraded by the chain: these trials exercise the data,
      // index and history steps, and the lock and password.conf left by the kill.
      const suffix = `o=pki-crash-trial${n}`;
      const backend = `crashtrial${n}`;
      await loadDatabase(crash!, suffix, backend);
      const tree = pkiTree(guard, crash!, suffix);
      const { run, killed, exit } = await killRun(tree, crash!, { trigger: { kind: 'start' }, delayMs }, new Set(), { beforeLastStep: false });
      landed.push({ point: 100 + n, trigger: 'trial: start', delayMs, landed: killed ? landing(run) : `not killed: the run ended first (exit ${exit.code})`, killed });
      await expectHistoryTruthful(crash!, suffix, backend);

      expectSuccess(await runner.run(args(tree), { expose: [tree.root] }));
      const serverIds = [`localhost:${crash!.port}`, `localhost:${reference!.port}`];
      referenceExport ??= {
        entries: await exportSuffix(reference!, SUFFIX, { serverIds, suffixAs: 'o=SUFFIX' }),
        indexes: await exportIndexes(reference!, BACKEND),
      };
      expectSameText(await exportSuffix(crash!, suffix, { serverIds, suffixAs: 'o=SUFFIX' }), referenceExport.entries);
      expectSameText(await exportIndexes(crash!, backend), referenceExport.indexes);
      expect(await unindexedAttributes(crash!, REPOSITORY(suffix), CA_INDEXES.map((i) => i.attribute))).toEqual([]);
      expect(guard.problems()).toEqual([]);
    },
  );
});

/** Exit 0, or a failure that shows what the run said. */
function expectSuccess(result: { code: number | null; stderr: string; stdout: string }): void {
  if (result.code !== 0) throw new Error(`the run ended with exit ${result.code}:\n${result.stdout}${result.stderr}`);
}

/** Compares two exports and, when they differ, shows the first differing lines rather than 4 MB. */
function expectSameText(actual: string, expected: string): void {
  if (actual === expected) return;
  const a = actual.split('\n');
  const b = expected.split('\n');
  const i = a.findIndex((line, k) => line !== b[k]);
  const at = i < 0 ? Math.min(a.length, b.length) : i;
  const around = (lines: string[]) => `line ${at + 1}:\n${lines.slice(Math.max(0, at - 3), at + 6).join('\n')}`;
  expect(around(a)).toBe(around(b));
}
