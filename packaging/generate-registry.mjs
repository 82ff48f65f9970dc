#!/usr/bin/env node
// Turns an upgrades folder (<version>/<NN>-<Name>.ts) into registry.generated.ts beside it: the
// bundle then holds every step, with no file scanning at run time.
//
// Each step gets a checksum of what it does, so that a step changed after it was applied is
// noticed (the planner warns). What it does is its own file and every project file it imports,
// directly or through other files, exactly as esbuild resolves them when it bundles the step
// (its metafile), so that editing e.g. src/pki/ca-indexes.ts changes the checksum of
// 11.6.0/01-CAIndexes. Left out:
//   - node_modules: the libraries, pinned by package-lock.json, are not the step's content;
//   - src/core/: the framework. Every step imports src/core/step.ts (defineStep), so counting core
//     would change the checksum of every step at any framework edit (a comment, a new optional
//     field) and make every database warn about every step: a warning nobody can act on, which
//     would teach administrators to ignore the real ones. Core holds no directory content (it does
//     no IO: test/unit/layers.test.ts), and what a step gets from the framework at run time (ctx:
//     schema, indexes, bulk) is injected, never imported. Core imports nothing outside core, so
//     nothing else is reached only through it;
//   - type-only imports, which esbuild drops: they do not change what runs.
// The checksum is then
//   - SHA-256 of the step's file alone when it imports no other project file: the checksum every
//     earlier release recorded, so those records stay valid as they are;
//   - otherwise SHA-256 of the text "pki-db-upgrade step checksum 2\n", the SHA-256 of the step's
//     file and a line each with the SHA-256 of every imported file, sorted: only contents count,
//     so the checksum does not depend on where the tree is checked out (or linked from).
// Files are read with CRLF as LF. A step whose released form was recorded with another checksum
// declares it in formerChecksums (src/core/step.ts): see docs/writing-steps.md.
//
// usage: node packaging/generate-registry.mjs [--upgrades DIR] [--package-version V]
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildSync } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const core = path.join(realpathSync(root), 'src', 'core') + path.sep;

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const source = (file) => readFileSync(file, 'utf8').replace(/\r\n/g, '\n');

/** The project files `file` imports, directly or not, as esbuild resolves them (real paths, sorted). */
export function importedFiles(file) {
  const { metafile } = buildSync({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outfile: path.join(root, 'dist', 'checksum-probe.js'),
    absWorkingDir: root,
    logLevel: 'silent',
  });
  const self = realpathSync(file);
  return [...new Set(Object.keys(metafile.inputs).map((input) => realpathSync(path.resolve(root, input))))]
    .filter((f) => f !== self && !f.startsWith(core) && !f.split(path.sep).includes('node_modules'))
    .sort();
}

/** The checksum of the step in `file` and the files it covers besides the step's own (see above). */
export function stepChecksum(file) {
  const own = sha256(source(file));
  const imports = importedFiles(file);
  if (imports.length === 0) return { checksum: own, imports };
  const lines = ['pki-db-upgrade step checksum 2', own, ...imports.map((f) => sha256(source(f))).sort()];
  return { checksum: sha256(lines.join('\n') + '\n'), imports };
}

export function generateRegistry(upgradesDir, packageVersion) {
  const dir = path.resolve(upgradesDir);
  const steps = [];
  // In release order (11.10.1 after 11.6.0), as the engine runs them.
  for (const version of readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
    const versionDir = path.join(dir, version);
    if (!statSync(versionDir).isDirectory()) continue;
    if (!/^\d+(\.\d+){0,3}$/.test(version)) throw new Error(`${versionDir}: folder name must be a version like 11.6.0`);
    for (const file of readdirSync(versionDir).sort()) {
      if (!file.endsWith('.ts')) continue;
      const m = /^(\d{2})-([A-Za-z][A-Za-z0-9]*)\.ts$/.exec(file);
      if (!m) throw new Error(`${path.join(versionDir, file)}: name must be NN-Name.ts (e.g. 01-AddIssuerNameIndex.ts)`);
      const { checksum, imports } = stepChecksum(path.join(versionDir, file));
      steps.push({
        id: `${version}/${m[1]}-${m[2]}`,
        version,
        index: Number(m[1]),
        name: m[2],
        module: `./${version}/${m[1]}-${m[2]}`,
        checksum,
        covers: imports.map(shown),
      });
    }
  }
  const stepModule = path.relative(dir, path.join(root, 'src/core/step')).split(path.sep).join('/');
  const lines = [
    '// Generated by packaging/generate-registry.mjs: do not edit, do not commit.',
    `import type { RegisteredStep } from '${stepModule.startsWith('.') ? stepModule : `./${stepModule}`}';`,
    ...steps.map((s, i) => `import step${i} from '${s.module}';`),
    '',
    '// Besides its own file, each checksum covers:',
    ...steps.map((s) => `//   ${s.id}: ${s.covers.join(', ') || '(nothing else)'}`),
    '',
    `export const packageVersion = ${JSON.stringify(packageVersion)};`,
    '',
    'export const steps: RegisteredStep[] = [',
    ...steps.map(
      (s, i) =>
        `  { ...step${i}, id: ${JSON.stringify(s.id)}, version: ${JSON.stringify(s.version)}, index: ${s.index}, name: ${JSON.stringify(s.name)}, checksum: ${JSON.stringify(s.checksum)} },`,
    ),
    '];',
    '',
  ];
  const out = path.join(dir, 'registry.generated.ts');
  writeFileSync(out, lines.join('\n'));
  return { out, count: steps.length, steps: steps.map(({ id, checksum, covers }) => ({ id, checksum, covers })) };
}

/** A path for people: relative to the repository when inside it. */
function shown(file) {
  const rel = path.relative(realpathSync(root), file);
  return (rel.startsWith('..') ? file : rel).split(path.sep).join('/');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { values } = parseArgs({ options: { upgrades: { type: 'string' }, 'package-version': { type: 'string' } } });
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const { out, count } = generateRegistry(values.upgrades ?? path.join(root, 'upgrades'), values['package-version'] ?? pkg.version);
  console.log(`${path.relative(process.cwd(), out)}: ${count} steps`);
}
