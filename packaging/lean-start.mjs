// What the bundle loads at start, kept to what a run needs (#17 item 4: a no-op run is measured
// against `node -e 0`, docs/benchmarks.md "No-op run and bundle size"). Three esbuild plugins of
// packaging/build.mjs (registered in this order: the lazy ones first):
//  - builtinsImportedOnce: each node module imported by ES modules (src/, ldapts) is one small ES
//    module of the bundle: esbuild's interop otherwise copies every export of node:fs into a new
//    object (a getter each) in every file that imports it, 19 files for node:fs alone: ~6 ms of
//    CPU at every start.
//  - lazyBuiltins: node's modules that a run over LDAPI or plain LDAP never uses (node:tls,
//    node:child_process) are required when the bundle first reads one of their exports, not at
//    start. ldapts requires node:tls at its top level although the session gives it its own
//    connect (src/ldap/ldapts-session.ts); TLS, client certificates and systemd use them.
//  - nodeFsForGracefulFs: proper-lockfile's graceful-fs is node:fs itself. graceful-fs patches
//    the process's fs and process.cwd when loaded, a few ms of every start, to queue opens that fail
//    with EMFILE, which a run holding a handful of files never meets.
import { builtinModules, createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The stand-in of a node module: one getter (and setter) per export the build's node has, each
 * loading the module at first use. Code that copies a module's properties (esbuild's and ldapts'
 * own __toESM) sees every name without loading it.
 */
export function lazyModuleSource(name) {
  const keys = Object.keys(require(`node:${name}`));
  return [
    `let real;`,
    `const load = () => (real ??= require(${JSON.stringify(`node:${name}`)}));`,
    `for (const key of ${JSON.stringify(keys)}) {`,
    `  Object.defineProperty(exports, key, { enumerable: true, get: () => load()[key], set: (value) => { load()[key] = value; } });`,
    `}`,
  ].join('\n');
}

export function lazyBuiltins(names) {
  const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
  return {
    name: 'lazy-builtins',
    setup(build) {
      build.onResolve({ filter }, (args) =>
        // The stand-in's own require is of the real module.
        args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: lazyModuleSource(args.path), loader: 'js' }));
    },
  };
}

/**
 * The module standing for node:NAME: its exports are copied once (`export *`, live getters), and
 * its default is the module itself, as node's own ES module interop has it.
 */
export function importedOnceSource(specifier) {
  return `const m = require(${JSON.stringify(specifier)});\nexport default m;\nexport * from ${JSON.stringify(specifier)};\n`;
}

export function builtinsImportedOnce() {
  const names = builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/[/]/g, '\\/'));
  const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
  return {
    name: 'builtins-imported-once',
    setup(build) {
      build.onResolve({ filter }, (args) => {
        // Its own imports are of the real module; require() calls (CommonJS modules) need no interop.
        if (args.namespace === 'builtin-once') return { path: args.path, external: true };
        if (args.kind !== 'import-statement') return undefined;
        return { path: args.path.replace(/^(node:)?/, 'node:'), namespace: 'builtin-once' };
      });
      build.onLoad({ filter: /.*/, namespace: 'builtin-once' }, (args) => ({ contents: importedOnceSource(args.path), loader: 'js' }));
    },
  };
}

export const nodeFsForGracefulFs = {
  name: 'node-fs-for-graceful-fs',
  setup(build) {
    build.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: 'node:fs', external: true }));
  },
};
