/**
 * The RPM spec's version and changelog (packaging/rpm-spec.mjs), and the npm packages its build
 * takes from package-lock.json (packaging/vendor-modules.mjs).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { callPackagingFunction } from '../support/packaging-module';
import { tempDir } from '../support/temp-dir';

const repo = path.resolve(__dirname, '../..');
const SPEC = fs.readFileSync(path.join(repo, 'packaging/pki-db-upgrade.spec'), 'utf8');
const spec = (fn: string, ...args: unknown[]) => callPackagingFunction('rpm-spec.mjs', fn, ...args);
const vendor = (fn: string, ...args: unknown[]) => callPackagingFunction('vendor-modules.mjs', fn, ...args);

interface Entry {
  date: string;
  author: string;
  evr: string;
  text: string[];
}

describe('the spec', () => {
  it("is at package.json's version, release 1, and its newest changelog entry is for that version-release", () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    expect(spec('specVersion', SPEC)).toEqual({ version, release: '1' });
    const [newest] = spec('changelogEntries', SPEC) as Entry[];
    expect(newest.evr).toBe(`${version}-1`);
  });

  it('has changelog entries newest first, each dated on its true weekday and saying something', () => {
    const entries = spec('changelogEntries', SPEC) as Entry[];
    expect(entries.length).toBeGreaterThan(0);
    const dates = entries.map((e) => new Date(`${e.date.slice(4)} UTC`));
    for (const [i, e] of entries.entries()) {
      expect({ entry: e.evr, weekday: spec('changelogDate', dates[i].toISOString()) }).toEqual({ entry: e.evr, weekday: e.date });
      expect({ entry: e.evr, items: e.text.filter((l) => l.startsWith('- ')).length > 0 }).toEqual({ entry: e.evr, items: true });
    }
    expect(dates.map((d) => d.getTime())).toEqual([...dates.map((d) => d.getTime())].sort((a, b) => b - a));
  });
});

describe('the spec built for another version or release', () => {
  const date = '2027-03-09T12:00:00Z';

  it("gets that Version and Release and, on top of its changelog, an entry by the newest entry's author saying what was built", () => {
    const [newest] = spec('changelogEntries', SPEC) as Entry[];
    const out = spec('specFor', SPEC, { version: '99.1.0', release: '3', note: 'Built for a test: 100% true', date }) as string;
    expect(spec('specVersion', out)).toEqual({ version: '99.1.0', release: '3' });
    expect(out).toMatch(/^Release: +3%\{\?dist\}$/m);
    const entries = spec('changelogEntries', out) as Entry[];
    expect(entries[0]).toEqual({ date: 'Tue Mar 09 2027', author: newest.author, evr: '99.1.0-3', text: ['- Built for a test: 100%% true'] });
    expect(entries.slice(1)).toEqual(spec('changelogEntries', SPEC));
  });

  it('is the spec itself for its own version and release', () => {
    const { version, release } = spec('specVersion', SPEC) as { version: string; release: string };
    expect(spec('specFor', SPEC, { version, release, note: 'unused', date })).toBe(SPEC);
  });

  it('wraps a long note at 76 columns', () => {
    const note = 'Built by packaging/build-rpm.sh as 11.7.0-1 from the sources of 11.6.0-1, with the upgrade steps of upgrades-next (not a release)';
    const [entry] = spec('changelogEntries', spec('specFor', SPEC, { version: '11.7.0', release: '1', note, date })) as Entry[];
    expect(entry.text.every((l) => l.length <= 76)).toBe(true);
    expect(entry.text.join(' ').replace(/\s+/g, ' ')).toBe(`- ${note}`);
  });
});

describe('the npm packages the RPM build needs', () => {
  // A lockfile with a dependency nested under the package that needs it, a dev package the build
  // does not use, and the build tool with one optional binary per platform.
  const lock = {
    packages: {
      '': { dependencies: { app: '1.0.0' }, devDependencies: { esbuild: '0.1.0', jest: '30.0.0' } },
      'node_modules/app': { version: '1.0.0', dependencies: { shared: '^2.0.0', nested: '1' } },
      'node_modules/app/node_modules/nested': { version: '1.5.0', dependencies: { shared: '^2.0.0' } },
      'node_modules/nested': { version: '9.9.9' },
      'node_modules/shared': { version: '2.1.0' },
      'node_modules/esbuild': { version: '0.1.0', dev: true, optionalDependencies: { '@esbuild/linux-x64': '0.1.0', '@esbuild/darwin-arm64': '0.1.0' } },
      'node_modules/@esbuild/linux-x64': { version: '0.1.0', dev: true, optional: true },
      'node_modules/@esbuild/darwin-arm64': { version: '0.1.0', dev: true, optional: true },
      'node_modules/jest': { version: '30.0.0', dev: true },
    },
  };

  /** `lock` as package-lock.json in a new folder, with these packages installed at these versions. */
  function checkout(installed: Record<string, string>): string {
    const root = tempDir('pkidbu-vendor-');
    fs.writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify(lock));
    for (const [key, version] of Object.entries(installed)) {
      fs.mkdirSync(path.join(root, key), { recursive: true });
      fs.writeFileSync(path.join(root, key, 'package.json'), JSON.stringify({ version }));
    }
    return root;
  }
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, 'packaging/vendor-modules.mjs'), ...args], { encoding: 'utf8' });
  const asInstalled = Object.fromEntries(Object.entries(lock.packages).filter(([k]) => k && k !== 'node_modules/@esbuild/darwin-arm64').map(([k, v]) => [k, (v as { version: string }).version]));

  it('are the dependencies and esbuild with what they need, resolved as node resolves them, the optional ones installed here only', () => {
    expect(vendor('resolveIn', lock.packages, 'node_modules/app/node_modules/nested', 'shared')).toBe('node_modules/shared');
    expect(vendor('resolveIn', lock.packages, 'node_modules/app', 'nested')).toBe('node_modules/app/node_modules/nested');
    expect(() => vendor('neededPackages', { packages: { '': { dependencies: { gone: '1' } } } })).toThrow(/package-lock\.json has no gone for the project/);
    // The folders to put in the tarball: a nested one comes with its parent; jest and the other
    // platform's binary are left out.
    const list = cli('--list', '--root', checkout(asInstalled));
    expect(list.stdout.trim().split('\n')).toEqual(['node_modules/@esbuild/linux-x64', 'node_modules/app', 'node_modules/esbuild', 'node_modules/shared']);
  });

  it('are checked against the lockfile: a missing package or another version is named', () => {
    expect(cli('--check', '--root', checkout(asInstalled))).toMatchObject({ status: 0, stdout: 'vendor-modules: node_modules holds the 5 locked packages the build needs\n' });
    const { 'node_modules/esbuild': _, ...withoutEsbuild } = asInstalled;
    const drifted = cli('--check', '--root', checkout({ ...withoutEsbuild, 'node_modules/shared': '2.0.9' }));
    expect(drifted.status).toBe(1);
    expect(drifted.stderr).toBe('vendor-modules: node_modules is not what package-lock.json locks:\n  node_modules/esbuild is missing\n  node_modules/shared is 2.0.9, package-lock.json locks 2.1.0\n');
  });
});
