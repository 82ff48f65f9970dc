/**
 * Opens a file for appending, as root, in a folder another user may own (the PKI user's
 * /var/log/pki/<instance>, mode 0770), without ever writing through something that user planted:
 *  - every folder above the file's own folder must be trusted (file-trust.ts), so nobody but root
 *    can swap the file's folder for a link while the tool works in it; a missing folder is created
 *    only inside a trusted one;
 *  - the file is opened O_NOFOLLOW (a symbolic link fails, also one swapped in at the last moment);
 *  - the opened file must be a regular file with one link (no hard link to another file) owned by
 *    root (or the tool's uid).
 * The caller writes to the returned descriptor and never opens the path again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UnsafePathError } from '../core/errors';
import { isTrustedFolder, selfUid } from './file-trust';

const MAX_LINKS_FOLLOWED = 8;

/**
 * Returns the real path of `dir` after checking it as described above, creating what is missing
 * (`create`). `ownFolder`: the last folder may be another user's (the log's own folder); without
 * it every folder must be root's, as for a file whose very name only root may decide.
 */
export function prepareFolder(dir: string, mode: number, options: { create: boolean; ownFolder: boolean } = { create: true, ownFolder: true }, depth = 0): string {
  if (depth > MAX_LINKS_FOLLOWED) throw new UnsafePathError(`too many symbolic links in ${dir}`);
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current = '/';
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const parent = fs.lstatSync(current);
    const next = path.join(current, parts[i]);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(next);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !options.create) throw err;
    }
    if (!st) {
      if (!isTrustedFolder(parent)) throw new UnsafePathError(`${next} does not exist and ${current} is not root's alone: not created`);
      try {
        fs.mkdirSync(next, { mode });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      st = fs.lstatSync(next);
    }
    if (st.isSymbolicLink()) {
      if (!isTrustedFolder(parent)) throw new UnsafePathError(`${next} is a symbolic link in ${current}, which is not root's alone`);
      current = prepareFolder(fs.realpathSync(next), mode, { ...options, ownFolder: options.ownFolder && last }, depth + 1);
    } else if (st.isDirectory()) {
      current = next;
    } else {
      throw new UnsafePathError(`${next} is not a folder`);
    }
    if ((!last || !options.ownFolder) && !isTrustedFolder(fs.lstatSync(current))) {
      throw new UnsafePathError(`${current} may be changed by uid ${fs.lstatSync(current).uid}, not by root alone`);
    }
  }
  return current;
}

/**
 * Why root alone did not decide what is at `file`'s path (a folder on the way another user may
 * change, who could rename a root-owned file there), or undefined when it did.
 */
export function untrustedFolderOf(file: string): string | undefined {
  try {
    prepareFolder(path.dirname(path.resolve(file)), 0o755, { create: false, ownFolder: false });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The descriptor of `file`, opened for appending as described above (mode applies to a new file). */
export function openForAppend(file: string, mode: number): number {
  const dir = prepareFolder(path.dirname(path.resolve(file)), 0o750);
  const target = path.join(dir, path.basename(file));
  const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
  let fd: number;
  let created = true;
  try {
    fd = fs.openSync(target, flags | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    created = false;
    fd = fs.openSync(target, flags);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new UnsafePathError(`${target} is not a regular file`);
    if (st.nlink !== 1) throw new UnsafePathError(`${target} has ${st.nlink} hard links`);
    if (st.uid !== 0 && st.uid !== selfUid()) throw new UnsafePathError(`${target} belongs to uid ${st.uid}, not root`);
    // A new file gets exactly `mode` whatever the umask; an existing one keeps what the admin chose.
    if (created) fs.fchmodSync(fd, mode);
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}
