/**
 * Calls a function of a packaging script (packaging/*.mjs: ESM, run by node as the build runs it,
 * which jest's CommonJS transform cannot import) with JSON arguments, and returns its JSON result.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export function callPackagingFunction(script: string, fn: string, ...args: unknown[]): unknown {
  const file = path.resolve(__dirname, '../../packaging', script);
  const code = `import * as m from ${JSON.stringify(file)}; const r = m[${JSON.stringify(fn)}](...${JSON.stringify(args)}); console.log(JSON.stringify(r ?? null));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
