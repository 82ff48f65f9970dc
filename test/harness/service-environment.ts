/**
 * The environment the packaged systemd unit gives ns-slapd, for servers the harness starts by hand.
 *
 * 389 DS's own unit drop-in (dirsrv@.service.d/custom.conf, shipped on Debian and Fedora alike)
 * preloads jemalloc: `Environment=LD_PRELOAD=…/dirsrv/lib/libjemalloc.so.2`. A server started
 * without it runs on glibc malloc, which is not what any PKI server runs: on a 100,000-entry
 * backend, glibc's allocator alone doubled the CPU time of each modify (make bench, perf showed
 * _int_malloc/unlink_chunk/_int_free at ~30%), so figures and timings taken without it describe
 * no real deployment.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

/** Where packages put the unit's drop-ins (Debian: /lib, Fedora: /usr/lib). */
const DROP_IN_DIRS = ['/usr/lib/systemd/system/dirsrv@.service.d', '/lib/systemd/system/dirsrv@.service.d'];

/**
 * Parses `Environment=` lines of unit files (systemd.exec(5)): space-separated KEY=VALUE words,
 * each optionally double-quoted. Later assignments win, as in systemd. Commented lines are skipped.
 */
export function parseUnitEnvironment(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^Environment\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    // An empty assignment resets the list (systemd.exec(5)).
    if (m[1].trim() === '') {
      for (const k of Object.keys(env)) delete env[k];
      continue;
    }
    for (const word of m[1].match(/"[^"]*"|\S+/g) ?? []) {
      const unquoted = word.startsWith('"') ? word.slice(1, -1) : word;
      const eq = unquoted.indexOf('=');
      if (eq > 0) env[unquoted.slice(0, eq)] = unquoted.slice(eq + 1);
    }
  }
  return env;
}

/** The LD_PRELOAD of the installed unit, when the library it names exists; else nothing. */
export function serviceEnvironment(dropInDirs: string[] = DROP_IN_DIRS): NodeJS.ProcessEnv {
  for (const dir of dropInDirs) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();
    } catch {
      continue;
    }
    // systemd reads the drop-ins in name order as one unit, so a later file can override or reset.
    const env = parseUnitEnvironment(files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n'));
    const preload = env.LD_PRELOAD;
    if (preload && preload.split(/[\s:]+/).every((lib) => existsSync(lib))) return { LD_PRELOAD: preload };
  }
  return {};
}
