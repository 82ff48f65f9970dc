import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockHeldError } from '../../src/core/errors';
import { silentLogger } from '../../src/core/logger';
import { acquireInstanceLock } from '../../src/lock/instance-lock';
import { isAlive } from '../../src/process/alive';

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('instance lock (proper-lockfile)', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-lock-'));
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
  const options = (stateDir: string, waitSec = 0) => ({ stateDir, instance: 'pki-tomcat', mode: 'interactive', waitSec, logger: silentLogger });

  it('is exclusive, names the holder, and is free again after release', async () => {
    const dir = path.join(base, 'a');
    const lock = await acquireInstanceLock(options(dir));
    const holder = JSON.parse(fs.readFileSync(path.join(dir, 'run.holder.json'), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, mode: 'interactive' });
    // a live holder (here: a live process other than us)
    fs.writeFileSync(path.join(dir, 'run.holder.json'), JSON.stringify({ ...holder, pid: process.ppid }));
    await expect(acquireInstanceLock(options(dir))).rejects.toThrow(LockHeldError);
    await expect(acquireInstanceLock(options(dir))).rejects.toThrow(`pid ${process.ppid} (interactive run since`);
    await lock.release();
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false);
    const again = await acquireInstanceLock(options(dir));
    await again.release();
  });

  it('a lock left by a dead pid is taken over at once', async () => {
    const dir = path.join(base, 'b');
    fs.mkdirSync(path.join(dir, 'run.lock'), { recursive: true }); // as left by kill -9: fresh mtime
    const pid = deadPid();
    expect(isAlive(pid)).toBe(false);
    fs.writeFileSync(path.join(dir, 'run.holder.json'), JSON.stringify({ pid, since: '2024-01-01T00:00:00Z', mode: 'posttrans' }));
    const started = Date.now();
    const lock = await acquireInstanceLock(options(dir));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lock.tookOverFrom).toMatchObject({ pid, mode: 'posttrans' });
    await lock.release();
  });

  it('a lock made by a run killed before it could rename its record into place is taken over at once', async () => {
    const dir = path.join(base, 'd');
    fs.mkdirSync(path.join(dir, 'run.lock'), { recursive: true });
    const previous = deadPid();
    const killed = deadPid();
    // the record of the last holder, and the candidate record of the run that made the lock
    fs.writeFileSync(path.join(dir, 'run.holder.json'), JSON.stringify({ pid: previous, since: '2024-01-01T00:00:00Z', mode: 'posttrans' }));
    fs.writeFileSync(path.join(dir, `run.holder.json.${killed}`), JSON.stringify({ pid: killed, since: '2024-01-02T00:00:00Z', mode: 'interactive' }));
    const lock = await acquireInstanceLock(options(dir));
    expect(lock.tookOverFrom).toMatchObject({ pid: killed, mode: 'interactive' });
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('run.holder.json'))).toEqual(['run.holder.json']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.holder.json'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('a candidate record left by a killed run does not free a lock whose holder still runs', async () => {
    const dir = path.join(base, 'e');
    const first = await acquireInstanceLock(options(dir));
    fs.writeFileSync(path.join(dir, 'run.holder.json'), JSON.stringify({ pid: process.ppid, since: 'x', mode: 'posttrans' }));
    const killed = deadPid();
    fs.writeFileSync(path.join(dir, `run.holder.json.${killed}`), JSON.stringify({ pid: killed, since: 'y', mode: 'interactive' }));
    await expect(acquireInstanceLock(options(dir))).rejects.toThrow(`pid ${process.ppid} (posttrans run since x)`);
    expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(true);
    await first.release();
  });

  it('release leaves nothing behind; a record without a lock (a kill between the two removals) is ignored', async () => {
    const dir = path.join(base, 'f');
    const lock = await acquireInstanceLock(options(dir));
    await lock.release();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('run'))).toEqual([]);
    fs.writeFileSync(path.join(dir, 'run.holder.json'), JSON.stringify({ pid: process.ppid, since: 'x', mode: 'posttrans' }));
    const again = await acquireInstanceLock(options(dir));
    expect(again.tookOverFrom).toBeUndefined();
    await again.release();
  });

  it('--wait polls until the holder releases', async () => {
    const dir = path.join(base, 'c');
    const first = await acquireInstanceLock(options(dir));
    fs.writeFileSync(path.join(dir, 'run.holder.json'), JSON.stringify({ pid: process.ppid, since: 'x', mode: 'posttrans' }));
    setTimeout(() => void first.release(), 600);
    const started = Date.now();
    const second = await acquireInstanceLock(options(dir, 10));
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    await second.release();
  });
});
