/**
 * jest globalTeardown: kill every server of this run (SIGKILL: the data is throw-away and a
 * graceful stop costs seconds per server) and delete the run root, unless PKI_TEST_KEEP=1.
 */
import { promises as fsp } from 'node:fs';
import { findInstances, removeInstance } from './dirsrv';
import { DsRunInfo, INFO_ENV, ownerFile } from './run-info';

export default async function globalTeardown(): Promise<void> {
  const file = process.env[INFO_ENV];
  if (!file) return;
  let info: DsRunInfo;
  try {
    info = JSON.parse(await fsp.readFile(file, 'utf8')) as DsRunInfo;
  } catch {
    return; // setup failed before writing it; nothing of ours is running
  }
  if (process.env.PKI_TEST_KEEP === '1') {
    process.stderr.write(`\n[harness] PKI_TEST_KEEP=1: servers left running, info in ${file}\n`);
    return;
  }
  // Look on disk rather than in the info file: the pair may have been created by a worker.
  const instances = await findInstances(info.runRoot, 2);
  await Promise.all(instances.map((ds) => removeInstance(ds)));
  await fsp.rm(info.runRoot, { recursive: true, force: true });
  await fsp.rm(ownerFile(info.runRoot), { force: true });
}
