import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { overallResult, resultOf } from '../../src/app/instance-outcome';
import { ClaimLostError, CredentialsRejectedError, LockHeldError, ReplicationPendingError, ServerUnreachableError, StepFailedError } from '../../src/core/errors';
import { readStatusFile, recordRun, type DatabaseOutcome, type RunStatus } from '../../src/record/status-file';

const run = (result: RunStatus['result'], endTime: string, message?: string): RunStatus => ({
  instance: 'pki-tomcat',
  packageVersion: '11.6.0',
  mode: 'posttrans',
  pid: 1,
  startTime: endTime,
  endTime,
  result,
  message,
  databases: [],
});

describe('status file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-status-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a pending upgrade is recorded by a failed, skipped or server-down run, keeps its first date, and is cleared by a good run', () => {
    const state = path.join(dir, 'state');
    recordRun(state, run('server-down', '2024-01-01T00:00:00Z', 'ca: refused'));
    expect(readStatusFile(state)?.pending).toEqual({ since: '2024-01-01T00:00:00Z', reason: 'ca: refused', packageVersion: '11.6.0' });
    recordRun(state, run('failed', '2024-01-02T00:00:00Z', 'ca: step failed'));
    expect(readStatusFile(state)?.pending).toMatchObject({ since: '2024-01-01T00:00:00Z', reason: 'ca: step failed' });
    recordRun(state, run('upgraded', '2024-01-03T00:00:00Z'));
    expect(readStatusFile(state)).toEqual({ lastRun: expect.objectContaining({ result: 'upgraded' }) });
    recordRun(state, run('skipped', '2024-01-04T00:00:00Z', 'skipped: auto_upgrade = false'));
    expect(readStatusFile(state)?.pending?.since).toBe('2024-01-04T00:00:00Z');
    expect((fs.statSync(path.join(state, 'status.json')).mode & 0o777).toString(8)).toBe('644');
  });

  it('the exit code follows the worst database: failed 1, config 2, server down 4', () => {
    const o = (result: DatabaseOutcome['result']): DatabaseOutcome => ({ subsystem: 's', baseDN: 'o=s', result, steps: [] });
    expect(overallResult([o('up-to-date'), o('upgraded')])).toEqual({ result: 'upgraded', exitCode: 0 });
    expect(overallResult([o('up-to-date')])).toEqual({ result: 'up-to-date', exitCode: 0 });
    expect(overallResult([o('server-down'), o('failed')])).toEqual({ result: 'failed', exitCode: 1 });
    expect(overallResult([o('server-down'), o('config-error')])).toEqual({ result: 'config-error', exitCode: 2 });
    expect(overallResult([o('upgraded'), o('server-down')])).toEqual({ result: 'server-down', exitCode: 4 });
  });
});

describe('the status result of an error', () => {
  it('is the result of its exit code: one table with the precedence of results', () => {
    expect(resultOf(new ServerUnreachableError('down'))).toBe('server-down');
    expect(resultOf(new ClaimLostError('lost'))).toBe('waiting-for-replication');
    expect(resultOf(new ReplicationPendingError('on its way'))).toBe('replicating');
    expect(resultOf(new CredentialsRejectedError('wrong password'))).toBe('config-error');
    expect(resultOf(new StepFailedError('1.0.0/01-X', 'step failed'))).toBe('failed');
    // No result of its own: a lock held by another run, anything untyped.
    expect(resultOf(new LockHeldError('held'))).toBe('failed');
    expect(resultOf(new Error('a bug'))).toBe('failed');
  });
});
