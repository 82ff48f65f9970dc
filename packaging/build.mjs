#!/usr/bin/env node
// Bundles the tool into ONE CommonJS file that runs with no node_modules.
// usage: node packaging/build.mjs [--upgrades DIR] [--package-version V] [--out FILE] [--bundled DIR]
//                                 [--spec FILE] [--expect-license L --expect-provides P]
// (--upgrades builds a bundle around another set of steps: the tests use it for failure cases.
// What the bundle holds from node_modules (bundled-modules.mjs): --bundled writes their license
// texts; --spec writes the License and Provides lines of an RPM spec (make docs); the spec's
// %build passes what it declares with --expect-*, and the build fails when the bundle differs.)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { withCodeCache } from './code-cache.mjs';
import { bundledModules, declaredDrift, fillSpecBlock, specBlock, writeBundled } from './bundled-modules.mjs';
import { generateRegistry } from './generate-registry.mjs';
import { leanStart } from './lean-start.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({
  options: {
    upgrades: { type: 'string' },
    'package-version': { type: 'string' },
    out: { type: 'string' },
    bundled: { type: 'string' },
    spec: { type: 'string' },
    'expect-license': { type: 'string' },
    'expect-provides': { type: 'string' },
  },
});
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const upgrades = path.resolve(values.upgrades ?? path.join(root, 'upgrades'));
const { out: registry } = generateRegistry(upgrades, values['package-version'] ?? pkg.version);
const outfile = path.resolve(values.out ?? path.join(root, 'dist/pki-db-upgrade.js'));

const result = await build({
  entryPoints: [path.join(root, 'src/app/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs', // esm crashes at run time on the libraries' dynamic require
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  outfile,
  // Written below, inside the loader that compiles it with root's code cache (code-cache.mjs).
  write: false,
  logLevel: 'warning',
  metafile: true,
  plugins: [
    {
      name: 'registry',
      setup(b) {
        // The CLI imports upgrades/registry.generated; point it at the chosen upgrades folder.
        b.onResolve({ filter: /registry\.generated$/ }, () => ({ path: registry }));
      },
    },
    // Less done at start (lean-start.mjs): TLS, child processes, crypto and assert loaded at first
    // use, node's modules' exports copied once, no graceful-fs.
    ...leanStart(),
  ],
});
mkdirSync(path.dirname(outfile), { recursive: true });
writeFileSync(outfile, withCodeCache(result.outputFiles[0].text));
const modules = bundledModules(result.metafile, root);
if (values['expect-license'] !== undefined || values['expect-provides'] !== undefined) {
  const drift = declaredDrift(modules, pkg.license, { license: values['expect-license'] ?? '', provides: values['expect-provides'] ?? '' });
  if (drift.length > 0) {
    console.error(`build.mjs: the spec does not declare what the bundle holds from node_modules (run make docs):\n${drift.map((d) => `  ${d}\n`).join('')}`);
    process.exit(1);
  }
}
if (values.bundled) writeBundled(path.resolve(values.bundled), modules, root);
if (values.spec) {
  const file = path.resolve(values.spec);
  writeFileSync(file, fillSpecBlock(readFileSync(file, 'utf8'), values.spec, specBlock(modules, pkg.license)));
}
console.log(`${path.relative(process.cwd(), outfile)} built from ${path.relative(process.cwd(), upgrades) || '.'}`);
