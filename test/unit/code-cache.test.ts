/**
 * The bundle's loader (packaging/code-cache.mjs): the tool's code compiled with V8's code cache
 * when root keeps one in a folder only root can write, named by the code, written once, and left
 * alone otherwise. Runs as root (as the tests do: the loader only caches for root).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '../..');

/** A bundle of `code` inside the loader, as packaging/build.mjs writes dist/pki-db-upgrade.js. */
function loaderAround(code: string): string {
  const file = path.join(tempDir('pkidbu-cc-'), 'tool.js');
  const made = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { writeFileSync } from 'node:fs';
    import { withCodeCache } from ${JSON.stringify(path.join(ROOT, 'packaging/code-cache.mjs'))};
    writeFileSync(${JSON.stringify(file)}, withCodeCache(${JSON.stringify(code)}));`], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(made.stderr);
  return file;
}

function run(file: string, cacheDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', env: { ...process.env, PKI_DB_UPGRADE_CODE_CACHE: cacheDir } });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

const caches = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.v8cache')).sort();

// The code sees what a CommonJS file sees: its module is the main one, its require and its
// arguments. It asks for the cache (as the tool does when it found nothing to do) unless told it
// did something.
const CODE =
  "console.log(require.main === module, typeof exports, path(), process.argv.slice(2).join(' ')); function path() { return require('node:path').basename(__filename); }" +
  " if (!process.argv.includes('did-something')) process[Symbol.for('pki-db-upgrade.write-code-cache')] = true;";

const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('the bundle with a code cache', () => {
  it('runs the code as a CommonJS main file, and writes one cache for it in a folder root alone may write', () => {
    const file = loaderAround(CODE);
    const dir = tempDir('pkidbu-cache-');
    fs.chmodSync(dir, 0o700);
    expect(run(file, dir, 'a', 'b')).toEqual({ code: 0, stdout: 'true object tool.js a b', stderr: '' });
    const [cache] = caches(dir);
    // Named by the code's SHA-256 (taken when the bundle is built) and node's version.
    expect(cache).toBe(`${createHash('sha256').update(CODE).digest('hex')}-node${process.versions.node}.v8cache`);
    expect(fs.statSync(path.join(dir, cache)).mode & 0o777).toBe(0o600);
    const written = fs.statSync(path.join(dir, cache)).mtimeMs;

    // Taken, not written again.
    expect(run(file, dir, 'c').stdout).toBe('true object tool.js c');
    expect(caches(dir)).toEqual([cache]);
    expect(fs.statSync(path.join(dir, cache)).mtimeMs).toBe(written);
  });

  it('writes none at the end of a run that does not ask for it (one that did something): the next run that asks writes it', () => {
    const file = loaderAround(CODE);
    const dir = tempDir('pkidbu-cache-');
    fs.chmodSync(dir, 0o700);
    expect(run(file, dir, 'did-something')).toEqual({ code: 0, stdout: 'true object tool.js did-something', stderr: '' });
    expect(caches(dir)).toEqual([]);
    run(file, dir);
    expect(caches(dir)).toHaveLength(1);
  });

  it('writes again a cache V8 rejects, and removes the caches of other code', () => {
    const dir = tempDir('pkidbu-cache-');
    fs.chmodSync(dir, 0o700);
    const older = loaderAround("console.log('older'); process[Symbol.for('pki-db-upgrade.write-code-cache')] = true;");
    expect(run(older, dir).stdout).toBe('older');
    const [olderCache] = caches(dir);

    const file = loaderAround(CODE);
    run(file, dir);
    const [cache] = caches(dir).filter((c) => c !== olderCache);
    expect(caches(dir)).toEqual([cache]);
    fs.writeFileSync(path.join(dir, cache), 'not a code cache');
    expect(run(file, dir, 'x')).toMatchObject({ code: 0, stdout: 'true object tool.js x' });
    expect(fs.readFileSync(path.join(dir, cache)).toString()).not.toBe('not a code cache');
  });

  it('reads and writes nothing in a folder another user could write, or that is missing', () => {
    const file = loaderAround(CODE);
    const open = tempDir('pkidbu-cache-');
    fs.chmodSync(open, 0o770);
    expect(run(file, open).stdout).toBe('true object tool.js');
    expect(caches(open)).toEqual([]);
    expect(run(file, path.join(open, 'missing')).code).toBe(0);
    expect(fs.existsSync(path.join(open, 'missing'))).toBe(false);
  });
});
