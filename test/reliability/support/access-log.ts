/**
 * Follows a 389 DS access log from a point on (an instance of the test's own, with buffering off):
 * what the server received and answered, as it happens. The crash suite uses it to kill the tool
 * right after the server applied a given operation (a history record, a schema change, an index).
 */
import fs from 'node:fs';
import type { DsInstance } from '../../harness/dirsrv';

export class AccessLogFollower {
  private offset: number;
  private seen = '';

  constructor(private readonly ds: DsInstance) {
    this.offset = this.size();
  }

  private size(): number {
    try {
      return fs.statSync(this.ds.accessLog).size;
    } catch {
      return 0;
    }
  }

  /** Everything logged since the follower was made (or since the last rotation, if it rotated). */
  text(): string {
    const size = this.size();
    if (size < this.offset) this.offset = 0; // rotated
    if (size > this.offset) {
      const fd = fs.openSync(this.ds.accessLog, 'r');
      try {
        const buf = Buffer.alloc(size - this.offset);
        fs.readSync(fd, buf, 0, buf.length, this.offset);
        this.seen += buf.toString('utf8');
        this.offset = size;
      } finally {
        fs.closeSync(fd);
      }
    }
    return this.seen;
  }
}
