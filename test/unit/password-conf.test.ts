import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/core/logger';
import { MARKER_NAME, readPasswordConf, removeLeftoverPasswordConf, restorePasswordConf } from '../../src/auth/password-conf';

describe('password.conf restore', () => {
  let dir: string;
  let file: string;
  let state: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-pc-'));
    file = path.join(dir, 'password.conf');
    state = path.join(dir, 'state');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const owner = { uid: process.getuid!(), gid: process.getgid!() };

  it('writes only <key>=<password> with mode 0600 even under umask 0, with a marker, and removes both', () => {
    const old = process.umask(0);
    try {
      const restored = restorePasswordConf({ file, key: 'internaldb', password: 'pw=1', owner, stateDir: state })!;
      expect(fs.readFileSync(file, 'utf8')).toBe('internaldb=pw=1\n');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(state, MARKER_NAME)).mode & 0o777).toBe(0o600);
      expect(readPasswordConf(file, 'internaldb', { uid: 0, gid: 0 })).toEqual({ exists: true, password: 'pw=1' });
      expect(fs.readdirSync(dir).sort()).toEqual(['password.conf', 'state']); // no temporary file left
      restored.remove();
      expect(fs.existsSync(file)).toBe(false);
      expect(fs.existsSync(path.join(state, MARKER_NAME))).toBe(false);
    } finally {
      process.umask(old);
    }
  });

  it('leaves an existing password.conf alone', () => {
    fs.writeFileSync(file, 'internal=x\n', { mode: 0o640 });
    expect(restorePasswordConf({ file, key: 'internaldb', password: 'pw', owner, stateDir: state })).toBeUndefined();
    expect(fs.readFileSync(file, 'utf8')).toBe('internal=x\n');
    expect(readPasswordConf(file, 'internaldb', { uid: 0, gid: 0 })).toEqual({ exists: true, password: undefined });
  });

  it('a leftover is removed by the next run only while it is the very file that was written', () => {
    const crashed = restorePasswordConf({ file, key: 'internaldb', password: 'pw', owner, stateDir: state })!;
    // (pretend the run died: its cleanup never ran)
    expect(removeLeftoverPasswordConf(state, file, silentLogger)).toEqual([expect.stringMatching(/^removed .*password.conf left behind by an interrupted run/)]);
    expect(fs.existsSync(file)).toBe(false);

    restorePasswordConf({ file, key: 'internaldb', password: 'pw', owner, stateDir: state });
    fs.appendFileSync(file, 'internal=added by the admin\n');
    expect(removeLeftoverPasswordConf(state, file, silentLogger)[0]).toContain('gone or was replaced since: left as is');
    expect(fs.readFileSync(file, 'utf8')).toContain('added by the admin');
    crashed.remove(); // unregisters: must not touch the admin's file either
    expect(fs.existsSync(file)).toBe(true);
  });

  it('a temporary file of a dead run is removed, one of a live run is not', () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    fs.writeFileSync(path.join(dir, `.password.conf.pki-db-upgrade.${dead}`), 'internaldb=x\n', { mode: 0o600 });
    fs.writeFileSync(path.join(dir, `.password.conf.pki-db-upgrade.${process.ppid}`), 'internaldb=x\n', { mode: 0o600 });
    removeLeftoverPasswordConf(state, file, silentLogger);
    expect(fs.readdirSync(dir)).toEqual([`.password.conf.pki-db-upgrade.${process.ppid}`]);
  });
});
