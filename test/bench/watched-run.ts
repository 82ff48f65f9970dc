/**
 * A run of the bundled tool watched as it goes (benches only): its time, exit, peak RSS, and when
 * its log said what, with the CPU time of ns-slapd and of the tool at those moments.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const PEAK_RSS = path.join(process.env.PKI_BENCH_REPO ?? path.resolve(__dirname, '..'), 'test/bench/peak-rss.cjs');
const CLOCK_TICK_MS = 10; // /proc/<pid>/stat counts in USER_HZ = 100 on Linux

/** utime + stime of a process in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

export interface ToolRun {
  ms: number;
  code: number | null;
  stderr: string;
  rssMiB: number;
  /** ms from the start to the first line matching each watched pattern. */
  at: Record<string, number>;
  /** CPU ms of ns-slapd and of the tool at each watched line. */
  cpu: Record<string, { slapd: number; tool: number }>;
}

/**
 * Runs `bundle` with `args` under node (peak RSS recorded), and notes, as the tool's log lines
 * arrive on stderr, when each `watch` pattern first matched and the CPU time of ns-slapd
 * (`slapdPid`) and of the tool at that moment; `onWatched` is told of each first match.
 */
export function watchedRun(
  bundle: string,
  args: string[],
  options: { rssFile: string; watch: Record<string, RegExp>; slapdPid: number; onWatched?: (name: string) => void },
): Promise<ToolRun> {
  const { rssFile, watch, slapdPid: pid } = options;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    const child = spawn(process.execPath, ['--require', PEAK_RSS, bundle, ...args], {
      env: { ...process.env, PEAK_RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const slapd0 = cpuMs(pid);
    const at: ToolRun['at'] = {};
    const cpu: ToolRun['cpu'] = {};
    let stderr = '';
    let partial = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        for (const [name, re] of Object.entries(watch)) {
          if (at[name] === undefined && re.test(line)) {
            at[name] = elapsed();
            try {
              cpu[name] = { slapd: cpuMs(pid) - slapd0, tool: cpuMs(child.pid!) };
            } catch {
              // the tool may have exited already
            }
            options.onWatched?.(name);
          }
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ ms: elapsed(), code, stderr, rssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024, at, cpu }),
    );
  });
}

