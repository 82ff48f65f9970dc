#!/usr/bin/env node
// The npm packages the RPM build needs, as package-lock.json locks them: the tool's dependencies
// (bundled into it) and the build's own tool, esbuild, with everything they depend on. The
// source RPM carries them as a second source (node_modules of these packages only, as `npm ci`
// installed them), because a distribution's builder has no network: rpmbuild then runs no npm
// at all (docs/rpm.md, "Building offline").
//
// usage: node packaging/vendor-modules.mjs --list     the folders to put in that tarball, one a line
//                                                     (nested ones come with the folder holding them)
//        node packaging/vendor-modules.mjs --check    exit 1 unless node_modules holds each of them at
//                                                     its locked version (the spec's %build runs it)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** What the build runs from node_modules besides the dependencies: packaging/build.mjs bundles with esbuild. */
export const BUILD_TOOLS = ['esbuild'];

/**
 * The lockfile's folder (a `packages` key) that `name` resolves to from the package at `from`, as
 * node resolves it: the nearest node_modules/NAME up from `from`.
 */
export function resolveIn(packages, from, name) {
  for (let dir = from; ; ) {
    const key = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (key in packages) return key;
    if (!dir) return undefined;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at < 0 ? '' : dir.slice(0, at);
  }
}

/**
 * The lockfile folders the build needs, sorted: from the root's dependencies and `tools`, every
 * dependency (optional ones only when `present` says they were installed: esbuild's binary for
 * this platform among its optional packages).
 */
export function neededPackages(lock, tools = BUILD_TOOLS, present = () => true) {
  const packages = lock.packages;
  const needed = new Set();
  const visit = (from, name, optional) => {
    const key = resolveIn(packages, from, name);
    if (!key) {
      if (optional) return;
      throw new Error(`package-lock.json has no ${name} for ${from || 'the project'}`);
    }
    if (needed.has(key) || (optional && !present(key))) return;
    needed.add(key);
    const entry = packages[key];
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(key, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(key, dep, true);
  };
  const root = packages[''];
  for (const dep of [...Object.keys(root.dependencies ?? {}), ...tools]) visit('', dep, false);
  return [...needed].sort();
}

/** Each needed folder that is missing from `root` or holds another version than the lockfile's. */
export function vendoringProblems(root, lock, needed) {
  const problems = [];
  for (const key of needed) {
    const file = path.join(root, key, 'package.json');
    if (!existsSync(file)) {
      problems.push(`${key} is missing`);
      continue;
    }
    const { version } = JSON.parse(readFileSync(file, 'utf8'));
    if (version !== lock.packages[key].version) problems.push(`${key} is ${version}, package-lock.json locks ${lock.packages[key].version}`);
  }
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { values } = parseArgs({ options: { list: { type: 'boolean' }, check: { type: 'boolean' }, root: { type: 'string' } } });
  const root = path.resolve(values.root ?? '.');
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const present = (key) => existsSync(path.join(root, key, 'package.json'));
  const needed = neededPackages(lock, BUILD_TOOLS, present);
  if (values.list) {
    // A folder inside another listed one comes with it (tar would store it twice).
    const top = needed.filter((k) => !needed.some((other) => k.startsWith(`${other}/`)));
    process.stdout.write(top.map((k) => `${k}\n`).join(''));
  } else if (values.check) {
    const problems = vendoringProblems(root, lock, needed);
    if (problems.length > 0) {
      process.stderr.write(`vendor-modules: node_modules is not what package-lock.json locks:\n${problems.map((p) => `  ${p}\n`).join('')}`);
      process.exit(1);
    }
    process.stdout.write(`vendor-modules: node_modules holds the ${needed.length} locked packages the build needs\n`);
  } else {
    process.stderr.write('usage: node packaging/vendor-modules.mjs --list | --check [--root DIR]\n');
    process.exit(2);
  }
}
