import fs from 'node:fs';
import path from 'node:path';

/**
 * mkdir -p, one level at a time. Node's own recursive mkdirSync spins forever on some virtual
 * file systems (e.g. a path under /proc), which would hang %posttrans; this fails with the error.
 */
export function makeDirs(dir: string, mode: number): void {
  if (fs.existsSync(dir)) return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeDirs(parent, mode);
  try {
    fs.mkdirSync(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
