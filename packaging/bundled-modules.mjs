// What the bundle contains from node_modules, from esbuild's metafile, so that the package's
// Provides: bundled(npm(NAME)) = VERSION, its License: and the license texts it ships can never
// drift from what was really bundled. The first two are written into the spec between its
// `# bundled-modules:begin` and `# bundled-modules:end` lines (packaging/build.mjs --spec FILE,
// run by make docs); the spec's %build bundles the tool from source and stops when what it
// bundled differs from them (--expect-license, --expect-provides); the license texts are written
// at build time (--bundled DIR).
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

/** Writes into `dir`/<name>/<file> each bundled module's license texts (a scope's "/" as "+"). */
export function writeBundled(dir, modules, root) {
  mkdirSync(dir, { recursive: true });
  for (const m of modules) {
    const into = path.join(dir, m.name.replace('/', '+'));
    mkdirSync(into, { recursive: true });
    for (const f of m.licenseFiles) copyFileSync(path.join(root, m.dir, f), path.join(into, f));
    // A module whose package ships no license file: its package.json's license field, said so.
    if (m.licenseFiles.length === 0) writeFileSync(path.join(into, 'LICENSE-FIELD'), `${m.name} ${m.version} ships no license file; its package.json says: license ${m.license}\n`);
  }
}

/** The Provides of the bundled modules, one `bundled(npm(NAME)) = VERSION` each. */
export function bundledProvides(modules) {
  return modules.map((m) => `bundled(npm(${m.name})) = ${m.version}`);
}

const BEGIN = '# bundled-modules:begin';
const END = '# bundled-modules:end';

/** The spec's lines between the markers: the License expression and the Provides, as macros. */
export function specBlock(modules, own) {
  return [
    `%global bundled_license ${licenseExpression(own, modules)}`,
    '%global bundled_provides %{expand:\\',
    ...bundledProvides(modules).map((p) => `Provides:       ${p}\\`),
    '}',
  ].join('\n');
}

/** `spec` with its block replaced by `block`; throws when a marker is missing. */
export function fillSpecBlock(spec, file, block) {
  const re = new RegExp(`(^${BEGIN}[^\\n]*\\n)[\\s\\S]*?(^${END}$)`, 'm');
  if (!re.test(spec)) throw new Error(`${file}: no ${BEGIN} ... ${END} lines`);
  return spec.replace(re, (_, start, end) => `${start}${block}\n${end}`);
}

/**
 * What differs between the modules really bundled and what the spec declares (its License, and
 * its %{bundled_provides} as rpm expands it): one line each, none when they agree.
 */
export function declaredDrift(modules, own, declared) {
  const drift = [];
  const license = licenseExpression(own, modules);
  if (declared.license.trim() !== license) drift.push(`License: the spec says "${declared.license.trim()}", the bundle's modules make "${license}"`);
  const said = new Set(declared.provides.split('\n').map((l) => l.replace(/^\s*Provides:\s*/, '').trim()).filter(Boolean));
  const real = new Set(bundledProvides(modules));
  for (const p of real) if (!said.has(p)) drift.push(`bundled but not declared: ${p}`);
  for (const p of said) if (!real.has(p)) drift.push(`declared but not bundled: ${p}`);
  return drift;
}
