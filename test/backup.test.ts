/**
 * The backup before the first change (core/backup.ts, apply/database-backup.ts): an export task
 * of the real 389 DS, finished before the first data or schema step writes anything, named in the
 * run's line; a backup that cannot be taken stops the run with nothing of the steps written. On a
 * 389 DS of its own (ports PKI_TEST_PORT_BASE+28, +29): one test breaks the server's LDIF folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createBackend, removeInstance, type DsInstance } from './harness/dirsrv';
import { firstString } from './harness/ldap';
import { ownInstance, uniqueSuffix, withLdap } from './harness/test-env';
import { addOu, historyOf, managerPasswordFile, registryOf, tool } from './support/cluster';
import { createFakePki, passwordFromConfigFile, readStatus, removeFakePkis, writeToolConfig } from './support/fake-pki';

let ds: DsInstance;
let ldifDir: string;

beforeAll(async () => {
  ds = await ownInstance('backup', 28);
  ldifDir = await withLdap(ds, async (c) => firstString((await c.search('cn=config', { scope: 'base', attributes: ['nsslapd-ldifdir'] })).searchEntries[0], 'nsslapd-ldifdir')!);
}, 120_000);

afterAll(async () => {
  removeFakePkis();
  if (ds) await removeInstance(ds);
});

async function database(prefix: string) {
  const { suffix, backendName } = uniqueSuffix(prefix);
  await createBackend(ds, suffix, backendName);
  const pw = managerPasswordFile(ds);
  return { suffix, backendName, args: (...command: string[]) => [...command, '--url', ds.url, '--base-dn', suffix, '--password-file', pw] };
}

/** The exports of `backend` in the server's LDIF folder. */
const exportsOf = (backend: string) => fs.readdirSync(ldifDir).filter((f) => f.startsWith(`pki-db-upgrade-${backend}-`) && f.endsWith('.ldif'));

describe('the backup before the first change', () => {
  it('is an export of the suffix, finished before the first data step runs, and named in the summary', async () => {
    const db = await database('bkdata');
    const seenByStep: string[][] = [];
    const registry = registryOf('2.0.0', new Map(), [
      { id: '1.1.0/01-Index', scope: 'server' },
      {
        id: '2.0.0/01-Data',
        scope: 'cluster',
        upgrade: async (ctx) => {
          seenByStep.push(exportsOf(db.backendName));
          await addOu(ctx, 'data');
        },
      },
    ]);
    const r = await tool(db.args('run', '--backup', 'before-data-steps'), registry);
    expect(r.code).toBe(0);
    const [file] = exportsOf(db.backendName);
    expect(seenByStep).toEqual([[file]]); // there when the data step ran
    expect(r.stderr).toMatch(new RegExp(`backup of the database before 2\\.0\\.0/01-Data: ${ldifDir}/${file}`));
    expect(r.stderr).toMatch(new RegExp(`upgraded from \\(untracked\\) to 2\\.0\\.0, 4 step\\(s\\) in [\\d.]+ s; backup taken first: ${ldifDir}/${file}`));
    // Taken after the server-scope index step and the history's own schema, before the data step.
    expect(r.stderr.indexOf('backup of the database')).toBeGreaterThan(r.stderr.indexOf('done 1.1.0/01-Index'));
    const ldif = fs.readFileSync(path.join(ldifDir, file), 'utf8');
    expect(ldif).toMatch(new RegExp(`^dn: ${db.suffix}$`, 'm'));
    expect(ldif).toMatch(new RegExp(`^dn: cn=dbUpgrade,${db.suffix}$`, 'm')); // the history as it was before the step
    expect(ldif).not.toMatch(/^dn: ou=data,/m);

    // Nothing left that needs one: no second export.
    expect((await tool(db.args('run', '--backup', 'always'), registry)).stderr).not.toMatch(/backup/);
    expect(exportsOf(db.backendName)).toEqual([file]);
  });

  it('is not taken for server-scope steps alone (before-data-steps), is taken before any step with always, and never with never', async () => {
    const only = await database('bkidx');
    const indexes = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Index', scope: 'server' }]);
    expect((await tool(only.args('run', '--backup', 'before-data-steps'), indexes)).code).toBe(0);
    expect(exportsOf(only.backendName)).toEqual([]);

    const always = await database('bkall');
    const r = await tool(always.args('run', '--backup', 'always'), indexes);
    expect(r.stderr).toMatch(/backup of the database before 10\.0\.0\/01-TrackingSchema: /);
    expect(exportsOf(always.backendName)).toHaveLength(1);

    const never = await database('bknever');
    expect((await tool(never.args('run'), registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Data', scope: 'cluster' }]))).code).toBe(0); // direct mode: never by default
    expect(exportsOf(never.backendName)).toEqual([]);
  });

  it('that cannot be taken stops the run before the first data step, which is not recorded or run', async () => {
    const db = await database('bkfail');
    let ran = false;
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Data', scope: 'cluster', upgrade: async () => void (ran = true) }]);
    // The server's LDIF folder replaced by a file: 389 DS cannot create the export.
    const away = `${ldifDir}.away`;
    fs.renameSync(ldifDir, away);
    fs.writeFileSync(ldifDir, 'not a folder\n');
    let r;
    try {
      r = await tool(db.args('run', '--backup', 'before-data-steps'), registry);
    } finally {
      fs.rmSync(ldifDir);
      fs.renameSync(away, ldifDir);
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`the backup of ${db.suffix} \\(389 DS export task\\) failed \\(task exit -?\\d+`));
    expect(r.stderr).toMatch(/nothing was changed/);
    expect(ran).toBe(false);
    const state = await historyOf(ds, db.suffix);
    expect([...state.cluster.keys()]).toEqual(['10.0.0/01-TrackingSchema', '10.0.0/02-TrackingAudit']); // the run's own bookkeeping only

    // Once the folder is back, the next run takes it and goes on.
    const again = await tool(db.args('run', '--backup', 'before-data-steps'), registry);
    expect(again.code).toBe(0);
    expect(ran).toBe(true);
  });

  it('in instance mode follows backup in db-upgrade.conf (before-data-steps by default), and the status file and the one line name it', async () => {
    const { suffix, backendName } = uniqueSuffix('bkinst');
    await createBackend(ds, suffix, backendName);
    const pki = createFakePki({ port: ds.port, baseDN: suffix });
    passwordFromConfigFile(pki, ds);
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Data', scope: 'cluster' }]);
    const r = await tool(['run', '--mode', 'posttrans', '--root', pki.root], registry);
    expect(r.code).toBe(0);
    const [file] = exportsOf(backendName);
    expect(r.stdout).toMatch(new RegExp(`^pki-db-upgrade: ${pki.name}: ca upgraded from \\(untracked\\) to 2\\.0\\.0 \\(3 step\\(s\\), [\\d.]+ s\\); backup taken first: ${ldifDir}/${file}\\n$`));
    expect(readStatus(pki).lastRun.databases[0].backup).toBe(`${ldifDir}/${file}`);

    const other = createFakePki({ port: ds.port, baseDN: (await database('bkoff')).suffix });
    passwordFromConfigFile(other, ds, { backup: 'never' });
    expect((await tool(['run', '--root', other.root], registry)).code).toBe(0);
    writeToolConfig(other, { backup: 'sometimes' });
    const bad = await tool(['run', '--root', other.root], registry);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/backup = sometimes is not always, before-data-steps or never/);
  });
});
