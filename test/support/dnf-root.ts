/**
 * dnf as users get the package: a local repository (createrepo_c) holding it and a stand-in for
 * the system packages it requires, installed with the real dnf into a throw-away installroot
 * (`dnf --installroot DIR`). The stand-in provides nodejs, coreutils, keyutils and /bin/sh, and
 * its payload is the host's own binaries (node, sh, env, mkdir, rm, timeout, keyctl and their
 * libraries, as makeRoot copies them): rpm chroots into the root for the scriptlets, so
 * %posttrans really runs the bundle with that node. Only the local repository, a folder, is
 * enabled (--repo): dnf reaches no network.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultDbPath, makeRoot, run, RPM_ENV, SCRIPTLET_COMMANDS, type CommandResult } from './rpm-root';
import { REPO } from './rpm-package';

/** The stand-in's name. */
export const SYSTEM_STUB = 'pkidbu-test-system';

export interface TreePackage {
  /** The tree to package as it is: its files and folders, at their paths. */
  tree: string;
  name: string;
  version: string;
  summary: string;
  /** noarch; otherwise the host's architecture (a tree of host binaries). */
  noarch?: boolean;
  provides?: string[];
  requires?: string[];
  /** rpm's payload format, e.g. w9.gzdio; default uncompressed (w.ufdio). */
  payload?: string;
}

/** rpmbuild of test/fixtures/rpm/tree.spec around `p.tree`, in `work`: the RPM's path. */
export async function packageTree(work: string, p: TreePackage): Promise<string> {
  const top = fs.mkdtempSync(path.join(work, `rpmbuild-${p.name}-`));
  const defines: Record<string, string | undefined> = {
    _topdir: top,
    tree_dir: p.tree,
    tree_name: p.name,
    tree_version: p.version,
    tree_summary: p.summary,
    tree_noarch: p.noarch ? '1' : undefined,
    tree_provides: p.provides?.join(', '),
    tree_requires: p.requires?.join(', '),
    tree_payload: p.payload,
  };
  const args = Object.entries(defines).flatMap(([k, v]) => (v === undefined ? [] : ['--define', `${k} ${v}`]));
  const r = await run('rpmbuild', ['--quiet', '-bb', '--dbpath', path.join(top, 'rpmdb'), ...args, path.join(REPO, 'test/fixtures/rpm/tree.spec')], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`rpmbuild of ${p.name} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  const [arch] = fs.readdirSync(path.join(top, 'RPMS'));
  const [file] = fs.readdirSync(path.join(top, 'RPMS', arch));
  return path.join(top, 'RPMS', arch, file);
}

/** The stand-in for the system packages the package requires, built in `work`. */
export function buildSystemStub(work: string): Promise<string> {
  const tree = path.join(work, 'system-tree');
  makeRoot(tree, { ...SCRIPTLET_COMMANDS, keyctl: 'keyctl' });
  return packageTree(work, {
    tree,
    name: SYSTEM_STUB,
    version: '1',
    summary: 'Test stand-in for filesystem, bash, coreutils, keyutils and nodejs: the host binaries they would install',
    // Fedora's epoch of nodejs, and the version of the node copied in.
    provides: [`nodejs = 1:${process.versions.node}`, 'coreutils', 'keyutils', '/bin/sh'],
  });
}

export interface LocalRepository {
  dir: string;
  /** dnf's configuration for it (the host's dnf.conf and repositories do not count). */
  config: string;
  reposdir: string;
}

/** A repository of `rpms` (hard links, same file system) in the new folder `dir`, made by createrepo_c. */
export async function createRepository(dir: string, rpms: string[]): Promise<LocalRepository> {
  fs.mkdirSync(dir);
  for (const rpm of rpms) fs.linkSync(rpm, path.join(dir, path.basename(rpm)));
  const r = await run('createrepo_c', ['--quiet', dir]);
  if (r.code !== 0) throw new Error(`createrepo_c failed (${r.code}): ${r.stderr}`);
  const reposdir = `${dir}.repos.d`;
  fs.mkdirSync(reposdir);
  const config = `${dir}.dnf.conf`;
  // dnf's defaults, written down: packages removed with what they alone needed, the best
  // candidates or a failure, no weak dependencies.
  fs.writeFileSync(config, '[main]\ngpgcheck=False\ninstall_weak_deps=False\nclean_requirements_on_remove=True\nbest=True\nskip_if_unavailable=False\n');
  return { dir, config, reposdir };
}

/**
 * `dnf -y CMD...` on the installroot `root`, with only `repository` enabled, in a clean
 * environment (as root runs it). The release version is fixed: an empty root has none to read.
 */
export function dnf(repository: LocalRepository, root: string, args: string[], extraEnv: Record<string, string> = {}): Promise<CommandResult> {
  return run(
    'dnf',
    [
      '-y',
      `--installroot=${root}`,
      `--config=${repository.config}`,
      '--releasever=1',
      '--noplugins',
      '--nogpgcheck',
      `--setopt=reposdir=${repository.reposdir}`,
      `--repofrompath=pkidbu-test,${repository.dir}`,
      '--repo=pkidbu-test',
      ...args,
    ],
    { env: { ...RPM_ENV, ...extraEnv }, timeoutMs: 120_000 },
  );
}

/** The packages installed in `root` (dnf's rpm database), NAME-VERSION-RELEASE, sorted. */
export async function installedPackages(root: string): Promise<string[]> {
  const r = await run('rpm', ['--root', root, '--dbpath', defaultDbPath(), '-qa', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}\n']);
  return r.stdout.trim().split('\n').filter(Boolean).sort();
}

/** What rpm and dnf keep in an installroot: rpm's database, dnf's cache, history and logs. */
export function packageManagerState(): (p: string) => boolean {
  const under = [defaultDbPath(), '/etc/dnf', '/var/lib/dnf', '/var/cache/dnf'];
  return (p) => under.some((d) => p === d || p.startsWith(`${d}/`)) || /^\/var\/log\/(dnf[.\w]*|hawkey)\.log$/.test(p);
}
