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
    expect(written.join('')).not.toMatch(/winston|nobody hears this/);
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
