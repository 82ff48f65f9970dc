// What the bundle contains from node_modules, from esbuild's metafile, so that the package's
// Provides: bundled(npm(NAME)) = VERSION, its License: and the license texts it ships can never
// drift from what was really bundled (packaging/build.mjs --bundled DIR writes them).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The node_modules package folder of a metafile input path, or undefined for the project's own files. */
export function packageDirOf(input) {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const name = parts[at + 1]?.startsWith('@') ? parts.slice(at + 1, at + 3) : parts.slice(at + 1, at + 2);
  return [...parts.slice(0, at + 1), ...name].join('/');
}

/** Every bundled package, once: name, version, license (package.json), its license files. */
export function bundledModules(metafile, root) {
  const dirs = new Set();
  for (const [input, info] of Object.entries(metafile.inputs)) {
    // Only inputs that contributed bytes to the output.
    if (info.bytes === 0) continue;
    const dir = packageDirOf(input);
    if (dir) dirs.add(dir);
  }
  const modules = [...dirs].map((dir) => {
    const pkg = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const license = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type ?? (pkg.licenses ?? []).map((l) => l.type).join(' OR ');
    const licenseFiles = readdirSync(path.join(root, dir)).filter((f) => /^(licen[cs]e|copying|notice)(\.|$|-)/i.test(f)).sort();
    return { name: pkg.name, version: pkg.version, license: license || 'UNKNOWN', dir, licenseFiles };
  });
  return modules.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

/** The project's license and those of the bundled modules, as one SPDX expression (AND of the distinct ones). */
export function licenseExpression(own, modules) {
  const seen = [own];
  for (const m of modules) if (!seen.includes(m.license)) seen.push(m.license);
  return seen.map((l) => (/ (OR|AND) /.test(l) ? `(${l})` : l)).join(' AND ');
}

/**
 * Writes into `dir` the rpm macros (bundled.macros: %bundled_provides, %bundled_licenses) and
 * licenses/<name>/<file> for each module's license texts.
 */
export function writeBundled(dir, modules, own, root) {
  mkdirSync(path.join(dir, 'licenses'), { recursive: true });
  for (const m of modules) {
    const into = path.join(dir, 'licenses', m.name.replace('/', '+'));
    mkdirSync(into, { recursive: true });
    for (const f of m.licenseFiles) copyFileSync(path.join(root, m.dir, f), path.join(into, f));
    // A module whose package ships no license file: its package.json's license field, said so.
    if (m.licenseFiles.length === 0) writeFileSync(path.join(into, 'LICENSE-FIELD'), `${m.name} ${m.version} ships no license file; its package.json says: license ${m.license}\n`);
  }
  const provides = modules.map((m) => `Provides: bundled(npm(${m.name})) = ${m.version}`).join('\\\n');
  writeFileSync(path.join(dir, 'bundled.macros'), `%bundled_provides ${provides}\n%bundled_licenses ${licenseExpression(own, modules)}\n`);
}
