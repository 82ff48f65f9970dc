/**
 * Figures the reliability suite reports at the end of the run (test/reliability/summary-reporter.js):
 * test files run in jest workers, the reporter in the parent process, so they meet in a JSON-lines
 * file in the harness run root (removed with it by the global teardown, after the reporter ran).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readRunInfo } from '../../harness/run-info';

export const FIGURES_FILE = 'reliability-figures.jsonl';

export function recordFigure(figure: Record<string, unknown>): void {
  fs.appendFileSync(path.join(readRunInfo().runRoot, FIGURES_FILE), JSON.stringify({ at: new Date().toISOString(), ...figure }) + '\n');
}
