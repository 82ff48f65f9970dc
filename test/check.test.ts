/**
 * `pki-db-upgrade check` on the real replicated pair: read only, it tells by its exit code whether
 * a database is up to date (0), has an upgrade pending (10), has its pending steps held back until
 * the other servers run a package that ships them (11), is newer than the package (12), or cannot
 * be told (4).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DsInstance } from './harness/dirsrv';
import { overallCheck, type DatabaseCheck } from '../src/app/check';
import { standalone } from './harness/test-env';
import { converge, historyOf, registryOf, replicatedDatabase, tool, type Applications } from './support/cluster';
import { instanceOnServer, removeFakePkis } from './support/fake-pki';
import { closedLoopbackPort } from './support/ports';
import { tempDir } from './support/temp-dir';

// The fake instances' trees hold a password file: none stays in /tmp.
afterAll(() => removeFakePkis());

/** The whole history a server holds, as text to compare before and after. */
async function historyText(ds: DsInstance, suffix: string): Promise<string> {
  const state = await historyOf(ds, suffix);
  return JSON.stringify({ version: state.databaseVersion, cluster: [...state.cluster], servers: [...state.servers].map(([s, m]) => [s, [...m]]), info: [...state.serverInfo] });
}

describe('check', () => {
  it('gives each state its exit code, one line per database or --json, and writes nothing', async () => {
    const db = await replicatedDatabase('clcheck');
    const { a, b } = db.p;
    const applied: Applications = new Map();
    // B runs the 1.1.0 package; 2.0.0 brings a step that is not backward compatible.
    const old = registryOf('1.1.0', applied, [{ id: '1.1.0/01-Base', scope: 'cluster' }]);
    const registry = registryOf('2.0.0', applied, [
      { id: '1.1.0/01-Base', scope: 'cluster' },
      { id: '2.0.0/01-Breaking', scope: 'cluster', backwardCompatible: false },
      { id: '2.0.0/02-Index', scope: 'server' },
    ]);
    expect((await tool(db.args(b, 'run'), old)).code).toBe(0);

    // A has not run 2.0.0 yet: pending (its record of the package is owed), the new steps held back.
    const before = await historyText(a, db.suffix);
    const pending = await tool(db.args(a, 'check'), registry);
    expect(pending.code).toBe(10);
    expect(pending.stderr.trim()).toBe(
      `pki-db-upgrade: ${db.suffix} on ${a.url}: upgrade pending: no step, but this server's record of its package (the other servers wait for it) (database at 1.1.0, package 2.0.0); held back: 2.0.0/01-Breaking, 2.0.0/02-Index; run pki-db-upgrade to apply`,
    );
    expect(await historyText(a, db.suffix)).toBe(before);

    // After A's run: only the held-back steps are left, waiting for B.
    expect((await tool(db.args(a, 'run'), registry)).code).toBe(0);
    const held = await tool(db.args(a, 'check', '--json'), registry);
    expect(held.code).toBe(11);
    const report = JSON.parse(held.stdout);
    expect(report).toMatchObject({ exitCode: 11, state: 'held-back', packageVersion: '2.0.0' });
    expect(report.databases).toEqual([
      expect.objectContaining({
        state: 'held-back',
        databaseVersion: '1.1.0',
        pending: [],
        heldBack: [
          { id: '2.0.0/01-Breaking', why: expect.stringContaining(`waits until every server runs a package >= 2.0.0 (behind: localhost:${b.port} (package 1.1.0))`) },
          { id: '2.0.0/02-Index', why: 'held back: after 2.0.0/01-Breaking' },
        ],
      }),
    ]);

    // B, still on 1.1.0: up to date; with a package older than the database: newer (12).
    const current = await tool(db.args(b, 'check'), old);
    expect(current.code).toBe(0);
    expect(current.stdout.trim()).toBe(`pki-db-upgrade: ${db.suffix} on ${b.url}: up to date (database at 1.1.0, package 1.1.0)`);
    const older = await tool(db.args(b, 'check'), registryOf('1.0.0', applied, []));
    expect(older.code).toBe(12);
    expect(older.stderr).toMatch(/the database is at version 1\.1\.0, newer than this package \(1\.0\.0\)/);
    // Once B runs 2.0.0 too, nothing holds the steps back any more: pending there. B must first
    // hold A's record of its package: A's run wrote only that record, which no convergence wait covers.
    await converge(db);
    const onB = await tool(db.args(b, 'check'), registry);
    expect(onB.code).toBe(10);
    expect(onB.stderr).toMatch(/upgrade pending: 2\.0\.0\/01-Breaking, 2\.0\.0\/02-Index/);

    // Nothing was written by any check: the run of A is the last change.
    expect((await historyText(b, db.suffix)).includes('2.0.0/02-Index')).toBe(false);
  });

  it('in instance mode looks at every subsystem of the instance without writing a file: no log, no status, no restored password.conf', async () => {
    const { pki, suffix } = await instanceOnServer(standalone(), 'chk');
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Schema', scope: 'cluster' }]);

    const pending = await tool(['check', '--root', pki.root], registry);
    expect(pending.code).toBe(10);
    expect(pending.stderr.trim()).toBe(`pki-db-upgrade: ${pki.name}/ca ${suffix}: upgrade pending: 10.0.0/01-TrackingSchema, 10.0.0/02-TrackingAudit, 2.0.0/01-Schema (database at (untracked), package 2.0.0); run pki-db-upgrade to apply`);
    expect([pki.logFile, pki.statusFile, pki.passwordConf].filter((f) => fs.existsSync(f))).toEqual([]);

    expect((await tool(['run', '--root', pki.root], registry)).code).toBe(0);
    const current = await tool(['check', '--root', pki.root, '--json'], registry);
    expect(current.code).toBe(0);
    expect(JSON.parse(current.stdout)).toMatchObject({ exitCode: 0, state: 'up-to-date', databases: [{ database: `${pki.name}/ca ${suffix}`, databaseVersion: '2.0.0', pending: [], heldBack: [] }] });
  });

  it('cannot tell (4) when the server cannot be reached, and refuses the options of a run (2)', async () => {
    const port = await closedLoopbackPort();
    const passwordFile = path.join(tempDir('pkidbu-check-'), 'pw');
    fs.writeFileSync(passwordFile, 'secret\n', { mode: 0o600 });
    const down = await tool(['check', '--url', `ldap://127.0.0.1:${port}`, '--base-dn', 'o=nowhere', '--password-file', passwordFile, '--connect-timeout', '2'], registryOf('1.0.0', new Map(), []));
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/refused the connection/);
    const misuse = await tool(['check', '--mode', 'posttrans']);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toMatch(/check: --mode and --wait belong to run/);
    const incomplete = await tool(['check', '--url', `ldap://127.0.0.1:${port}`, '--password-file', passwordFile]);
    expect(incomplete.code).toBe(2);
    expect(incomplete.stderr).toMatch(/no base DN given/);
  });

  it('several databases: the first of 2, 12, 4, 10, 11 present decides', () => {
    const c = (exitCode: DatabaseCheck['exitCode']) => ({ exitCode }) as DatabaseCheck;
    expect(overallCheck([c(0), c(11), c(10)])).toBe(10);
    expect(overallCheck([c(10), c(4)])).toBe(4);
    expect(overallCheck([c(4), c(12), c(2)])).toBe(2);
    expect(overallCheck([c(0), c(0)])).toBe(0);
    expect(overallCheck([])).toBe(0);
  });
});
