/**
 * The index builds that follow a run's steps (src/core/index-build.ts), on the real 389 DS: one
 * index task per backend for every definition the steps marked, the marks as what a run owes
 * (a run with nothing else to do builds what an earlier one left), `index_builds = manual` leaving
 * the build of the automatic runs to a run by hand, and `status` and `check` saying what is owed.
 */
import { backendDN, createBackend } from './harness/dirsrv';
import { firstString } from './harness/ldap';
import { standalone, uniqueSuffix, withLdap } from './harness/test-env';
import { managerPasswordFile, registryOf, replicatedDatabase, tool } from './support/cluster';
import { createFakePki, passwordFromConfigFile, readStatus, removeFakePkis } from './support/fake-pki';
import { caDatabase, realStepContext } from './support/step-context';
import { PENDING_BUILD } from '../src/apply/index-marks';
import type { VlvSearchSpec } from '../src/core/step';
import { escapeFilterValue } from '../src/ldap/filter';

afterAll(() => removeFakePkis());

/** This tool's index tasks on `backend`: what each built, and how it ended. */
async function ourTasks(backend: string, ds = standalone()) {
  return withLdap(ds, async (c) =>
    (await c.search('cn=index,cn=tasks,cn=config', { scope: 'one', filter: `(&(cn=pki-db-upgrade-*)(nsInstance=${backend}))`, attributes: ['nsIndexAttribute', 'nsIndexVLVAttribute', 'nsTaskExitCode'] })).searchEntries.map((e) => ({
      attributes: ([] as string[]).concat((e.nsIndexAttribute as string[] | string | undefined) ?? []),
      vlv: ([] as string[]).concat((e.nsIndexVLVAttribute as string[] | string | undefined) ?? []),
      exitCode: firstString(e, 'nsTaskExitCode'),
    })),
  );
}

/** The definitions of `backend` still marked as not built. */
async function marked(backend: string): Promise<string[]> {
  return withLdap(standalone(), async (c) =>
    (await c.search(backendDN(backend), { scope: 'sub', filter: `(description=${escapeFilterValue(PENDING_BUILD)})`, attributes: ['cn'] })).searchEntries.map((e) => firstString(e, 'cn') ?? ''),
  );
}

const vlvSearch = (suffix: string, backend: string): VlvSearchSpec => ({
  name: `revoked-${backend}`,
  base: `ou=certificateRepository,ou=ca,${suffix}`,
  scope: 'one',
  filter: '(certStatus=REVOKED)',
  indexes: [{ name: `revoked-${backend}Index`, sort: 'serialno' }],
});

describe('the index builds after the steps', () => {
  it('build what every step of the run defined in one task, after the last step, and leave nothing owed', async () => {
    const db = await caDatabase(standalone(), 'ibone', { certificates: 10 });
    const order: string[] = [];
    const registry = registryOf('2.0.0', new Map(), [
      { id: '2.0.0/01-Serial', scope: 'server', upgrade: async (ctx) => void order.push(`01 defined ${await ctx.indexes.ensure([{ attribute: 'ibserialtest', types: ['eq'] }])} (tasks: ${(await ourTasks(db.backend)).length})`) },
      { id: '2.0.0/02-Vlv', scope: 'server', upgrade: async (ctx) => void order.push(`02 defined ${await ctx.indexes.ensureVlv([vlvSearch(db.suffix, db.backend)])} (tasks: ${(await ourTasks(db.backend)).length})`) },
    ]);
    const args = ['--url', standalone().url, '--base-dn', db.suffix, '--password-file', managerPasswordFile(standalone())];

    const owing = await tool(['dry-run', ...args], registry);
    expect(owing.code).toBe(0);
    expect(owing.stdout.replace(/\n /g, '')).toMatch(/dn: cn=pki-db-upgrade-\d+-\d+,cn=index,cn=tasks,cn=config\nchangetype: add\n(.*\n)*nsIndexAttribute: ibserialtest\nnsIndexVLVAttribute: revoked-\S+Index\n/);
    expect(owing.stderr).toMatch(/dry-run: 4 step\(s\) would be applied, then an index task for ibserialtest, revoked-\S+Index; nothing was changed/);
    order.length = 0;

    const run = await tool(['run', ...args], registry);
    expect(run.code).toBe(0);
    // No task while the steps ran: one after them, for both.
    expect(order).toEqual(['01 defined ibserialtest (tasks: 0)', `02 defined revoked-${db.backend}Index (tasks: 0)`]);
    expect(await ourTasks(db.backend)).toEqual([{ attributes: ['ibserialtest'], vlv: [`revoked-${db.backend}Index`], exitCode: '0' }]);
    expect(run.stderr).toMatch(new RegExp(`index build finished on backend ${db.backend}: ibserialtest, VLV revoked-${db.backend}Index in [\\d.]+ s`));
    expect(run.stderr).toMatch(/upgraded from \(untracked\) to 2\.0\.0, 4 step\(s\) in [\d.]+ s; indexes built: ibserialtest, revoked-\S+Index/);
    expect(await marked(db.backend)).toEqual([]);

    const status = await tool(['status', ...args, '--json'], registry);
    expect(JSON.parse(status.stdout)).toMatchObject({ upToDate: true, indexBuilds: { owed: [] } });
    expect((await tool(['check', ...args], registry)).code).toBe(0);
  });

  it('are owed by the marks: a run with no step to apply builds what a killed run left, and status and check say so until then', async () => {
    const db = await caDatabase(standalone(), 'ibleft', { certificates: 10 });
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Serial', scope: 'server' }]);
    const args = ['--url', standalone().url, '--base-dn', db.suffix, '--password-file', managerPasswordFile(standalone())];
    expect((await tool(['run', ...args], registry)).code).toBe(0);
    // A run killed after its steps: the definition is in place, marked, and never built.
    const killed = await realStepContext(standalone(), db);
    try {
      expect(await killed.ctx.indexes.ensure([{ attribute: 'ibleftovertest', types: ['eq', 'pres'] }])).toEqual(['ibleftovertest']);
    } finally {
      await killed.close();
    }

    const status = await tool(['status', ...args], registry);
    expect(status.stdout).toContain('Pending:     no step; the index build below');
    expect(status.stdout).toContain('Index build: 1 definition(s) not built yet (held out of searches until built: searches on them run unindexed): ibleftovertest');
    expect(status.stdout).toContain('the next run builds them in one index task (the backend is read-only meanwhile)');
    const check = await tool(['check', ...args], registry);
    expect(check.code).toBe(10);
    expect(check.stderr.trim()).toBe(`pki-db-upgrade: ${db.suffix} on ${standalone().url}: upgrade pending: no step; index build: ibleftovertest (database at 2.0.0, package 2.0.0); run pki-db-upgrade to apply`);

    const run = await tool(['run', ...args], registry);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/nothing applied, database at version 2\.0\.0 \([\d.]+ s\); indexes built: ibleftovertest/);
    expect(await marked(db.backend)).toEqual([]);
    expect((await tool(['check', ...args], registry)).code).toBe(0);
    // Built: the next run has nothing to do.
    const again = await tool(['run', ...args], registry);
    expect(again.stderr).toMatch(/up to date at version 2\.0\.0/);
    expect(await ourTasks(db.backend)).toHaveLength(2);
  });

  it('on a replicated database come after the cluster steps, the thaw and the release of the claim: a long build holds up no other server', async () => {
    const db = await replicatedDatabase('ibrepl');
    const registry = registryOf('2.0.0', new Map(), [
      { id: '2.0.0/01-Data', scope: 'cluster' },
      { id: '2.0.0/02-Index', scope: 'server' },
    ]);
    const run = await tool(db.args(db.p.a, 'run', '--verbose'), registry);
    expect(run.code).toBe(0);
    const at = (text: string) => run.stderr.indexOf(text);
    expect(at('applying 2.0.0/01-Data')).toBeGreaterThan(-1);
    expect(at('cluster run: release the cluster claim')).toBeGreaterThan(at('applying 2.0.0/02-Index'));
    expect(at(`index task on backend ${db.backendName} for indextest`)).toBeGreaterThan(at('cluster run: close the sessions to the other servers'));
    expect(await ourTasks(db.backendName, db.p.a)).toEqual([{ attributes: ['indextest'], vlv: [], exitCode: '0' }]);
  });

  it('with index_builds = manual are left by %posttrans and the start to a run by hand, which builds them', async () => {
    const { suffix, backendName: backend } = uniqueSuffix('ibman');
    await createBackend(standalone(), suffix, backend);
    const pki = createFakePki({ port: standalone().port, baseDN: suffix, database: backend });
    passwordFromConfigFile(pki, standalone(), { index_builds: 'manual' });
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Manual', scope: 'server' }]);

    const posttrans = await tool(['run', '--root', pki.root, '--mode', 'posttrans'], registry);
    expect(posttrans.code).toBe(0);
    expect(posttrans.stdout + posttrans.stderr).toMatch(/index build left for a run by hand: manualtest/);
    expect(await marked(backend)).toEqual(['manualtest']);
    expect(await ourTasks(backend)).toEqual([]);
    expect(readStatus(pki)).toMatchObject({ lastRun: { databases: [{ indexBuild: { outcome: 'deferred', names: ['manualtest'] } }] }, pending: { packageVersion: '2.0.0' } });
    expect((await tool(['check', '--root', pki.root], registry)).code).toBe(10);

    const start = await tool(['run', '--root', pki.root, '--mode', 'start'], registry);
    expect(start.code).toBe(0);
    expect(await ourTasks(backend)).toEqual([]);

    const byHand = await tool(['run', '--root', pki.root], registry);
    expect(byHand.code).toBe(0);
    expect(byHand.stdout + byHand.stderr).toMatch(/indexes built: manualtest/);
    expect(await marked(backend)).toEqual([]);
    expect(await ourTasks(backend)).toEqual([{ attributes: ['manualtest'], vlv: [], exitCode: '0' }]);
    expect(readStatus(pki).pending).toBeUndefined();
    expect((await tool(['check', '--root', pki.root], registry)).code).toBe(0);
  });
});
