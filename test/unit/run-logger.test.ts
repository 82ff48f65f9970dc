import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createRunLogger } from '../../src/logging/run-logger';

describe('run logger', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-log-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates the log 0640, and a known secret never reaches the file or the console', async () => {
    const file = path.join(dir, 'sub', 'db-upgrade.log');
    const stderr = new PassThrough();
    let console = '';
    stderr.on('data', (d) => (console += d));
    const old = process.umask(0);
    const logger = createRunLogger({ consoleLevel: 'info', logFile: file, stderr, secrets: () => ['S3cr3t!'] });
    process.umask(old);
    logger.info('bind failed with S3cr3t! in it', { detail: { password: 'S3cr3t!' } });
    logger.appendSync('error', 'interrupted; S3cr3t! again');
    await logger.close();
    const text = fs.readFileSync(file, 'utf8');
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(text).toContain('bind failed with *** in it {"detail":{"password":"***"}}');
    expect(text).toMatch(/ERROR interrupted; \*\*\* again/);
    expect(text + console).not.toContain('S3cr3t!');
    expect(console).toContain('bind failed with *** in it');
  });

  it('every line is in the file when the call returns, in the order logged, appendSync among them', () => {
    const file = path.join(dir, 'order.log');
    const logger = createRunLogger({ consoleLevel: 'silent', logFile: file, stderr: new PassThrough() });
    logger.info('first', { root: '/', fileOnly: true });
    logger.appendSync('error', 'second, from a signal handler');
    logger.debug('third: 100% of %s', { n: 3 });
    // Read before close(): a signal or process.exit may come at any point after a line is logged.
    expect(fs.readFileSync(file, 'utf8').split('\n')).toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  first \{"root":"\/"\}$/),
      expect.stringMatching(/Z ERROR second, from a signal handler$/),
      expect.stringMatching(/Z DEBUG third: 100% of %s \{"n":3\}$/),
      '',
    ]);
  });

  it('a log file that fails while written (disk full) says so once, then the lines go to stderr', async () => {
    const file = path.join(dir, 'full.log');
    const stderr = new PassThrough();
    let console = '';
    stderr.on('data', (d) => (console += d));
    const logger = createRunLogger({ consoleLevel: 'warn', logFile: file, stderr });
    logger.info('written');
    const full = jest.spyOn(fs, 'writeSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    logger.info('not written');
    logger.info('after it');
    full.mockRestore();
    await logger.close();
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^\S+ INFO  written\n$/);
    expect(console.match(/warning: /g)).toHaveLength(1);
    expect(console).toContain(`warning: log file ${file}: ENOSPC: no space left on device, write; logging to stderr instead`);
    expect(console).toMatch(/INFO  not written\n\S+ INFO  after it\n$/);
  });

  it('a quiet logger (no console, no file) prints nothing at all', async () => {
    const stderr = new PassThrough();
    let console = '';
    stderr.on('data', (d) => (console += d));
    const spies = [jest.spyOn(process.stderr, 'write'), jest.spyOn(process.stdout, 'write')];
    const logger = createRunLogger({ consoleLevel: 'silent', stderr });
    logger.info('nobody hears this');
    await logger.close();
    const written = spies.flatMap((s) => s.mock.calls.map((c) => String(c[0])));
    spies.forEach((s) => s.mockRestore());
    expect(console).toBe('');
    expect(written.join('')).not.toContain('nobody hears this');
  });

  it('an unwritable path (even under /proc) falls back to stderr without throwing', async () => {
    const stderr = new PassThrough();
    let console = '';
    stderr.on('data', (d) => (console += d));
    const logger = createRunLogger({ consoleLevel: 'silent', logFile: '/proc/pkidbu-nope/x.log', stderr });
    logger.info('still logged');
    await logger.close();
    expect(logger.logFile).toBeUndefined();
    expect(console).toContain('warning: cannot write the log file /proc/pkidbu-nope/x.log');
    expect(console).toContain('still logged');
  });
});
