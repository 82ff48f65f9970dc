/**
 * password.conf of a PKI instance: read when it exists (never modified), restored temporarily when
 * it does not (nuxwdog, FreeIPA), and removed again on every exit path.
 *
 * Restoring: the file is written under a temporary name opened O_CREAT|O_EXCL with mode 0600 and
 * handed to the PKI user before a single password byte is written, then hard-linked into place
 * (link fails when a password.conf appeared meanwhile: that one is left alone) and the temporary
 * name is removed. It is never readable by anyone else, not for an instant.
 *
 * Marker: before the file appears under its real name, its identity (device, inode, size and
 * mtime to the nanosecond) is written to a root-only marker in the tool's state folder. A run
 * killed by SIGKILL cannot clean up; the next run finds the marker and removes password.conf only
 * if it is still that very file, so a password.conf an administrator put back in the meantime is
 * never touched (even if it got the freed inode number). The temporary name carries the pid: one
 * left by a run killed before the marker was written is removed too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { makeDirs } from '../files/make-dirs';
import { checkInstanceFile, readConfigFile, type Owner } from '../files/file-trust';
import { parseProperties } from '../config/cs-cfg';
import type { Logger } from '../core/logger';
import { isAlive } from '../process/alive';
import { onProcessExit } from '../process/shutdown';

export const MARKER_NAME = 'password-conf.marker.json';
const TMP_INFIX = '.pki-db-upgrade.';

interface FileIdentity {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
}

interface Marker extends FileIdentity {
  file: string;
  tmp: string;
  pid: number;
  created: string;
}

export interface RestoredPasswordConf {
  file: string;
  /** Removes the file now (idempotent); also runs by itself at process exit or on a signal. */
  remove(): void;
}

/**
 * The password of `key` in an existing password.conf; undefined when the file or the key is
 * missing. Never read through a link, and only when root or the PKI user (`owner`) owns it: a
 * link planted there could otherwise make root read, and send, a secret of its choosing.
 */
export function readPasswordConf(file: string, key: string, owner: Owner): { exists: boolean; password?: string } {
  let text: string;
  try {
    const opened = readConfigFile(file);
    checkInstanceFile(file, opened.stat, owner);
    text = opened.text;
  } catch (err) {
    // Not restored over: a password.conf that exists but cannot be read is the administrator's.
    if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { exists: false };
    throw err;
  }
  const password = parseProperties(text).get(key);
  return { exists: true, password: password || undefined };
}

function tmpNameFor(file: string, pid: number): string {
  return path.join(path.dirname(file), `.${path.basename(file)}${TMP_INFIX}${pid}`);
}

function identityOf(st: fs.BigIntStats): FileIdentity {
  return { dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs) };
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
  const tmp = tmpNameFor(file, process.pid);
  const markerFile = path.join(stateDir, MARKER_NAME);
  makeDirs(stateDir, 0o700);
  fs.rmSync(tmp, { force: true });

  let identity: FileIdentity | undefined;
  let linked = false;
  const cleanup = () => {
    if (linked && identity) removeIfSameFile(file, identity);
    fs.rmSync(tmp, { force: true });
    fs.rmSync(markerFile, { force: true });
  };
  const unregister = onProcessExit(cleanup);
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      fs.fchmodSync(fd, 0o600); // the umask can only narrow the mode; make it exact
      if (process.getuid?.() === 0) fs.fchownSync(fd, owner.uid, owner.gid);
      fs.writeSync(fd, `${key}=${password}\n`);
      fs.fsyncSync(fd);
      identity = identityOf(fs.fstatSync(fd, { bigint: true }));
    } finally {
      fs.closeSync(fd);
    }
    const marker: Marker = { file, tmp, pid: process.pid, created: new Date().toISOString(), ...identity };
    fs.writeFileSync(markerFile, JSON.stringify(marker) + '\n', { mode: 0o600 });
    try {
      fs.linkSync(tmp, file); // unlike rename, never replaces an existing password.conf
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

function removeIfSameFile(file: string, expected: FileIdentity): boolean {
  try {
    const actual = identityOf(fs.lstatSync(file, { bigint: true }));
    if (actual.dev !== expected.dev || actual.ino !== expected.ino || actual.size !== expected.size || actual.mtimeNs !== expected.mtimeNs) {
      return false;
    }
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what a killed run left: its password.conf (only when still the very file it wrote) and
 * temporary files of dead runs. Call with the instance lock held. Returns what was done, for the log.
 */
export function removeLeftoverPasswordConf(stateDir: string, passwordConf: string, logger: Logger): string[] {
  const done: string[] = [];
  const dir = path.dirname(passwordConf);
  const prefix = `.${path.basename(passwordConf)}${TMP_INFIX}`;
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    /* no instance folder: nothing left */
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (pid === process.pid || (Number.isInteger(pid) && isAlive(pid))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    done.push(`removed ${path.join(dir, name)} left by an interrupted run`);
  }

  const markerFile = path.join(stateDir, MARKER_NAME);
  let marker: Marker | undefined;
  try {
    marker = JSON.parse(fs.readFileSync(markerFile, 'utf8')) as Marker;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      done.push(`unreadable marker ${markerFile} removed (${(err as Error).message})`);
      fs.rmSync(markerFile, { force: true });
    }
  }
  if (marker) {
    const removed = removeIfSameFile(marker.file, marker);
    fs.rmSync(markerFile, { force: true });
    done.push(
      removed
        ? `removed ${marker.file} left behind by an interrupted run (pid ${marker.pid}, ${marker.created})`
        : `an interrupted run (pid ${marker.pid}) had restored ${marker.file}; it is gone or was replaced since: left as is`,
    );
  }
  for (const line of done) logger.warn(line);
  return done;
}
