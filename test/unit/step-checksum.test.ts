/**
 * The checksum the build gives each step (packaging/generate-registry.mjs): its own file and every
 * project file it imports, directly or not, so that a change of a helper is noticed too.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/temp-dir';

const ROOT = path.resolve(__dirname, '../..');
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file, 'utf8')).digest('hex');

/** Generates the registry of `dir` and returns each step's checksum, and the files it covers, by id. */
function generate(dir: string): Map<string, { checksum: string; covers: string }> {
  execFileSync(process.execPath, [path.join(ROOT, 'packaging/generate-registry.mjs'), '--upgrades', dir, '--package-version', '1.1.0'], { cwd: ROOT, stdio: 'pipe' });
  const text = fs.readFileSync(path.join(dir, 'registry.generated.ts'), 'utf8');
  const covers = new Map([...text.matchAll(/^\/\/ {3}(\S+): (.*)$/gm)].map((m) => [m[1], m[2]]));
  return new Map([...text.matchAll(/id: "([^"]+)".*checksum: "([0-9a-f]{64})"/g)].map((m) => [m[1], { checksum: m[2], covers: covers.get(m[1]) ?? '' }]));
}

/** A copy of test/fixtures/upgrades/checksum to change freely. */
function copy(): string {
  const dir = path.join(tempDir('pkidbu-checksum-'), 'upgrades');
  fs.cpSync(path.join(ROOT, 'test/fixtures/upgrades/checksum'), dir, { recursive: true });
  return dir;
}

describe('the checksum of a step', () => {
  it('is the SHA-256 of its file when it imports no other project file (as every release computed it)', () => {
    const dir = copy();
    const sums = generate(dir);
    expect(sums.get('1.0.0/01-Plain')).toEqual({ checksum: sha256(path.join(dir, '1.0.0/01-Plain.ts')), covers: '(nothing else)' });
  });

  it('covers the files the step imports, also through another file; a type-only import does not count', () => {
    const dir = copy();
    const { checksum, covers } = generate(dir).get('1.1.0/01-AddMarker')!;
    expect(checksum).not.toBe(sha256(path.join(dir, '1.1.0/01-AddMarker.ts')));
    // Real paths, outside the repository here (the step's `import type` of src/core/step is dropped).
    expect(covers.split(', ').map((f) => path.basename(f))).toEqual(['marker-text.ts', 'marker.ts']);
  });

  it('changes when an imported file changes, directly or through another, and only for the steps importing it', () => {
    const dir = copy();
    const first = generate(dir);
    expect(generate(dir)).toEqual(first); // the same files give the same checksums

    fs.appendFileSync(path.join(dir, 'marker.ts'), '// edited\n');
    const second = generate(dir);
    expect(second.get('1.1.0/01-AddMarker')!.checksum).not.toBe(first.get('1.1.0/01-AddMarker')!.checksum);
    expect(second.get('1.0.0/01-Plain')).toEqual(first.get('1.0.0/01-Plain'));

    fs.writeFileSync(path.join(dir, 'marker-text.ts'), "export const MARKER_TEXT = 'written by a later release';\n");
    const third = generate(dir);
    expect(third.get('1.1.0/01-AddMarker')!.checksum).not.toBe(second.get('1.1.0/01-AddMarker')!.checksum);
  });

  it('depends on contents only, not on where the folder is', () => {
    const a = copy();
    const b = copy();
    expect(generate(b)).toEqual(new Map([...generate(a)].map(([id, s]) => [id, { ...s, covers: s.covers.split(a).join(b) }])));
  });

  it('of the shipped steps covers their helpers in src/ and nothing of src/core or node_modules', () => {
    const text = fs.readFileSync(path.join(ROOT, 'upgrades/registry.generated.ts'), 'utf8');
    const covers = new Map([...text.matchAll(/^\/\/ {3}(\S+): (.*)$/gm)].map((m) => [m[1], m[2].split(', ')]));
    expect(covers.get('11.6.0/01-CAIndexes')).toContain('src/pki/ca-indexes.ts');
    expect(covers.get('10.3.3/01-IssuerNameBackfill')).toEqual(expect.arrayContaining(['src/pki/ca-database.ts', 'src/x509/distinguished-name.ts']));
    expect(covers.get('10.2.0/01-AuthoritySchema')).toEqual(['(nothing else)']);
    expect([...covers.values()].flat().filter((f) => f.startsWith('src/core/') || f.includes('node_modules'))).toEqual([]);
  });
});
