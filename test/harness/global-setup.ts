/**
 * jest globalSetup: one standalone 389 DS instance per test run (the replicated pair is created
 * lazily by the first test file that asks for it; PKI_TEST_PAIR=eager creates it here instead).
 *
 * Robust on a bare CI machine: installs 389 DS if missing, never reads stdin, kills servers a
 * previous run left on our ports (found by the instance file in their roots), and starts from an
 * empty run root.
 */
import { promises as fsp } from 'node:fs';
import { findInstances, killInstance, killStaleInstances } from './dirsrv';
import { createTlsInstance } from './dirsrv-tls';
import { ensureDirsrvInstalled } from './packages';
import { DsRunInfo, INFO_ENV, infoPath, ownerFile, pairLayout, portBase, runPorts, runRootFor, writeJsonAtomic } from './run-info';
import { ensurePair } from './shared-pair';
import { TlsTestCa, type ServerCertificate } from './tls-certificates';

/**
 * Servers left by a finished (or crashed) run are fair game, but a run that is still going must not
 * lose its servers to ours: the owner file names the jest process using this port base.
 */
async function claimPortBase(base: number, runRoot: string): Promise<void> {
  const file = ownerFile(runRoot);
  const owner = Number.parseInt(await fsp.readFile(file, 'utf8').catch(() => ''), 10);
  if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
    throw new Error(
      `another test run (pid ${owner}) is using 389 DS ports ${base}..${base + 15} (${file}); ` +
        `wait for it or set PKI_TEST_PORT_BASE to another value`,
    );
  }
  await fsp.writeFile(file, `${process.pid}\n`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The standalone's certificate; the CA's key is not kept (a test that needs more makes its own CA). */
function runCertificate(): ServerCertificate {
  return new TlsTestCa('pki-db-upgrade test CA of this run').issueServer({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const base = portBase();
  const runRoot = runRootFor(base);
  await claimPortBase(base, runRoot);
  await ensureDirsrvInstalled();
  await killStaleInstances(runPorts(base), [runRoot]);
  await fsp.rm(runRoot, { recursive: true, force: true });
  await fsp.mkdir(runRoot, { recursive: true, mode: 0o755 });
  await fsp.chmod(runRoot, 0o755);

  const layout = pairLayout(runRoot, base);
  const eagerPair = process.env.PKI_TEST_PAIR === 'eager';
  // Creating both at once overlaps their waits (dscreate start/stop) on a small machine.
  let standalone;
  try {
    [standalone] = await Promise.all([
      // 389 DS's own TLS, as a PKI host's: LDAPS on B+1, StartTLS on B, a certificate for
      // localhost and 127.0.0.1 from a CA of this run (its PEM: standalone.tls.caFile).
      createTlsInstance({ name: `sa${base}`, port: base, securePort: base + 1, root: `${runRoot}/sa` }, runCertificate()),
      eagerPair ? ensurePair(layout) : Promise.resolve(undefined),
    ]);
  } catch (err) {
    // jest skips globalTeardown when globalSetup throws: clean up here.
    const leftovers = await findInstances(runRoot, 2);
    await Promise.all(leftovers.map((ds) => killInstance(ds).catch(() => undefined)));
    throw err;
  }

  const info: DsRunInfo = { runRoot, portBase: base, standalone, pair: layout };
  const file = infoPath(runRoot);
  await writeJsonAtomic(file, info);
  process.env[INFO_ENV] = file;
  if (process.env.PKI_TEST_VERBOSE) {
    process.stderr.write(`\n[harness] 389 DS ready in ${Date.now() - started} ms: ${standalone.url} (root ${runRoot})\n`);
  }
}
