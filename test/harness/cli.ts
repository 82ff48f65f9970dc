/**
 * Command line front end of the test harness, bundled to dist/harness.js for `make demo` and
 * `make bench`:
 *
 *   node dist/harness.js create-standalone --root DIR --port P [--secure-port P] [--name N]
 *   node dist/harness.js create-pair --root DIR --port-base P [--count 2]
 *   node dist/harness.js replicate-suffix --root DIR --suffix S --backend B
 *   node dist/harness.js wait-convergence --root DIR --suffix S [--timeout-ms 60000]
 *   node dist/harness.js load-pki (--url URL | --root DIR) --suffix S --backend B --certs N
 *                                 [--without-issuer-ratio 0.3] [--password PW]
 *   node dist/harness.js start --root DIR
 *   node dist/harness.js stop --root DIR [--kill] [--remove]
 *   node dist/harness.js info --root DIR
 *
 * --root for start/stop/info/replicate-suffix/wait-convergence may be an instance root or a directory
 * holding several (as made by create-pair). Results go to stdout as JSON, progress to stderr.
 * Exit status: 0 success, 1 failure, 2 bad usage.
 */
import { promises as fsp } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DEFAULT_ROOT_PASSWORD,
  DsInstance,
  ROOT_DN,
  createInstance,
  findInstances,
  killInstance,
  removeInstance,
  startInstance,
  stopInstance,
} from './dirsrv';
import { loadPkiDatabase } from './pki-database';
import { createReplicatedSuffix, createSuppliers, waitForConvergence } from './replication';

class UsageError extends Error {}

const OPTIONS = {
  root: { type: 'string' },
  port: { type: 'string' },
  'secure-port': { type: 'string' },
  'port-base': { type: 'string' },
  count: { type: 'string' },
  name: { type: 'string' },
  url: { type: 'string' },
  password: { type: 'string' },
  suffix: { type: 'string' },
  backend: { type: 'string' },
  certs: { type: 'string' },
  'without-issuer-ratio': { type: 'string' },
  'timeout-ms': { type: 'string' },
  kill: { type: 'boolean' },
  remove: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function required(values: Values, name: keyof Values): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function int(values: Values, name: keyof Values, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  const n = Number(required(values, name));
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer`);
  return n;
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

async function instancesAt(root: string): Promise<DsInstance[]> {
  const found = await findInstances(root, 2);
  if (found.length === 0) throw new Error(`no harness instance under ${root}`);
  return found;
}

/** An instance known only by URL (no local root): enough for LDAP work, no log diagnostics. */
function remoteInstance(url: string, password: string): DsInstance {
  const port = Number(new URL(url).port || 389);
  return {
    name: url,
    root: '',
    port,
    securePort: 0,
    host: new URL(url).hostname,
    url,
    ldapiPath: '',
    rootDN: ROOT_DN,
    rootPassword: password,
    configDir: '',
    errorLog: '(not local)',
    accessLog: '',
    pidFile: '',
  };
}

const commands: Record<string, (v: Values) => Promise<void>> = {
  async 'create-standalone'(v) {
    const port = int(v, 'port');
    const ds = await createInstance({
      name: v.name ?? `ds${port}`,
      root: required(v, 'root'),
      port,
      securePort: int(v, 'secure-port', port + 1),
      rootPassword: v.password ?? DEFAULT_ROOT_PASSWORD,
    });
    print(ds);
  },

  async 'create-pair'(v) {
    const suppliers = await createSuppliers({ rootDir: required(v, 'root'), portBase: int(v, 'port-base'), count: int(v, 'count', 2) });
    print(Object.fromEntries(suppliers.map((ds) => [ds.name, ds])));
  },

  async 'replicate-suffix'(v) {
    const suppliers = await instancesAt(required(v, 'root'));
    suppliers.sort((x, y) => x.port - y.port); // replica ids follow port order: a=1, b=2, ...
    const started = Date.now();
    await createReplicatedSuffix(suppliers, required(v, 'suffix'), required(v, 'backend'));
    print({ suffix: v.suffix, suppliers: suppliers.map((s) => s.url), elapsedMs: Date.now() - started });
  },

  async 'wait-convergence'(v) {
    const suppliers = await instancesAt(required(v, 'root'));
    const started = Date.now();
    await waitForConvergence(suppliers, required(v, 'suffix'), int(v, 'timeout-ms', 60_000));
    print({ suffix: v.suffix, convergedAfterMs: Date.now() - started });
  },

  async 'load-pki'(v) {
    let ds: DsInstance;
    if (v.root) [ds] = (await instancesAt(v.root)).sort((x, y) => x.port - y.port);
    else ds = remoteInstance(required(v, 'url'), v.password ?? DEFAULT_ROOT_PASSWORD);
    if (v.password) ds = { ...ds, rootPassword: v.password };
    const certificates = int(v, 'certs');
    const ratio = v['without-issuer-ratio'] === undefined ? 0.3 : Number(v['without-issuer-ratio']);
    if (!(ratio >= 0 && ratio <= 1)) throw new UsageError('--without-issuer-ratio must be within 0..1');
    const result = await loadPkiDatabase(ds, {
      suffix: required(v, 'suffix'),
      backendName: required(v, 'backend'),
      certificates,
      withoutIssuerNameRatio: ratio,
      // A live counter on a terminal; a line every 5,000 records in CI logs.
      onProgress: (done, total) => {
        if (process.stderr.isTTY) process.stderr.write(`\rloaded ${done}/${total}${done === total ? '\n' : ''}`);
        else if (done % 5000 === 0 || done === total) process.stderr.write(`loaded ${done}/${total}\n`);
      },
    });
    print({
      url: ds.url,
      suffix: result.suffix,
      certificates: result.certificates,
      withoutIssuerName: result.withoutIssuerName.length,
      issuerName: result.issuerName,
      // ca.signing.cert as pkispawn writes it into the CA's CS.cfg: the CA that issued the records.
      caSigningCert: result.ca.certificate.toString('base64'),
      elapsedMs: result.elapsedMs,
      recordsPerSecond: Math.round((certificates * 1000) / Math.max(1, result.elapsedMs)),
    });
  },

  async start(v) {
    const all = await instancesAt(required(v, 'root'));
    await Promise.all(all.map(startInstance));
    print(all.map((ds) => ds.url));
  },

  async stop(v) {
    const all = await instancesAt(required(v, 'root'));
    await Promise.all(all.map((ds) => (v.remove ? removeInstance(ds) : v.kill ? killInstance(ds) : stopInstance(ds))));
    // A directory that only held instances (create-pair --root) goes too; rmdir keeps anything else.
    if (v.remove) await fsp.rmdir(required(v, 'root')).catch(() => undefined);
    print({ stopped: all.map((ds) => ds.url), removed: !!v.remove });
  },

  async info(v) {
    print(await instancesAt(required(v, 'root')));
  },
};

const USAGE = `usage: harness <command> [options]
commands: ${Object.keys(commands).join(', ')}
  create-standalone --root DIR --port P [--secure-port P] [--name N] [--password PW]
  create-pair --root DIR --port-base P [--count 2]
  replicate-suffix --root DIR --suffix S --backend B
  wait-convergence --root DIR --suffix S [--timeout-ms 60000]
  load-pki (--url URL | --root DIR) --suffix S --backend B --certs N [--without-issuer-ratio 0.3] [--password PW]
  start --root DIR | stop --root DIR [--kill] [--remove] | info --root DIR
`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    process.stdout.write(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  const handler = commands[command];
  if (!handler || rest.length > 0) {
    process.stderr.write(`unknown command or extra arguments: ${parsed.positionals.join(' ')}\n${USAGE}`);
    return 2;
  }
  try {
    await handler(parsed.values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`harness ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
