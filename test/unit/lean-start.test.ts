/** What a bundle loads at start (packaging/lean-start.mjs, the esbuild plugins of packaging/build.mjs). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Bundles `entry` (TypeScript, beside the `others` files, which may be in folders) as
 * packaging/build.mjs does, with the lean-start plugins, runs it (after `preload`, when given), and returns its stdout lines.
 */
function bundleAndRun(entry: string, others: Record<string, string> = {}, preload?: string): string[] {
  const dir = tempDir('pkidbu-lean-');
  fs.writeFileSync(path.join(dir, 'entry.ts'), entry);
  for (const [name, text] of Object.entries(others)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const build = `
    import { build } from ${JSON.stringify(path.join(ROOT, 'node_modules/esbuild/lib/main.js'))};
    import { leanStart } from ${JSON.stringify(path.join(ROOT, 'packaging/lean-start.mjs'))};
    await build({ entryPoints: [${JSON.stringify(path.join(dir, 'entry.ts'))}], outfile: ${JSON.stringify(path.join(dir, 'out.js'))},
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'warning', nodePaths: [${JSON.stringify(path.join(ROOT, 'node_modules'))}],
      plugins: leanStart() });`;
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

  it('loads node:crypto and node:assert at first use; an assertion that holds loads nothing, one that fails throws node\'s error', () => {
    const lines = bundleAndRun(`
      import assert from 'node:assert';
      import * as namespace from 'node:assert';
      import { createHash } from 'node:crypto';
      const loaded = (m: string) => process.moduleLoadList.includes('NativeModule ' + m);
      console.log('start', loaded('crypto'), loaded('assert'));
      assert.ok(1);
      namespace.equal(1, '1');
      console.log('held', loaded('assert'));
      try {
        assert.equal(1, 2, 'one is not two');
      } catch (err) {
        console.log('failed', err instanceof process.getBuiltinModule('node:assert').AssertionError, (err as Error).message, loaded('assert'));
      }
      assert(true); // node:assert is a function itself
      try {
        assert.ok();
      } catch (err) {
        console.log('no argument', (err as Error).message);
      }
      console.log('hash', createHash('sha256').update('a').digest('hex').slice(0, 8), loaded('crypto'));
    `);
    expect(lines).toEqual([
      'start false false',
      'held false',
      'failed true one is not two true',
      'no argument No value argument passed to `assert.ok()`',
      'hash ca978112 true',
    ]);
  });

  it("gives ldapts a randomUUID of its own for its socket ids, unique, without loading node:crypto; the rest of node:crypto is node's", () => {
    // Resolved as ldapts' own import: the plugin goes by the importing file's folder.
    const lines = bundleAndRun(`import { ids, hash } from './node_modules/ldapts/ids';\nconsole.log(ids().join(' '));\nconsole.log(hash(), process.moduleLoadList.includes('NativeModule crypto'));`, {
      'node_modules/ldapts/ids.ts': `
        import * as crypto from 'node:crypto';
        export const ids = () => [crypto.randomUUID(), crypto.randomUUID(), process.moduleLoadList.includes('NativeModule crypto')];
        export const hash = () => crypto.createHash('sha256').update('a').digest('hex').slice(0, 8);`,
    });
    expect(lines).toEqual(['00000000-0000-4000-8000-000000000001 00000000-0000-4000-8000-000000000002 false', 'ca978112 true']);
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
