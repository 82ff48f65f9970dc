/**
 * password.conf of a PKI instance: read when it exists (never modified), restored temporarily when
 * it does not (nuxwdog, FreeIPA), and removed again on every exit path.
 *
 * Restoring: the file is written under a temporary name opened O_CREAT|O_EXCL with mode 0600 and
 * handed to the PKI user before a single password byte is written, then hard-linked into place
 * (link fails when a password.conf appeared meanwhile: that one is left alone) and the temporary
 * name is removed. It is never readable by anyone else, not for an instant.
 *
 * Marker: before the file appears, its identity (device, inode, path) is written to a root-only
 * marker in the tool's state folder. A run killed by SIGKILL cannot clean up; the next run finds
 * the marker and removes password.conf only if it is still that very file (same inode), so a
 * password.conf an administrator put back in the meantime is never touched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseProperties } from '../instance/cs-cfg';
import type { Logger } from '../core/logger';
import { onProcessExit } from '../run/exit-cleanup';

export const MARKER_NAME = 'password-conf.marker.json';

interface Marker {
  file: string;
  tmp: string;
  pid: number;
  dev: number;
  ino: number;
  created: string;
}

export interface RestoredPasswordConf {
  file: string;
  /** Removes the file now (idempotent); also runs by itself at process exit or on a signal. */
  remove(): void;
}

/** The password of `key` in an existing password.conf; undefined when the file or the key is missing. */
export function readPasswordConf(file: string, key: string): { exists: boolean; password?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false };
    throw err;
  }
  const password = parseProperties(text).get(key);
  return { exists: true, password: password || undefined };
}

/**
 * Writes password.conf with only "<key>=<password>", mode 0600, owned by `owner`. Returns
 * undefined (and writes nothing) when a password.conf already exists.
 */
export function restorePasswordConf(options: {
  file: string;
  key: string;
  password: string;
  owner: { uid: number; gid: number };
  stateDir: string;
}): RestoredPasswordConf | undefined {
  const { file, key, password, owner, stateDir } = options;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.pki-db-upgrade.${process.pid}`);
  const markerFile = path.join(stateDir, MARKER_NAME);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.rmSync(tmp, { force: true });

  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  let linked = false;
  let markerWritten = false;
  const cleanup = () => {
    // Only the file we created: same inode as recorded, whatever happened since.
    if (linked) removeIfSameFile(file, ino, dev);
    fs.rmSync(tmp, { force: true });
    if (markerWritten) fs.rmSync(markerFile, { force: true });
  };
  let ino = 0;
  let dev = 0;
  const unregister = onProcessExit(cleanup);
  try {
    try {
      fs.fchmodSync(fd, 0o600); // the umask can only narrow the mode; make it exact
      if (process.getuid?.() === 0) fs.fchownSync(fd, owner.uid, owner.gid);
      const st = fs.fstatSync(fd);
      ino = st.ino;
      dev = st.dev;
      const marker: Marker = { file, tmp, pid: process.pid, dev, ino, created: new Date().toISOString() };
      fs.writeFileSync(markerFile, JSON.stringify(marker) + '\n', { mode: 0o600 });
      markerWritten = true;
      fs.writeSync(fd, `${key}=${password}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
      linked = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      unregister();
      return undefined;
    }
    fs.rmSync(tmp, { force: true });
  } catch (err) {
    unregister();
    throw err;
  }
  return { file, remove: unregister };
}

function removeIfSameFile(file: string, ino: number, dev: number): boolean {
  try {
    const st = fs.lstatSync(file);
    if (st.ino !== ino || st.dev !== dev) return false;
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what a killed run left: its temporary file and its password.conf (when still the same
 * file). Call with the instance lock held. Returns what was done, for the log.
 */
export function removeLeftoverPasswordConf(stateDir: string, logger: Logger): string | undefined {
  const markerFile = path.join(stateDir, MARKER_NAME);
  let marker: Marker;
  try {
    marker = JSON.parse(fs.readFileSync(markerFile, 'utf8')) as Marker;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    logger.warn(`unreadable marker ${markerFile} removed (${(err as Error).message})`);
    fs.rmSync(markerFile, { force: true });
    return undefined;
  }
  const removed = removeIfSameFile(marker.file, marker.ino, marker.dev);
  fs.rmSync(marker.tmp, { force: true });
  fs.rmSync(markerFile, { force: true });
  const what = removed
    ? `removed ${marker.file} left behind by an interrupted run (pid ${marker.pid}, ${marker.created})`
    : `an interrupted run (pid ${marker.pid}) had restored ${marker.file}; it is gone or was replaced since, left as is`;
  logger.warn(what);
  return what;
}
