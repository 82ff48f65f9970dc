/**
 * Start mode (src/app/start-policy.ts): what the upgrade before Tomcat starts came to decides only
 * whether the PKI server may start, and one line for the journal says why.
 */
import { startVerdict } from '../../src/app/start-policy';
import type { DatabaseOutcome } from '../../src/record/status-file';

const outcome = (extra: Partial<DatabaseOutcome>): DatabaseOutcome => ({ subsystem: 'ca', baseDN: 'o=pki-tomcat-CA', result: 'up-to-date', steps: [], ...extra });

describe('the start of the PKI server', () => {
  it('goes on after an upgrade, saying what was done', () => {
    expect(startVerdict([outcome({ result: 'upgraded' })], 0, 'ca upgraded from 11.5.0 to 11.6.0 (2 step(s), 3.10 s)')).toEqual({
      exitCode: 0,
      line: 'ca upgraded from 11.5.0 to 11.6.0 (2 step(s), 3.10 s)',
      warning: false,
    });
  });

  it.each([
    ['the 389 DS is down', 'server-down', 4],
    ['a step failed', 'failed', 1],
    ['another run holds the lock', 'failed', 3],
    ['the database is newer, with changes that are backward compatible', 'database-newer', 2],
  ] as const)('goes on with a warning when %s', (_what, result, code) => {
    const verdict = startVerdict([outcome({ result, message: 'what happened' })], code, 'ca: what happened');
    expect(verdict).toEqual({ exitCode: 0, line: `starting anyway (exit ${code} left for later): ca: what happened`, warning: true });
  });

  it('stops (exit 2) when the database holds a change this package does not ship that is not backward compatible, naming it', () => {
    const newer = outcome({ result: 'database-newer', incompatible: ['11.7.0/01-Strict (applied by ds1:389, package 11.7.0)'] });
    const verdict = startVerdict([outcome({ subsystem: 'kra' }), newer], 2, 'ignored');
    expect(verdict.exitCode).toBe(2);
    expect(verdict.warning).toBe(true);
    expect(verdict.line).toBe(
      'not starting: the database holds changes this package does not ship and that are not backward compatible (ca: 11.7.0/01-Strict (applied by ds1:389, package 11.7.0)); update the PKI packages on this server (dnf update pki-*), then start it',
    );
  });
});
