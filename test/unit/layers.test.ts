/**
 * The layout of src/ as a rule: each folder is one layer, and a file imports only from its own
 * folder or from a lower layer. The layers follow the flow of a run (configuration → auth → lock →
 * plan → apply → record → converge → report), above the pure core and the adapters; `app` is the
 * composition root on top. A folder missing from this list fails the test: place it first.
 */
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(__dirname, '../../src');

/** Bottom to top; folders on one line are siblings and may not import each other. */
const LAYERS: string[][] = [
  ['core'],
  ['files', 'process', 'x509', 'ldap'],
  ['pki'],
  ['config'],
  ['logging'],
  ['auth'],
  ['lock'],
  ['plan'],
  ['apply'],
  ['record'],
  ['converge'],
  ['report'],
  ['app'],
];

interface Import {
  file: string;
  specifier: string;
  /** Folder under src/ the import resolves to, or undefined when it leaves src/. */
  folder?: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string, text = fs.readFileSync(file, 'utf8')): Import[] {
  const found: Import[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const specifier = m[1] ?? m[2] ?? m[3];
    if (!specifier.startsWith('.')) {
      found.push({ file, specifier });
      continue;
    }
    const rel = path.relative(SRC, path.resolve(path.dirname(file), specifier));
    found.push({ file, specifier, folder: rel.startsWith('..') ? undefined : rel.split(path.sep)[0] });
  }
  return found;
}

const rank = new Map(LAYERS.flatMap((line, i) => line.map((folder) => [folder, i] as const)));
const folderOf = (file: string) => path.relative(SRC, file).split(path.sep)[0];
const files = sourceFiles(SRC);

/** The imports of `file` that go up or sideways (to a sibling), as messages. */
function upwardImports(file: string, text?: string): string[] {
  const own = folderOf(file);
  return importsOf(file, text)
    .filter((imp) => imp.folder !== undefined && imp.folder !== own)
    .filter((imp) => !((rank.get(imp.folder!) ?? Infinity) < (rank.get(own) ?? -1)))
    .map((imp) => `${path.relative(SRC, file)} imports ${imp.specifier} (${imp.folder})`);
}

describe('the layers of src/', () => {
  it('every folder of src/ has its place in the list of layers', () => {
    const folders = new Set(files.map(folderOf));
    expect([...folders].filter((f) => !rank.has(f)).sort()).toEqual([]);
    expect(files.filter((f) => path.dirname(f) === SRC)).toEqual([]);
  });

  it('a file imports only from its own folder or from a layer below it', () => {
    expect(files.flatMap((file) => upwardImports(file))).toEqual([]);
  });

  it('only the composition root reaches outside src/ (the generated registry of upgrades/)', () => {
    const outside = files.flatMap((file) =>
      importsOf(file)
        .filter((imp) => imp.specifier.startsWith('.') && imp.folder === undefined && folderOf(file) !== 'app')
        .map((imp) => `${path.relative(SRC, file)} imports ${imp.specifier}`),
    );
    expect(outside).toEqual([]);
  });

  it('core knows no IO: it imports nothing but core itself', () => {
    const io = files
      .filter((f) => folderOf(f) === 'core')
      .flatMap((file) => importsOf(file).filter((imp) => imp.folder !== 'core').map((imp) => `${path.relative(SRC, file)} imports ${imp.specifier}`));
    expect(io).toEqual([]);
  });

  it('the rule finds an upward import, a sideways one, and re-exports and requires alike', () => {
    const text = "import { x } from '../app/main';\nexport { y } from '../ldap/filter';\nconst z = require('../report/run-report');\nimport type { Step } from '../core/step';\n";
    expect(upwardImports(path.join(SRC, 'apply', 'probe.ts'), text)).toEqual([
      'apply/probe.ts imports ../app/main (app)',
      'apply/probe.ts imports ../report/run-report (report)',
    ]);
    expect(upwardImports(path.join(SRC, 'x509', 'probe.ts'), text)).toEqual([
      'x509/probe.ts imports ../app/main (app)',
      'x509/probe.ts imports ../ldap/filter (ldap)',
      'x509/probe.ts imports ../report/run-report (report)',
    ]);
  });
});
