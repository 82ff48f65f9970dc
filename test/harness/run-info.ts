/**
 * Where a test run keeps its servers, and the JSON file that tells test files how to reach them.
 *
 * jest runs global setup in the parent process and test files in worker processes; they share
 * nothing but the environment and the file system. Global setup writes ds-info.json and puts its
 * path in PKI_TEST_DS_INFO (workers inherit the environment).
 *
 * Layout, for port base B (PKI_TEST_PORT_BASE, default 18900):
 *   <tmpdir>/pkidbu-B/            run root (same path every run, so leftovers are easy to find)
 *   <tmpdir>/pkidbu-B/sa/         standalone instance, ports B, B+1
 *   <tmpdir>/pkidbu-B/a, b/       replicated pair, ports B+10..B+13 (created lazily, see test-env)
 *   <tmpdir>/pkidbu-B/ds-info.json, pair.json, pair.lock/, pair.error
 *   <tmpdir>/pkidbu-B.owner       pid of the jest run using port base B (refuses a second live run)
 */
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DsInstance } from './dirsrv';
import type { ReplicatedPair } from './replication';

export const INFO_ENV = 'PKI_TEST_DS_INFO';

export interface DsRunInfo {
  runRoot: string;
  portBase: number;
  standalone: DsInstance;
  /** Ports and roots the pair uses; the pair itself appears in pairFile once someone created it. */
  pair: { rootDir: string; portBase: number; file: string; lockDir: string; errorFile: string };
}

export function portBase(): number {
  const raw = process.env.PKI_TEST_PORT_BASE;
  const base = raw ? Number.parseInt(raw, 10) : 18900;
  if (!Number.isInteger(base) || base < 1024 || base > 65000) throw new Error(`bad PKI_TEST_PORT_BASE "${raw}"`);
  return base;
}

export function runRootFor(base: number): string {
  return path.join(process.env.PKI_TEST_ROOT ?? os.tmpdir(), `pkidbu-${base}`);
}

/** Every port the run may use: standalone B, B+1; pair (or up to 3 suppliers) B+10..B+15. */
export function runPorts(base: number): number[] {
  return [base, base + 1, ...Array.from({ length: 6 }, (_, i) => base + 10 + i)];
}

export function pairLayout(runRoot: string, base: number): DsRunInfo['pair'] {
  return {
    rootDir: runRoot,
    portBase: base + 10,
    file: path.join(runRoot, 'pair.json'),
    lockDir: path.join(runRoot, 'pair.lock'),
    errorFile: path.join(runRoot, 'pair.error'),
  };
}

/** Holds the pid of the jest process that owns this port base while its run lasts. */
export function ownerFile(runRoot: string): string {
  return `${runRoot}.owner`;
}

export function infoPath(runRoot: string): string {
  return path.join(runRoot, 'ds-info.json');
}

/** Writes through a temporary file and a rename, so readers never see half a JSON file. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await fsp.rename(tmp, file);
}

let cached: DsRunInfo | undefined;

export function readRunInfo(): DsRunInfo {
  if (cached) return cached;
  const file = process.env[INFO_ENV];
  if (!file) {
    throw new Error(`${INFO_ENV} is not set: run the tests through jest with this project's jest.config.js (its globalSetup starts the servers)`);
  }
  cached = JSON.parse(readFileSync(file, 'utf8')) as DsRunInfo;
  return cached;
}

export type { ReplicatedPair };
