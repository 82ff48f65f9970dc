/** What a bundle loads at start (packaging/lean-start.mjs, the esbuild plugins of packaging/build.mjs). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Bundles `entry` (TypeScript, beside the `others` files) as packaging/build.mjs does, with the
 * lean-start plugins, runs it (after `preload`, when given), and returns its stdout lines.
 */
function bundleAndRun(entry: string, others: Record<string, string> = {}, preload?: string): string[] {
  const dir = tempDir('pkidbu-lean-');
  fs.writeFileSync(path.join(dir, 'entry.ts'), entry);
  for (const [name, text] of Object.entries(others)) fs.writeFileSync(path.join(dir, name), text);
  const build = `
    import { build } from ${JSON.stringify(path.join(ROOT, 'node_modules/esbuild/lib/main.js'))};
    import { builtinsImportedOnce, lazyBuiltins, nodeFsForGracefulFs } from ${JSON.stringify(path.join(ROOT, 'packaging/lean-start.mjs'))};
    await build({ entryPoints: [${JSON.stringify(path.join(dir, 'entry.ts'))}], outfile: ${JSON.stringify(path.join(dir, 'out.js'))},
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'warning', nodePaths: [${JSON.stringify(path.join(ROOT, 'node_modules'))}],
      plugins: [lazyBuiltins(['tls', 'child_process']), builtinsImportedOnce(), nodeFsForGracefulFs] });`;
  const built = spawnSync(process.execPath, ['--input-type=module', '-e', build], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  if (preload) fs.writeFileSync(path.join(dir, 'preload.js'), preload);
  const run = spawnSync(process.execPath, [...(preload ? ['--require', path.join(dir, 'preload.js')] : []), path.join(dir, 'out.js')], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim().split('\n');
}

describe('the bundle at start', () => {
  it('loads node:tls and node:child_process at the first use of one of their exports, and that use gets the real one', () => {
    const lines = bundleAndRun(`
      import tls from 'node:tls';
      import { spawnSync } from 'node:child_process';
      const loaded = (m: string) => process.moduleLoadList.includes('NativeModule ' + m);
      console.log('start', loaded('tls'), loaded('child_process'));
      const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(tls)); // as ldapts' __toESM copies a module
      console.log('copied', loaded('tls'));
      console.log('used', copy.connect === process.getBuiltinModule('node:tls').connect, loaded('tls'), loaded('child_process'));
      console.log('spawned', spawnSync(process.execPath, ['-e', 'process.stdout.write("ok")'], { encoding: 'utf8' }).stdout, loaded('child_process'));
    `);
    expect(lines).toEqual(['start false false', 'copied false', 'used true true false', 'spawned ok true']);
  });

  it("copies node:fs's exports once however many files import it, and every form of import reads node's own, live", () => {
    const importer = (name: string) => `
      import fs from 'node:fs';
      import * as ns from 'node:fs';
      import { existsSync } from 'node:fs';
      export const ${name} = () => [fs.existsSync, ns.existsSync, existsSync];`;
    const lines = bundleAndRun(
      `
      const { a } = require('./a');
      const { b } = require('./b');
      const real = process.getBuiltinModule('node:fs');
      console.log('copies', (globalThis as any).copies);
      console.log('same', [...a(), ...b()].every((f) => f === real.existsSync));
      const original = real.existsSync;
      real.existsSync = () => true;
      console.log('live', a()[1] === real.existsSync && b()[2] === real.existsSync);
      real.existsSync = original;
    `,
      { 'a.ts': importer('a'), 'b.ts': importer('b') },
      // Counts the getters defined for fs.existsSync: one per copy of the module's exports.
      `const define = Object.defineProperty;
      globalThis.copies = 0;
      Object.defineProperty = (o, key, d) => (key === 'existsSync' && d.get && globalThis.copies++, define(o, key, d));`,
    );
    expect(lines).toEqual(['copies 1', 'same true', 'live true']);
  });

  it("loads proper-lockfile without graceful-fs: node's fs and process.cwd stay as they are", () => {
    const lines = bundleAndRun(`
      import fs from 'node:fs';
      const { close, closeSync } = fs;
      const cwd = process.cwd;
      const lockfile = require('proper-lockfile');
      console.log(typeof lockfile.lock, fs.close === close && fs.closeSync === closeSync, process.cwd === cwd);
    `);
    expect(lines).toEqual(['function true true']);
  });
});
