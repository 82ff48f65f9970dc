/** What a bundle loads at start (packaging/lean-start.mjs, the esbuild plugins of packaging/build.mjs). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '../..');

/** Bundles `entry` (TypeScript) as packaging/build.mjs does, with the lean-start plugins, runs it, and returns its stdout lines. */
function bundleAndRun(entry: string): string[] {
  const dir = tempDir('pkidbu-lean-');
  fs.writeFileSync(path.join(dir, 'entry.ts'), entry);
  const build = `
    import { build } from ${JSON.stringify(path.join(ROOT, 'node_modules/esbuild/lib/main.js'))};
    import { lazyBuiltins, nodeFsForGracefulFs } from ${JSON.stringify(path.join(ROOT, 'packaging/lean-start.mjs'))};
    await build({ entryPoints: [${JSON.stringify(path.join(dir, 'entry.ts'))}], outfile: ${JSON.stringify(path.join(dir, 'out.js'))},
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'warning', nodePaths: [${JSON.stringify(path.join(ROOT, 'node_modules'))}],
      plugins: [lazyBuiltins(['tls', 'child_process']), nodeFsForGracefulFs] });`;
  const built = spawnSync(process.execPath, ['--input-type=module', '-e', build], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  const run = spawnSync(process.execPath, [path.join(dir, 'out.js')], { encoding: 'utf8' });
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
