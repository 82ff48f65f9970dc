/**
 * The run's replicated pair, created on first use by whichever process asks first.
 *
 * Why lazy: a pair costs ~5 s of CPU on a 2-core machine and most test files never touch one.
 * Why a lock: jest runs test files in several worker processes; the first to create
 * <runRoot>/pair.lock (mkdir is atomic) builds the pair and publishes pair.json, the others wait
 * for pair.json. A failure is published as pair.error so that every waiting file fails at once with
 * the real cause instead of timing out. Global teardown kills whatever exists under the run root.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { createReplicatedPair, ReplicatedPair } from './replication';
import type { DsRunInfo } from './run-info';
import { writeJsonAtomic } from './run-info';
import { AbortPoll, pollUntil } from './wait';

const PAIR_CREATE_TIMEOUT_MS = 180_000;

let inProcess: Promise<ReplicatedPair> | undefined;

export function ensurePair(layout: DsRunInfo['pair']): Promise<ReplicatedPair> {
  inProcess ??= obtain(layout);
  return inProcess;
}

async function obtain(layout: DsRunInfo['pair']): Promise<ReplicatedPair> {
  if (existsSync(layout.file)) return readPair(layout.file);
  let owner = false;
  try {
    await fsp.mkdir(layout.lockDir);
    owner = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (owner) {
    try {
      const pair = await createReplicatedPair({ rootDir: layout.rootDir, portBase: layout.portBase });
      await writeJsonAtomic(layout.file, pair);
      return pair;
    } catch (err) {
      await fsp.writeFile(layout.errorFile, (err as Error).stack ?? String(err)).catch(() => undefined);
      throw err;
    }
  }
  return pollUntil(
    async () => {
      if (existsSync(layout.errorFile)) {
        throw new AbortPoll(`another test process failed to create it:\n${await fsp.readFile(layout.errorFile, 'utf8')}`);
      }
      return existsSync(layout.file) ? readPair(layout.file) : undefined;
    },
    { timeoutMs: PAIR_CREATE_TIMEOUT_MS, intervalMs: 200, what: `the replicated pair (${layout.file}) created by another test process` },
  );
}

async function readPair(file: string): Promise<ReplicatedPair> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as ReplicatedPair;
}
