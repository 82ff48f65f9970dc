/**
 * The log file's lines and how they are written: synchronously, to the descriptor opened beforehand
 * (safe-append.ts; the path is never opened again). A line is in the file when the call returns,
 * so a signal, a failure or process.exit loses none, and the lines keep the order they were logged
 * in. A run writes tens of lines: a system call each is nothing beside its LDAP round trips.
 */
import fs from 'node:fs';

/**
 * One line: the time (ISO 8601, UTC), the level upper-case padded to 5, the message, then the
 * fields as JSON when there are any (the format winston wrote, which the tests and admins read).
 */
export function formatLine(level: string, message: string, fields: Record<string, unknown> = {}, now = new Date()): string {
  let extra = '';
  if (Object.keys(fields).length > 0) {
    try {
      extra = ` ${JSON.stringify(fields)}`;
    } catch (err) {
      extra = ` {"fields":"not written: ${(err as Error).message.replace(/["\\]/g, '')}"}`; // a cycle, a BigInt
    }
  }
  return `${now.toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${extra}\n`;
}

/** Writes all of `text` at the end of the file (opened O_APPEND); a short write is continued. */
export function appendAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < bytes.length) {
    const n = fs.writeSync(fd, bytes, done, bytes.length - done);
    if (n <= 0) throw Object.assign(new Error('EIO: the file takes no more bytes'), { code: 'EIO' }); // never loop forever
    done += n;
  }
}
