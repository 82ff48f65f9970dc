// What the bundle loads at start, kept to what a run needs (#17 item 4: a no-op run is measured
// against `node -e 0`, docs/benchmarks.md "No-op run and bundle size"). Two esbuild plugins of
// packaging/build.mjs:
//  - lazyBuiltins: node's modules that a run over LDAPI or plain LDAP never uses (node:tls,
//    node:child_process) are required when the bundle first reads one of their exports, not at
//    start. ldapts requires node:tls at its top level although the session gives it its own
//    connect (src/ldap/ldapts-session.ts); TLS, client certificates and systemd use them.
//  - nodeFsForGracefulFs: proper-lockfile's graceful-fs is node:fs itself. graceful-fs patches
//    the process's fs and process.cwd when loaded, a few ms of every start, to queue opens that fail
//    with EMFILE, which a run holding a handful of files never meets.
import { createRequire } from 'node:module';

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

export const nodeFsForGracefulFs = {
  name: 'node-fs-for-graceful-fs',
  setup(build) {
    build.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: 'node:fs', external: true }));
  },
};
