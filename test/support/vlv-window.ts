/**
 * The first window of a VLV search as 389 DS answers it: ldapsearch with a server-side sort on
 * serialno and a VLV control (the window around the first entry), as Dogtag's CA asks for its
 * VLV searches. ldapsearch then asks for the next window on stdin, and at end of input shows
 * window after window for ever: stopped once the first has come.
 */
import { spawn } from 'node:child_process';
import type { DsInstance } from '../harness/dirsrv';

export function vlvWindow(ds: DsInstance, base: string, filter: string): Promise<string> {
  const child = spawn('ldapsearch', ['-x', '-LLL', '-H', ds.url, '-D', ds.rootDN, '-w', ds.rootPassword, '-b', base, '-s', 'one', '-E', '!sss=serialno', '-E', '!vlv=0/2/1/0', filter, 'serialno'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`no VLV result within 10 s:\n${out}`));
    }, 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const at = out.indexOf('# vlvResult');
      if (at >= 0 && out.indexOf('\n', at) > 0) {
        clearTimeout(timer);
        child.kill();
        resolve(out.slice(0, out.indexOf('\n', at) + 1));
      }
    });
    child.on('error', reject);
    // At end of input it shows window after window (stdout fills, then flushes).
    child.stdin!.end();
  });
}

/** How many entries the server says the VLV search holds (its vlvResult count). */
export async function vlvCount(ds: DsInstance, base: string, filter: string): Promise<number> {
  const answer = await vlvWindow(ds, base, filter);
  const count = /# vlvResult ?pos=\d+ count=(\d+)/.exec(answer)?.[1];
  if (count === undefined) throw new Error(`no VLV count in:\n${answer}`);
  return Number(count);
}
