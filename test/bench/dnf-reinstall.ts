/**
 * make bench-dnf: the time %posttrans adds to a `dnf reinstall` with nothing to upgrade (issue 14
 * measured 0.11-0.12 s by hand). Two installroots, made as test/rpm-dnf.test.ts makes them, from
 * one local repository with the system stand-in (test/support/dnf-root.ts):
 *  - with %posttrans: pki-db-upgrade N, whose instance's CA database, on a 389 DS of the bench's
 *    own, is already at N: %posttrans runs the tool, which finds it up to date;
 *  - without: the same files (that RPM's payload, compressed the same way, repackaged by
 *    test/fixtures/rpm/tree.spec) under another name, with the same Requires and no scriptlets.
 * Each round reinstalls both, in alternating order, then runs the command %posttrans runs by hand
 * in the root (no rpm, no dnf); the figures are the median and range of each, and of the
 * difference within a round.
 *
 *   node dist/bench-dnf.js [--port P] [--rounds 15]
 *   (port: PKI_TEST_PORT_BASE+32, else 18932; PKI_BENCH_KEEP=1 keeps the server and the roots)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createInstance, removeInstance } from '../harness/dirsrv';
import { loadPkiDatabase } from '../harness/pki-database';
import { buildSystemStub, createRepository, dnf, packageTree, type LocalRepository } from '../support/dnf-root';
import { inRoot, packageLines, run } from '../support/rpm-root';
import { INSTANCE, makeRpm, pkiServerIn, queryPackage, REPO, VERSION_N } from '../support/rpm-package';
import { median, sec, table } from './figures';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: String(process.env.PKI_TEST_PORT_BASE ? Number(process.env.PKI_TEST_PORT_BASE) + 32 : 18932) },
    rounds: { type: 'string', default: '15' },
  },
});
const port = Number(values.port);
const rounds = Number(values.rounds);
const WITHOUT = 'pkidbu-bench-without-posttrans';
const UP_TO_DATE = `pki-db-upgrade: ${INSTANCE}: ca up to date at ${VERSION_N}`;

const progress = (message: string) => process.stderr.write(`[bench-dnf] ${message}\n`);

async function must<T extends { code: number | null; stdout: string; stderr: string }>(what: string, p: Promise<T>): Promise<T> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}${r.stdout.slice(-2000)}`);
  return r;
}

/** The RPM's files and folders, as its payload holds them, repackaged without scriptlets under another name. */
async function withoutScriptlets(work: string, rpm: string): Promise<string> {
  const tree = path.join(work, 'without-tree');
  fs.mkdirSync(tree);
  await must('unpacking the RPM', run('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', rpm], { cwd: tree }));
  const requires = (await queryPackage(rpm, ['--requires'])).stdout.trim().split('\n').filter((r) => !r.startsWith('rpmlib('));
  const [compressor, level] = (await queryPackage(rpm, ['--qf', '%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}'])).stdout.trim().split(' ');
  const io: Record<string, string> = { gzip: 'gzdio', xz: 'xzdio', zstd: 'zstdio', bzip2: 'bzdio' };
  return packageTree(work, {
    tree,
    name: WITHOUT,
    version: VERSION_N,
    summary: `The files of pki-db-upgrade ${VERSION_N} without its scriptlets`,
    noarch: true,
    requires: [...new Set(requires)],
    payload: io[compressor] ? `w${level}.${io[compressor]}` : undefined,
  });
}

interface Round {
  withMs: number;
  withoutMs: number;
  /** The command %posttrans runs, run by hand in the root: no rpm, no dnf. */
  directMs: number;
  toolMs: number;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-bench-dnf-'));
  fs.chmodSync(work, 0o755);
  progress(`creating a 389 DS on 127.0.0.1:${port}, building the packages (files in ${work})`);
  const server = createInstance({ name: `benchdnf${port}`, port, securePort: port + 1, root: path.join(work, 'ds') });
  server.catch(() => undefined); // awaited below
  try {
    const { rpm } = await makeRpm(VERSION_N, path.join(REPO, 'upgrades'), path.join(work, 'rpms'));
    const stub = await buildSystemStub(work);
    const without = await withoutScriptlets(work, rpm);
    const repository: LocalRepository = await createRepository(path.join(work, 'repository'), [rpm, stub, without]);
    const ds = await server;

    const suffix = 'o=benchdnf';
    await loadPkiDatabase(ds, { suffix, backendName: 'benchdnf', certificates: 20 });
    const roots = { with: path.join(work, 'root-with'), without: path.join(work, 'root-without') };
    for (const root of Object.values(roots)) {
      fs.mkdirSync(root);
      pkiServerIn(root, { port: ds.port, baseDN: suffix, backend: 'benchdnf', password: ds.rootPassword });
    }
    await must('dnf install pki-db-upgrade', dnf(repository, roots.with, ['install', 'pki-db-upgrade']));
    await must(`dnf install ${WITHOUT}`, dnf(repository, roots.without, ['install', WITHOUT]));
    await must('the database upgraded by hand to N', inRoot(roots.with, ['/usr/sbin/pki-db-upgrade', 'run', '--instance', INSTANCE]));

    const reinstall = async (which: 'with' | 'without'): Promise<number> => {
      const r = await must(`dnf reinstall (${which})`, dnf(repository, roots[which], ['reinstall', which === 'with' ? 'pki-db-upgrade' : WITHOUT]));
      // A figure is only worth something if %posttrans ran the tool and found nothing to do.
      const lines = packageLines(r);
      const expected = which === 'with' ? [UP_TO_DATE] : [];
      if (JSON.stringify(lines) !== JSON.stringify(expected)) throw new Error(`dnf reinstall (${which}) printed ${JSON.stringify(lines)}, expected ${JSON.stringify(expected)}`);
      return r.ms;
    };
    const toolRunMs = () => {
      const { lastRun } = JSON.parse(fs.readFileSync(path.join(roots.with, 'var/lib/pki-db-upgrade', INSTANCE, 'status.json'), 'utf8'));
      return Date.parse(lastRun.endTime) - Date.parse(lastRun.startTime);
    };

    progress('one reinstall of each to warm the caches (not counted)');
    await reinstall('with');
    await reinstall('without');
    const results: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      progress(`round ${i + 1} of ${rounds}`);
      const order: ('with' | 'without')[] = i % 2 === 0 ? ['with', 'without'] : ['without', 'with'];
      const ms: Record<string, number> = {};
      for (const which of order) ms[which] = await reinstall(which);
      const toolMs = toolRunMs();
      const direct = await must('the command of %posttrans, by hand', inRoot(roots.with, ['timeout', '1800', '/usr/sbin/pki-db-upgrade', 'run', '--mode', 'posttrans']));
      if (packageLines(direct).join('\n') !== UP_TO_DATE) throw new Error(`the command of %posttrans printed ${direct.stdout}${direct.stderr}`);
      results.push({ withMs: ms.with, withoutMs: ms.without, directMs: direct.ms, toolMs });
    }

    const figure = (label: string, values: number[]) => [label, sec(median(values)), `${sec(Math.min(...values))} – ${sec(Math.max(...values))}`];
    const rows = [
      [`dnf reinstall, nothing to upgrade (${rounds} rounds, alternating order)`, 'median', 'range'],
      figure(`pki-db-upgrade ${VERSION_N}: %posttrans runs the tool ("ca up to date")`, results.map((r) => r.withMs)),
      figure('the same files without scriptlets', results.map((r) => r.withoutMs)),
      figure('difference within a round: what %posttrans adds', results.map((r) => r.withMs - r.withoutMs)),
      figure('its command run by hand in the root (chroot timeout ... pki-db-upgrade run --mode posttrans)', results.map((r) => r.directMs)),
      figure("of which the tool's run as it records it (status.json, after node's start)", results.map((r) => r.toolMs)),
    ];
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    process.stdout.write(`\n${table(rows)}\n\nEvery round: ${results.map((r) => `${sec(r.withMs)} / ${sec(r.withoutMs)}`).join('; ')} (with / without); load average at the end ${load}.\n`);
  } finally {
    if (process.env.PKI_BENCH_KEEP) progress(`kept: server and roots in ${work}`);
    else {
      const started = await server.catch(() => undefined);
      if (started) await removeInstance(started).catch(() => undefined);
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

main().catch((err) => {
  process.stderr.write(`[bench-dnf] failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
