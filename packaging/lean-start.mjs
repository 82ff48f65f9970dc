// What the bundle loads at start, kept to what a run needs (#17 item 4: a no-op run is measured
// against `node -e 0`, docs/benchmarks.md "No-op run and bundle size"). Four esbuild plugins of
// packaging/build.mjs (leanStart(), the lazy ones registered first):
//  - socketIdsWithoutCrypto: ldapts names each socket it opens with node:crypto's randomUUID,
//    only to tell its own sockets apart (it compares the ids of the socket a message went out on
//    and of the one that closed); loading node:crypto for that is ~4 ms of every run. ldapts gets
//    a node:crypto whose randomUUID is a UUID unique in the process, and the rest loaded at first
//    use, as lazyBuiltins does.
//  - builtinsImportedOnce: each node module imported by ES modules (src/, ldapts) is one small ES
//    module of the bundle: esbuild's interop otherwise copies every export of node:fs into a new
//    object (a getter each) in every file that imports it, 19 files for node:fs alone: ~6 ms of
//    CPU at every start.
//  - lazyBuiltins: node's modules that a run over LDAPI or plain LDAP never uses (node:tls,
//    node:child_process, node:crypto, node:assert) are required when the bundle first reads one of
//    their exports, not at start. ldapts requires node:tls at its top level although the session
//    gives it its own connect (src/ldap/ldapts-session.ts); TLS, client certificates and systemd
//    use them, node:crypto a run with work to do (checksums, certificates, the cluster claim),
//    node:assert only an assertion that fails: those that hold (signal-exit's, when
//    proper-lockfile loads) are answered without it.
//  - nodeFsForGracefulFs: proper-lockfile's graceful-fs is node:fs itself. graceful-fs patches
//    the process's fs and process.cwd when loaded, a few ms of every start, to queue opens that fail
//    with EMFILE, which a run holding a handful of files never meets.
import { builtinModules, createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The stand-in of a node module: one getter (and setter) per export the build's node has, each
 * loading the module at first use. Code that copies a module's properties (esbuild's and ldapts'
 * own __toESM) sees every name without loading it. `own` gives some exports a value of the
 * stand-in's own (JavaScript source, which may call `load()`).
 */
export function lazyModuleSource(name, own = {}) {
  const builtin = require(`node:${name}`);
  const keys = Object.keys(builtin).filter((key) => !(key in own));
  return [
    `let real;`,
    `const load = () => (real ??= require(${JSON.stringify(`node:${name}`)}));`,
    // node:assert is itself a function (assert(value)): so is its stand-in.
    typeof builtin === 'function' ? `module.exports = function (...args) { return load().apply(this, args); };` : '',
    `for (const key of ${JSON.stringify(keys)}) {`,
    `  Object.defineProperty(module.exports, key, { enumerable: true, get: () => load()[key], set: (value) => { load()[key] = value; } });`,
    `}`,
    ...Object.entries(own).map(([key, value]) => `Object.defineProperty(module.exports, ${JSON.stringify(key)}, { enumerable: true, writable: true, value: ${value} });`),
  ].join('\n');
}

/**
 * The exports a lazy module answers without loading the real one, where it can. node:assert: an
 * assertion that holds returns, one that fails (or lacks an argument) is node's own, which throws
 * its error; signal-exit (proper-lockfile's, at load) and ldapts call only these two.
 */
const ANSWERED_WITHOUT_LOADING = {
  assert: {
    ok: `(...args) => { if (args.length === 0 || !args[0]) load().ok(...args); }`,
    equal: `(...args) => { if (args.length < 2 || args[0] != args[1]) load().equal(...args); }`,
  },
};

/** ldapts' node:crypto (see the top of this file): randomUUID without node:crypto, the rest lazy. */
export function socketIdsWithoutCrypto() {
  return {
    name: 'socket-ids-without-crypto',
    setup(build) {
      build.onResolve({ filter: /^(node:)?crypto$/ }, (args) => {
        // The stand-in's own require is of the real module.
        if (args.namespace === 'ldapts-crypto') return { path: args.path, external: true };
        return /[\\/]node_modules[\\/]ldapts[\\/]/.test(args.importer) ? { path: 'crypto', namespace: 'ldapts-crypto' } : undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'ldapts-crypto' }, () => ({
        // Version-4 layout, so that anything reading it as a UUID still can; unique, not random.
        contents: lazyModuleSource('crypto', {
          randomUUID: `(() => { let issued = 0; return () => '00000000-0000-4000-8000-' + (++issued).toString(16).padStart(12, '0'); })()`,
        }),
        loader: 'js',
      }));
    },
  };
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
      build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: lazyModuleSource(args.path, ANSWERED_WITHOUT_LOADING[args.path]), loader: 'js' }));
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

/** The plugins of packaging/build.mjs, in their order (see the top of this file). */
export function leanStart() {
  return [socketIdsWithoutCrypto(), lazyBuiltins(['tls', 'child_process', 'crypto', 'assert']), builtinsImportedOnce(), nodeFsForGracefulFs];
}

export const nodeFsForGracefulFs = {
  name: 'node-fs-for-graceful-fs',
  setup(build) {
    build.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: 'node:fs', external: true }));
  },
};
