/** What the bundle holds from node_modules, from esbuild's metafile, and what the spec declares of it (packaging/bundled-modules.mjs). */
import fs from 'node:fs';
import path from 'node:path';
import { callPackagingFunction } from '../support/packaging-module';
import { tempDir } from '../support/temp-dir';

const call = (fn: string, ...args: unknown[]) => callPackagingFunction('bundled-modules.mjs', fn, ...args);
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

  it("are declared in the spec as License and Provides macros between its markers, and a spec declaring anything else is named", () => {
    const modules = [
      { name: '@s/old', version: '0.1.0', license: 'BSD-3-Clause' },
      { name: 'used', version: '1.2.3', license: 'MIT' },
    ];
    const block = call('specBlock', modules, 'GPL-2.0-or-later') as string;
    expect(block.split('\n')).toEqual([
      '%global bundled_license GPL-2.0-or-later AND BSD-3-Clause AND MIT',
      '%global bundled_provides %{expand:\\',
      'Provides:       bundled(npm(@s/old)) = 0.1.0\\',
      'Provides:       bundled(npm(used)) = 1.2.3\\',
      '}',
    ]);
    const spec = 'Name: x\n# bundled-modules:begin (make docs)\nold\n# bundled-modules:end\nLicense: %{bundled_license}\n';
    expect(call('fillSpecBlock', spec, 'x.spec', block)).toBe(`Name: x\n# bundled-modules:begin (make docs)\n${block}\n# bundled-modules:end\nLicense: %{bundled_license}\n`);
    expect(() => call('fillSpecBlock', 'Name: x\n', 'x.spec', block)).toThrow(/x\.spec: no # bundled-modules:begin \.\.\. # bundled-modules:end lines/);

    // What %build passes: the License rpm parsed and %{bundled_provides} as rpm expands it.
    const provides = '\nProvides:       bundled(npm(@s/old)) = 0.1.0\nProvides:       bundled(npm(used)) = 1.2.3\n';
    expect(call('declaredDrift', modules, 'GPL-2.0-or-later', { license: 'GPL-2.0-or-later AND BSD-3-Clause AND MIT', provides })).toEqual([]);
    expect(call('declaredDrift', [...modules, { name: 'new', version: '2.0.0', license: 'ISC' }], 'GPL-2.0-or-later', { license: 'GPL-2.0-or-later AND BSD-3-Clause AND MIT', provides: provides.replace('1.2.3', '1.2.2') })).toEqual([
      'License: the spec says "GPL-2.0-or-later AND BSD-3-Clause AND MIT", the bundle\'s modules make "GPL-2.0-or-later AND BSD-3-Clause AND MIT AND ISC"',
      'bundled but not declared: bundled(npm(used)) = 1.2.3',
      'bundled but not declared: bundled(npm(new)) = 2.0.0',
      'declared but not bundled: bundled(npm(used)) = 1.2.2',
    ]);
  });
});
