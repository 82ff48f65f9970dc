// The bundle as one file that starts from V8's code cache when root keeps one (#17 item 4: a no-op
// run at every PKI server start, docs/benchmarks.md "No-op run and bundle size"). Node 20 compiles
// the whole file at every start, the largest part of a run with nothing to do, and has no compile
// cache of its own (node 22's module.enableCompileCache). So the file holds the tool's code as a
// string, compiled by vm.Script with the cached data of an earlier run of the same code:
//  - the cache lives in a folder root alone can write (/var/cache/pki-db-upgrade, which the RPM
//    creates mode 0700; PKI_DB_UPGRADE_CODE_CACHE names another for the benches): code root runs
//    must not come from a file another user could write. Another owner, group or other write
//    access, or a run that is not root's: no cache is read or written;
//  - its name is the SHA-256 of the code (computed here, at build time: node:crypto costs ~4 ms
//    to load, and a no-op run needs it for nothing else) and node's version: V8 checks its own
//    version and flags but only the length of the source, so a cache of other code of the same
//    length would be taken. A cache V8 rejects anyway is written again;
//  - it is written once per code at the end of a run that asks for it (src/process/code-cache-request.ts:
//    one that found nothing to do, so that it holds the functions a no-op run compiles, not a
//    whole upgrade's), to a new file renamed into place; caches of other code are removed.
// Without a cache the code is compiled as node would compile the file.

import { createHash } from 'node:crypto';

/** The loader around `code` (esbuild's CommonJS output, without its #! line). */
export function withCodeCache(code) {
  const digest = createHash('sha256').update(code).digest('hex');
  return `#!/usr/bin/env node
'use strict';
// pki-db-upgrade: the code below is compiled with a code cache when root keeps one (packaging/code-cache.mjs).
const CODE = ${JSON.stringify(code)};
(${loader.toString()})(CODE, ${JSON.stringify(digest)}, exports, require, module, __filename, __dirname);
`;
}

function loader(CODE, CODE_SHA256, exports, require, module, __filename, __dirname) {
  const fs = require('node:fs');
  const path = require('node:path');
  const vm = require('node:vm');
  let file;
  let cachedData;
  if (process.getuid && process.getuid() === 0) {
    const dir = process.env.PKI_DB_UPGRADE_CODE_CACHE || '/var/cache/pki-db-upgrade';
    try {
      const st = fs.lstatSync(dir);
      if (st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0) {
        file = path.join(dir, `${CODE_SHA256}-node${process.versions.node}.v8cache`);
        try {
          cachedData = fs.readFileSync(file);
        } catch {
          // none yet: this run writes it
        }
      }
    } catch {
      // no cache folder: compiled as usual
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${CODE}\n})`, { filename: __filename, cachedData });
  if (file && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      if (process[Symbol.for('pki-db-upgrade.write-code-cache')] !== true) return;
      try {
        const temp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
        fs.renameSync(temp, file);
        for (const other of fs.readdirSync(path.dirname(file))) {
          if (other.endsWith('.v8cache') && path.join(path.dirname(file), other) !== file) fs.rmSync(path.join(path.dirname(file), other), { force: true });
        }
      } catch {
        // a cache is an optimisation: the next run compiles as usual and tries again
      }
    });
  }
  script.runInThisContext()(exports, require, module, __filename, __dirname);
}
