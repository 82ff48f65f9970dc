/**
 * `pki-db-upgrade new VERSION Name`: the developer's command that writes a step from a template
 * (src/app/new-step.ts). Everything happens in temporary folders; the last test runs the bundle,
 * then the registry generator and the type checker on what it wrote.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseCli } from '../../src/app/cli-args';
import { main } from '../../src/app/main';
import { checkNewStep, createStep, nextIndex, type NewStepRequest } from '../../src/app/new-step';
import { ConfigError } from '../../src/core/errors';
import { MAIN_BUNDLE, ROOT, runCli } from '../support/bundle';
import { tempDir } from '../support/temp-dir';

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (s: string) => ((out.stdout += s), true) } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => ((out.stderr += s), true) } as unknown as NodeJS.WritableStream,
    },
  };
}

function upgradesDir(): string {
  const dir = path.join(tempDir('pkidbu-new-'), 'upgrades');
  fs.mkdirSync(dir);
  return dir;
}

/** The ConfigError `fn` throws, as message, hint and exit code. */
function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { message: err.message, hint: err.hint, exitCode: err.exitCode };
  }
  throw new Error('no error');
}

const request = (dir: string, over: Partial<NewStepRequest> = {}): NewStepRequest => ({ version: '11.7.0', name: 'AddFooIndex', dir, scope: 'cluster', ...over });

describe('new: the command line', () => {
  it('takes VERSION and Name, --dir (default ./upgrades) and --scope (default cluster)', () => {
    expect(parseCli(['new', '11.7.0', 'AddFooIndex']).newStep).toEqual({ version: '11.7.0', name: 'AddFooIndex', dir: 'upgrades', scope: 'cluster' });
    expect(parseCli(['new', '11.7.0', 'AddFooIndex', '--dir', '/tmp/u', '--scope', 'server']).newStep).toEqual({ version: '11.7.0', name: 'AddFooIndex', dir: '/tmp/u', scope: 'server' });
    expect(parseCli(['run']).newStep).toBeUndefined();
    expect(parseCli(['new', '--help'])).toMatchObject({ command: 'new', help: true, newStep: undefined });
  });

  it('refuses a missing argument, a bad scope, options of a run, and --dir or --scope elsewhere', () => {
    expect(() => parseCli(['new', '11.7.0'])).toThrow('new needs a VERSION and a Name');
    expect(() => parseCli(['new', '11.7.0', 'A', 'B'])).toThrow('unexpected argument "B"');
    expect(() => parseCli(['new', '11.7.0', 'A', '--scope', 'replica'])).toThrow('--scope must be cluster or server, not "replica"');
    expect(() => parseCli(['new', '11.7.0', 'A', '--instance', 'pki-tomcat'])).toThrow('--instance does not apply to new');
    expect(() => parseCli(['run', '--dir', 'upgrades'])).toThrow('--dir belongs to new');
    expect(() => parseCli(['status', '--scope', 'server'])).toThrow('--scope belongs to new');
  });
});

describe('new: the step file', () => {
  it('validates VERSION (x.y.z) and Name (PascalCase), with a hint, exit 2', () => {
    for (const version of ['11.7', '11.7.0.1', 'v11.7.0', '11.07.0', '']) {
      expect(refusal(() => checkNewStep(version, 'AddFooIndex'))).toEqual({
        message: `"${version}" is not a release version x.y.z`,
        hint: expect.stringContaining('e.g. pki-db-upgrade new 11.7.0'),
        exitCode: 2,
      });
    }
    for (const name of ['addFooIndex', 'Add-Foo', 'Add_Foo', '1Foo', 'Foo.ts', '']) {
      expect(refusal(() => checkNewStep('11.7.0', name))).toEqual({ message: `"${name}" is not a PascalCase name`, hint: expect.stringContaining('AddIssuerNameIndex'), exitCode: 2 });
    }
    expect(() => checkNewStep('11.10.0', 'CAIndexes2')).not.toThrow();
  });

  it('numbers it after the last step of its version', () => {
    expect(nextIndex([])).toBe(1);
    expect(nextIndex(['01-A.ts', '03-B.ts', 'notes.txt', '7-Odd.ts'])).toBe(4);
  });

  it('writes <dir>/<VERSION>/01-<Name>.ts in a new version folder, then 02, and prints the path', async () => {
    const dir = upgradesDir();
    const first = io();
    expect(await main(['new', '11.11.0', 'AddFooIndex', '--dir', dir, '--scope', 'server'], first.io)).toBe(0);
    const file = path.join(dir, '11.11.0', '01-AddFooIndex.ts');
    expect(first.out.stdout).toBe(`${file}\n`);
    expect(first.out.stderr).toMatch(/^next: write its description and upgrade\(\)/);
    expect(first.out.stderr).toMatch(/11\.11\.0 is newer than this package \(\d+\.\d+\.\d+\): set "version" in package.json/);

    const source = fs.readFileSync(file, 'utf8');
    expect(source).toMatch(/^import { defineStep } from '\.\.\/\.\.\/src\/core\/step';\n/);
    expect(source).toContain("export default defineStep({\n  description: 'TODO: ");
    expect(source).toContain("  scope: 'server',\n  async upgrade(ctx) {\n");
    expect(source).toMatch(/\/\/ Why: TODO/);
    expect(source).toMatch(/\/\/ Idempotent \(check, then change\)/);
    expect(source).toContain("throw new Error('11.11.0/01-AddFooIndex is not written yet');");

    const second = io();
    expect(await main(['new', '11.11.0', 'RequireFoo', '--dir', dir], second.io)).toBe(0);
    expect(second.out.stdout).toBe(`${path.join(dir, '11.11.0', '02-RequireFoo.ts')}\n`);
    expect(fs.readFileSync(path.join(dir, '11.11.0', '02-RequireFoo.ts'), 'utf8')).toContain("scope: 'cluster',");
  });

  it('refuses to overwrite: a name its version already has, a full version folder, no upgrades folder', () => {
    const dir = upgradesDir();
    fs.mkdirSync(path.join(dir, '11.7.0'));
    fs.writeFileSync(path.join(dir, '11.7.0', '04-AddFooIndex.ts'), 'mine');
    expect(refusal(() => createStep(request(dir)))).toEqual({
      message: `11.7.0 already has a step named AddFooIndex: ${path.join(dir, '11.7.0', '04-AddFooIndex.ts')}`,
      hint: 'choose another name, or edit that step',
      exitCode: 2,
    });
    expect(fs.readFileSync(path.join(dir, '11.7.0', '04-AddFooIndex.ts'), 'utf8')).toBe('mine');

    fs.writeFileSync(path.join(dir, '11.7.0', '99-Last.ts'), '');
    expect(refusal(() => createStep(request(dir, { name: 'More' }))).message).toBe(`${path.join(dir, '11.7.0')} already has a step 99`);

    const missing = path.join(dir, 'nowhere');
    expect(refusal(() => createStep(request(missing)))).toEqual({ message: `${missing}: no such folder`, hint: expect.stringContaining('--dir'), exitCode: 2 });
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('bad input through main: exit 2, the message and the hint on stderr, nothing written', async () => {
    const dir = upgradesDir();
    const run = io();
    expect(await main(['new', '11.7.0', 'add_foo', '--dir', dir], run.io)).toBe(2);
    expect(run.out.stdout).toBe('');
    expect(run.out.stderr).toBe('pki-db-upgrade: "add_foo" is not a PascalCase name\n  → use letters and digits, beginning with a capital letter, saying what the step does, e.g. AddIssuerNameIndex\n');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('imports src/core/step from the source tree above the folder, or says it could not find it', () => {
    const tree = tempDir('pkidbu-new-tree-');
    fs.mkdirSync(path.join(tree, 'src/core'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'src/core/step.ts'), '');
    const deep = path.join(tree, 'test/fixtures/upgrades');
    fs.mkdirSync(deep, { recursive: true });
    const inTree = createStep(request(deep));
    expect(fs.readFileSync(inTree.file, 'utf8')).toMatch(/^import { defineStep } from '\.\.\/\.\.\/\.\.\/\.\.\/src\/core\/step';/);
    expect(inTree.notes.join('\n')).not.toMatch(/no src\/core\/step\.ts/);

    const outside = createStep(request(upgradesDir()), '11.7.0');
    expect(fs.readFileSync(outside.file, 'utf8')).toMatch(/^import { defineStep } from '\.\.\/\.\.\/src\/core\/step';/);
    expect(outside.notes).toEqual([expect.stringMatching(/^next: /), expect.stringMatching(/^note: no src\/core\/step\.ts above .*: the step imports \.\.\/\.\.\/src\/core\/step/)]);
  });
});

describe('new: the bundled command', () => {
  it('writes a step into a copy of upgrades/ that the registry generator accepts and that typechecks', async () => {
    expect({ bundle: MAIN_BUNDLE, built: fs.existsSync(MAIN_BUNDLE) }).toEqual({ bundle: MAIN_BUNDLE, built: true }); // make build
    // A tree like the repository's: src/ (a link to the real one) beside a copy of upgrades/.
    const tree = tempDir('pkidbu-new-bundle-');
    fs.symlinkSync(path.join(ROOT, 'src'), path.join(tree, 'src'));
    const upgrades = path.join(tree, 'upgrades');
    fs.cpSync(path.join(ROOT, 'upgrades'), upgrades, { recursive: true, filter: (p) => path.basename(p) !== 'registry.generated.ts' });
    const shipped = fs.readdirSync(path.join(upgrades, '11.6.0')).length;

    const r = await runCli(MAIN_BUNDLE, ['new', '11.6.0', 'AddFooIndex', '--scope', 'server', '--dir', upgrades]);
    const file = path.join(upgrades, '11.6.0', `${String(shipped + 1).padStart(2, '0')}-AddFooIndex.ts`);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: `${file}\n` });
    expect(r.stderr).toMatch(/^next: /);
    expect(r.stderr).not.toMatch(/note:/);

    const registry = spawnSync(process.execPath, [path.join(ROOT, 'packaging/generate-registry.mjs'), '--upgrades', upgrades, '--package-version', '11.6.0'], { encoding: 'utf8' });
    expect({ status: registry.status, stderr: registry.stderr }).toEqual({ status: 0, stderr: '' });
    expect(fs.readFileSync(path.join(upgrades, 'registry.generated.ts'), 'utf8')).toContain(`id: "11.6.0/${path.basename(file, '.ts')}"`);

    const tsc = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/typescript/bin/tsc'),
        ...['--noEmit', '--strict', '--noImplicitOverride', '--target', 'ES2022', '--module', 'commonjs', '--moduleResolution', 'node'],
        ...['--esModuleInterop', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules/@types')],
        file,
      ],
      { encoding: 'utf8' },
    );
    expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({ status: 0, output: '' });
  });
});
