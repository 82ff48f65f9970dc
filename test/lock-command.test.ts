/**
 * `pki-db-upgrade lock status|release`: the instance lock and the cluster claims, seen and, when
 * left behind by a run that is gone, removed; a live holder only with --force.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { claimDN, claimValue } from '../src/lock/cluster-claim';
import { standalone, withLdap } from './harness/test-env';
import { tool } from './support/cluster';
import { instanceOnServer, removeFakePkis, type FakePki } from './support/fake-pki';

// The fake instances' trees hold a password file: none stays in /tmp.
afterAll(() => removeFakePkis());

const instance = () => instanceOnServer(standalone(), 'lck');

/** A lock as a run makes it: the lock folder and the holder's record. */
function plantLock(pki: FakePki, pid: number): void {
  fs.mkdirSync(path.join(pki.stateDir, 'run.lock'), { recursive: true });
  fs.writeFileSync(path.join(pki.stateDir, 'run.holder.json'), JSON.stringify({ pid, since: '2026-12-01T10:00:00.000Z', mode: 'posttrans' }) + '\n');
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const { pid } = spawnSync('true');
  return pid!;
}

describe('lock', () => {
  it('status tells free, left behind and held; release removes a leftover, and a live holder only with --force', async () => {
    const { pki, suffix } = await instance();
    const status = () => tool(['lock', 'status', '--root', pki.root]);
    expect((await status()).stdout).toBe(`pki-db-upgrade: ${pki.name}: instance lock: free\npki-db-upgrade: ${pki.name}/ca ${suffix}: cluster claim: none\n`);

    const dead = deadPid();
    plantLock(pki, dead);
    expect((await status()).stdout).toContain(`${pki.name}: instance lock: left behind by pid ${dead} (posttrans run since 2026-12-01T10:00:00.000Z), which is no longer running (the next run takes it over)`);
    const released = await tool(['lock', 'release', '--root', pki.root]);
    expect(released.code).toBe(0);
    expect(released.stdout).toContain(`${pki.name}: instance lock: released (it was left behind by pid ${dead}`);
    expect(fs.readdirSync(pki.stateDir).filter((f) => f.startsWith('run.'))).toEqual([]);

    plantLock(pki, process.pid);
    expect((await status()).stdout).toContain(`instance lock: held by pid ${process.pid} (posttrans run since 2026-12-01T10:00:00.000Z), which is running`);
    const refused = await tool(['lock', 'release', '--root', pki.root]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toContain(`is held by pid ${process.pid} (posttrans run since 2026-12-01T10:00:00.000Z), which is running → let it finish; or stop it first; --force releases it anyway`);
    expect(fs.existsSync(path.join(pki.stateDir, 'run.lock'))).toBe(true);
    expect((await tool(['lock', 'release', '--root', pki.root, '--force'])).code).toBe(0);
    expect(fs.existsSync(path.join(pki.stateDir, 'run.lock'))).toBe(false);
  });

  it('a cluster claim left by a run that is gone is released; a live one is kept without --force', async () => {
    const { pki, suffix } = await instance();
    const ds = standalone();
    const claim = (server: string, heartbeat: string) =>
      withLdap(ds, (c) =>
        c.add(claimDN(suffix, server), {
          objectClass: ['top', 'applicationProcess'],
          cn: `pki-db-upgrade claim ${server}`,
          description: claimValue({ server, run: `run-${server}`, host: 'elsewhere.example.com', pid: 4242, since: heartbeat, heartbeat }),
        }),
      );
    await claim('ca2.example.com:389', '2026-01-01T00:00:00.000Z');
    await claim('ca3.example.com:389', new Date().toISOString());
    const status = await tool(['lock', 'status', '--root', pki.root]);
    expect(status.stdout).toMatch(/cluster claim of ca2\.example\.com:389 \(run run-ca2\.example\.com:389 on elsewhere\.example\.com, pid 4242, since 2026-01-01T00:00:00\.000Z\), heartbeat 2026-01-01T00:00:00\.000Z: left behind \(no heartbeat for \d+ s\)/);
    expect(status.stdout).toMatch(/cluster claim of ca3\.example\.com:389 .*: live\n/);

    const released = await tool(['lock', 'release', '--root', pki.root]);
    expect(released.code).toBe(3);
    expect(released.stdout).toMatch(/released the cluster claim of ca2\.example\.com:389/);
    expect(released.stdout).toMatch(/cluster claim of ca3\.example\.com:389 .*: live; not released \(a live claim: --force releases it\)/);
    const forced = await tool(['lock', 'release', '--root', pki.root, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/released the cluster claim of ca3\.example\.com:389/);
    expect((await tool(['lock', 'status', '--root', pki.root])).stdout).toContain(`${pki.name}/ca ${suffix}: cluster claim: none`);
  });

  it('refuses what is not a lock action, and the options of a run', async () => {
    expect(await tool(['lock'])).toMatchObject({ code: 2, stderr: expect.stringContaining('lock needs an action') });
    expect(await tool(['lock', 'open'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown lock action "open"') });
    expect(await tool(['lock', 'status', '--force'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--force belongs to cluster upgrade, lock release, mark-done and forget') });
  });
});
