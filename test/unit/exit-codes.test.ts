/**
 * The exit codes come from one table (src/core/exit-codes.ts): ExitCode, every error's code, the
 * --help text, and the tables of README.md and of the man page source, which
 * packaging/exit-codes.mjs (`make docs`) writes. Any of them drifting from the table fails here.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usage } from '../../src/app/cli-args';
import * as errors from '../../src/core/errors';
import { CHECK_EXIT_CODES, CHECK_PRECEDENCE, EXIT_CODES, exitCodeRows, ExitCode, SIGNAL_EXIT_CODES, SignalExitCode, type ExitCodeMode } from '../../src/core/exit-codes';
import { tempDir } from '../support/temp-dir';

const repo = path.resolve(__dirname, '../..');
const README = path.join(repo, 'README.md');
const MAN_SOURCE = path.join(repo, 'packaging/pki-db-upgrade.8.md');
const MODES: ExitCodeMode[] = ['direct', 'instance', 'check'];

function generator(...args: string[]) {
  return spawnSync(process.execPath, [path.join(repo, 'packaging/exit-codes.mjs'), ...args], { encoding: 'utf8', cwd: repo });
}

/** The text between a document's markers of one mode. */
function block(text: string, mode: ExitCodeMode): string {
  const m = new RegExp(`<!-- exit-codes:${mode}\\b[^\\n]*-->\\n([\\s\\S]*?)<!-- /exit-codes:${mode} -->`).exec(text);
  if (!m) throw new Error(`no exit-codes:${mode} block`);
  return m[1];
}

describe('the table of exit codes', () => {
  it('has one row for every ExitCode, in order, each with a meaning in both modes', () => {
    expect(Object.entries(ExitCode)).toEqual(EXIT_CODES.map((r) => [r.name, r.code]));
    expect(Object.values(ExitCode)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const row of EXIT_CODES) {
      for (const mode of ['direct', 'instance'] as const) expect({ code: row.code, mode, meaning: /^[a-z0-9].*[^.]$/.test(row[mode]) }).toEqual({ code: row.code, mode, meaning: true });
    }
  });

  it('check has codes of its own for its states (10 and up), and shares only 0, 2 and 4 with the runs', () => {
    const codes = CHECK_EXIT_CODES.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.filter((c) => (EXIT_CODES.map((r) => r.code) as number[]).includes(c))).toEqual([0, 2, 4]);
    expect([...CHECK_PRECEDENCE].sort()).toEqual(codes.filter((c) => c !== 0).sort());
    for (const row of CHECK_EXIT_CODES) expect(/^[a-z0-9].*[^.]$/.test(row.meaning)).toBe(true);
  });

  it('every error class carries a code of the table', () => {
    const codes = new Set<number>(EXIT_CODES.map((r) => r.code));
    type ErrorClass = new (a: string, b?: string) => errors.PkiDbUpgradeError;
    const classes = (Object.values(errors) as unknown[]).filter((v): v is ErrorClass => typeof v === 'function' && v.prototype instanceof errors.PkiDbUpgradeError);
    expect(classes.length).toBeGreaterThan(10);
    for (const ErrorClass of classes) {
      const { exitCode } = new ErrorClass('x', 'y');
      expect({ error: ErrorClass.name, known: codes.has(exitCode) }).toEqual({ error: ErrorClass.name, known: true });
    }
  });

  it('signals are 128 + their number, as the shell reports them', () => {
    for (const { name, code } of SIGNAL_EXIT_CODES) expect(code).toBe(128 + os.constants.signals[name]);
    expect(SignalExitCode).toEqual({ SIGHUP: 129, SIGINT: 130, SIGTERM: 143 });
    expect(exitCodeRows('instance').at(-1)?.codes).toBe('129 / 130 / 143');
  });
});

describe('the documents show the table', () => {
  it('README.md and the man page source are what packaging/exit-codes.mjs makes of it (make docs)', () => {
    const r = generator('--check');
    expect({ stderr: r.stderr, status: r.status }).toEqual({ stderr: '', status: 0 });
  });

  it('README.md has every row of each mode in its table, and nothing else there', () => {
    const readme = fs.readFileSync(README, 'utf8');
    for (const mode of MODES) {
      const rows = block(readme, mode).trim().split('\n').slice(2);
      expect(rows).toEqual(exitCodeRows(mode).map((r) => `| ${r.codes} | ${r.meaning} |`));
    }
  });

  it('the man page has every row of each mode as a tagged paragraph', () => {
    const man = fs.readFileSync(MAN_SOURCE, 'utf8');
    for (const mode of MODES) {
      const entries = block(man, mode).trim().split('\n\n').map((e) => e.replace(/\n(:)?\s+/g, (_, colon) => (colon ? '\n' : ' ')));
      expect(entries).toEqual(exitCodeRows(mode).map((r) => `\`${r.codes}\`\n${r.meaning[0].toUpperCase()}${r.meaning.slice(1)}.`));
    }
  });

  it('--help shows every row of each mode', () => {
    const help = usage().replace(/\n {5}(?=\S)/g, ' ');
    for (const mode of MODES) {
      for (const r of exitCodeRows(mode)) expect(help).toContain(`\n  ${r.codes}  ${r.meaning.replace(/`/g, '')}\n`);
    }
    expect(usage().split('\n').filter((l) => l.length > 98)).toEqual([]);
  });

  it('--check fails on a table edited by hand, or a missing marker, and make docs puts the table back', () => {
    const dir = tempDir('pkidbu-exit-codes-');
    const readme = path.join(dir, 'README.md');
    const man = path.join(dir, 'page.8.md');
    fs.copyFileSync(MAN_SOURCE, man);
    fs.writeFileSync(readme, fs.readFileSync(README, 'utf8').replace('| 3 | another run holds the lock |', '| 3 | another run has the lock |'));
    const drifted = generator('--check', '--readme', readme, '--man', man);
    expect(drifted.status).toBe(1);
    expect(drifted.stderr).toMatch(/README\.md: the exit-code tables differ from src\/core\/exit-codes\.ts: run make docs/);
    expect(drifted.stderr).not.toMatch(/page\.8\.md/);

    expect(generator('--readme', readme, '--man', man).status).toBe(0);
    expect(fs.readFileSync(readme, 'utf8')).toBe(fs.readFileSync(README, 'utf8'));

    fs.writeFileSync(man, fs.readFileSync(MAN_SOURCE, 'utf8').replace('<!-- /exit-codes:instance -->', ''));
    const unmarked = generator('--check', '--readme', readme, '--man', man);
    expect(unmarked.status).toBe(1);
    expect(unmarked.stderr).toMatch(/page\.8\.md: no <!-- exit-codes:instance --> \.\.\. <!-- \/exit-codes:instance --> block/);
  });
});
