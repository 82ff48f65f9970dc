/**
 * jest reporter: after a run that included the reliability suite (test/reliability/), prints one
 * table on stderr: for each point of the suite, the cases tried and passed, and the figures the
 * tests recorded (kill points and where they landed, runs and files scanned for secrets). It
 * prints before jest's own summary, so `make test`'s last line stays "N passed, N failed".
 *
 * Test files run in workers; they leave figures in <run root>/reliability-figures.jsonl (see
 * support/figures.ts). The run root is computed as test/harness/run-info.ts does.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const FILES = [
  ['crash', '1 crash anywhere (kill -9)'],
  ['concurrency', '2 concurrency'],
  ['server-faults', '3 server faults'],
  ['bad-input', '4 bad input'],
];

function runRoot() {
  const base = Number.parseInt(process.env.PKI_TEST_PORT_BASE || '18900', 10);
  return path.join(process.env.PKI_TEST_ROOT || os.tmpdir(), `pkidbu-${base}`);
}

function readFigures() {
  try {
    return fs
      .readFileSync(path.join(runRoot(), 'reliability-figures.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

function pad(text, width) {
  const s = String(text);
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

function tmpListing() {
  try {
    return new Set(fs.readdirSync(os.tmpdir()));
  } catch {
    return new Set();
  }
}

class ReliabilitySummary {
  onRunStart() {
    this.tmpBefore = tmpListing();
  }

  onRunComplete(_contexts, results) {
    const files = results.testResults.filter((r) => r.testFilePath.includes(`${path.sep}reliability${path.sep}`));
    if (files.length === 0) return;
    const figures = readFigures();
    const rows = [];
    for (const [name, label] of FILES) {
      const file = files.find((r) => path.basename(r.testFilePath) === `${name}.test.ts`);
      if (!file) continue;
      const tests = file.testResults.filter((t) => t.status !== 'pending' && t.status !== 'todo');
      const passed = tests.filter((t) => t.status === 'passed').length;
      const seconds = ((file.perfStats.end - file.perfStats.start) / 1000).toFixed(1);
      let note = file.failureMessage && tests.length === 0 ? 'did not run: see the failure above' : '';
      if (name === 'crash') {
        const crash = figures.find((f) => f.kind === 'crash');
        if (crash) {
          // Points 1..99 are the chain of kills on one database, 101.. the single-kill trials.
          const chain = crash.kills.filter((k) => k.point < 100);
          const trials = crash.kills.filter((k) => k.point > 100);
          note =
            `kill -9 hit a live run at ${chain.filter((k) => k.killed).length} of ${chain.length} moments + ${trials.filter((k) => k.killed).length} of ${trials.length} trials ` +
            `(seed ${crash.seed}); ${crash.backfilled} of ${crash.records} records backfilled; uninterrupted run ${(crash.referenceMs / 1000).toFixed(1)} s`;
        }
      }
      rows.push([label, tests.length, passed, tests.length - passed, `${seconds} s`, note]);
    }
    const checks = figures.filter((f) => f.kind === 'check');
    if (checks.length) {
      const runs = checks.reduce((n, c) => n + c.runs, 0);
      const guards = figures.filter((f) => f.kind === 'guard');
      const scannedFiles = guards.reduce((n, g) => n + g.files, 0);
      const isolation = [...new Set(guards.map((g) => g.isolation))].join(', ');
      rows.push(['5 secrets (password never shown)', checks.length, checks.filter((c) => c.secrets === 0).length, checks.filter((c) => c.secrets > 0).length, '', `${runs} runs' output and ${scannedFiles} files scanned`]);
      rows.push(['6 files (owner, mode, nothing left)', checks.length, checks.filter((c) => c.files === 0 && c.tmp === 0).length, checks.filter((c) => c.files > 0 || c.tmp > 0).length, '', `tool runs with ${isolation}`]);
    }
    // The whole test run, any process: what appeared in the temporary folder and is still there
    // (the harness run root goes with the global teardown, after this).
    const root = path.basename(runRoot());
    const left = [...tmpListing()].filter((n) => !this.tmpBefore?.has(n) && n !== root && n !== `${root}.owner`).sort();
    const extra = [];
    if (this.tmpBefore) {
      extra.push(`New in ${os.tmpdir()} since the run started (any process; the harness run root excepted): ${left.length ? left.join(', ') : 'nothing'}`);
    }
    const header = ['reliability case', 'tried', 'passed', 'failed', 'time', 'figures'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
    const line = (cells) => cells.map((c, i) => pad(c, i === cells.length - 1 ? 0 : widths[i])).join('  ').trimEnd();
    const out = ['', 'Reliability suite summary', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
    const crash = figures.find((f) => f.kind === 'crash');
    if (crash) {
      const where = new Map();
      for (const k of crash.kills) {
        const key = k.killed ? k.landed : 'run ended before the kill';
        where.set(key, (where.get(key) || 0) + 1);
      }
      out.push('', 'Where the kills landed:', ...[...where].map(([k, n]) => `  ${pad(n, 3)} ${k}`));
    }
    for (const note of figures.filter((f) => f.kind === 'note')) extra.push(`Note: ${note.text}`);
    if (extra.length) out.push('', ...extra);
    process.stderr.write(out.join('\n') + '\n\n');
  }
}

module.exports = ReliabilitySummary;
