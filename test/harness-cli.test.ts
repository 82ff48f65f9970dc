/** The harness CLI as `make demo` / `make bench` use it: bundled by esbuild, run with node. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { standalone, uniqueSuffix } from './harness/test-env';

let bundle: string;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pkidbu-cli-'));
  bundle = path.join(dir, 'harness.js');
  const result = buildSync({
    entryPoints: [path.join(__dirname, 'harness/cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  expect(result.warnings).toEqual([]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('harness CLI bundle', () => {
  it('prints usage and exits 2 without a command', () => {
    const r = cli();
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/create-standalone/);
  });

  it('rejects missing options with exit 2', () => {
    expect(cli('load-pki', '--url', standalone().url).code).toBe(2);
  });

  it('describes an instance by its root', () => {
    const r = cli('info', '--root', standalone().root);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ url: standalone().url });
  });

  it('loads a PKI database by URL', () => {
    const { suffix, backendName } = uniqueSuffix('cli');
    const r = cli('load-pki', '--url', standalone().url, '--suffix', suffix, '--backend', backendName, '--certs', '50');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ suffix, certificates: 50, withoutIssuerName: 15 });
  });

  it('fails with exit 1 and a clear message when the server is unreachable', () => {
    const r = cli('load-pki', '--url', 'ldap://127.0.0.1:1', '--suffix', 'o=x', '--backend', 'x', '--certs', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/harness load-pki: .*(ECONNREFUSED|connect)/s);
  });
});
