/** What the bundle holds from node_modules, from esbuild's metafile (packaging/bundled-modules.mjs). */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../support/temp-dir';

const MODULE = path.resolve(__dirname, '../../packaging/bundled-modules.mjs');

/** Calls a function of the build script (ESM, run by node as the build runs it) with JSON arguments. */
function call(fn: string, ...args: unknown[]): unknown {
  const script = `import * as m from ${JSON.stringify(MODULE)}; console.log(JSON.stringify(m[${JSON.stringify(fn)}](...${JSON.stringify(args)}) ?? null));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
const packageDirOf = (input: string) => call('packageDirOf', input) ?? undefined;
const bundledModules = (metafile: object, root: string) => call('bundledModules', metafile, root);
const licenseExpression = (own: string, modules: unknown) => call('licenseExpression', own, modules);

describe('the modules a bundle holds', () => {
  it("are the node_modules packages its inputs come from, scoped and nested ones too, the project's own files left out", () => {
    expect(packageDirOf('node_modules/ldapts/dist/index.js')).toBe('node_modules/ldapts');
    expect(packageDirOf('node_modules/@colors/colors/lib/index.js')).toBe('node_modules/@colors/colors');
    expect(packageDirOf('node_modules/a/node_modules/b/x.js')).toBe('node_modules/a/node_modules/b');
    expect(packageDirOf('src/app/main.ts')).toBeUndefined();
  });

  it('are named with version, license and license files; an input that added no bytes does not count', () => {
    const root = tempDir('pkidbu-bundled-');
    const pkg = (dir: string, json: object, files: string[] = []) => {
      fs.mkdirSync(path.join(root, dir), { recursive: true });
      fs.writeFileSync(path.join(root, dir, 'package.json'), JSON.stringify(json));
      for (const f of files) fs.writeFileSync(path.join(root, dir, f), 'text');
    };
    pkg('node_modules/used', { name: 'used', version: '1.2.3', license: 'MIT' }, ['LICENSE', 'index.js']);
    pkg('node_modules/@s/old', { name: '@s/old', version: '0.1.0', licenses: [{ type: 'BSD-3-Clause' }] }, ['License.md']);
    pkg('node_modules/types-only', { name: 'types-only', version: '9.0.0', license: 'ISC' });
    const metafile = {
      inputs: {
        'src/app/main.ts': { bytes: 100 },
        'node_modules/used/index.js': { bytes: 10 },
        'node_modules/used/other.js': { bytes: 5 },
        'node_modules/@s/old/lib.js': { bytes: 1 },
        'node_modules/types-only/index.d.ts': { bytes: 0 },
      },
    };
    const modules = bundledModules(metafile, root);
    expect(modules).toEqual([
      { name: '@s/old', version: '0.1.0', license: 'BSD-3-Clause', dir: 'node_modules/@s/old', licenseFiles: ['License.md'] },
      { name: 'used', version: '1.2.3', license: 'MIT', dir: 'node_modules/used', licenseFiles: ['LICENSE'] },
    ]);
    expect(licenseExpression('GPL-2.0-or-later', modules)).toBe('GPL-2.0-or-later AND BSD-3-Clause AND MIT');
    expect(licenseExpression('GPL-2.0-or-later', [{ license: 'MIT OR Apache-2.0' }, { license: 'MIT' }])).toBe('GPL-2.0-or-later AND (MIT OR Apache-2.0) AND MIT');
  });
});
