#!/usr/bin/env node
// Bundles the tool into ONE CommonJS file that runs with no node_modules.
// usage: node packaging/build.mjs [--upgrades DIR] [--package-version V] [--out FILE] [--bundled DIR]
// (--upgrades builds a bundle around another set of steps: the tests use it for failure cases;
// --bundled writes what the bundle holds from node_modules, with their licenses: bundled-modules.mjs.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { bundledModules, writeBundled } from './bundled-modules.mjs';
import { generateRegistry } from './generate-registry.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({
  options: { upgrades: { type: 'string' }, 'package-version': { type: 'string' }, out: { type: 'string' }, bundled: { type: 'string' } },
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
  banner: { js: '#!/usr/bin/env node' },
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
  ],
});
if (values.bundled) writeBundled(path.resolve(values.bundled), bundledModules(result.metafile, root), pkg.license, root);
console.log(`${path.relative(process.cwd(), outfile)} built from ${path.relative(process.cwd(), upgrades) || '.'}`);
