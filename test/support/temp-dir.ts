/**
 * Temporary folders of a test file, all removed after its last test, so that a test run leaves
 * nothing in /tmp (several held the harness's Directory Manager password). Importing this module
 * registers the removal for the importing test file (jest keeps one module registry per file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const created: string[] = [];

afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new, empty folder under the system's temporary folder, removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}
