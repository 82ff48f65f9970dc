/**
 * Who may have steered a file or folder the root-run tool reads or writes (docs/threat-model.md).
 * The PKI user owns /etc/pki/<instance> and /var/log/pki/<instance>: anything it can write, link
 * or replace there is read as data only, never as an instruction to root. Files are opened without
 * following links (O_NOFOLLOW) and judged on the opened descriptor, so a swap between a check and
 * the open cannot change what is read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { readErrorHint, readErrorReason } from './read-error';

export interface Owner {
  uid: number;
  gid: number;
}

/** The uid running the tool (root under rpm); a file it owns is as trusted as a root-owned one. */
export function selfUid(): number {
  return process.geteuid?.() ?? process.getuid?.() ?? 0;
}

const isPrivileged = (uid: number) => uid === 0 || uid === selfUid();

/** Owned by root (or the tool's own uid) and writable by no one else. */
export function isRootControlled(st: fs.Stats): boolean {
  return isPrivileged(st.uid) && (st.mode & 0o022) === 0;
}

/**
 * Does `owner` (the PKI user) certainly hold this file's contents already? Root holds everything;
 * otherwise only a file it owns counts (group or other bits do not: the folders above may bar it).
 */
export function readableBy(st: fs.Stats, owner: Owner): boolean {
  return owner.uid === 0 || st.uid === owner.uid;
}

/**
 * A folder nobody but root can change: owned by root (or the tool's uid) and not writable by group
 * or others, or a sticky folder owned by root (/tmp: others cannot rename or remove what root put there).
 */
export function isTrustedFolder(st: fs.Stats): boolean {
  if (!st.isDirectory() || !isPrivileged(st.uid)) return false;
  return (st.mode & 0o022) === 0 || (st.mode & 0o1000) !== 0;
}

export interface OpenedText {
  text: string;
  stat: fs.Stats;
}

/**
 * Reads a regular file without following a link at its last component. O_NONBLOCK: a FIFO planted
 * in its place must not hold the run; it is refused as "not a regular file" instead.
 */
export function readNoFollow(file: string, followLinks = false): OpenedText {
  const { bytes, stat } = readBytesNoFollow(file, { followLinks });
  return { text: bytes.toString('utf8'), stat };
}

/**
 * readNoFollow's bytes. `maxBytes`: a larger file is refused (EFBIG) before it is read, so a file
 * planted to fill root's memory or disk is not copied.
 */
export function readBytesNoFollow(file: string, options: { followLinks?: boolean; maxBytes?: number } = {}): { bytes: Buffer; stat: fs.Stats } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (options.followLinks ? 0 : fs.constants.O_NOFOLLOW));
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read`), { code: 'EISDIR' });
    if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    if (options.maxBytes !== undefined && stat.size > options.maxBytes) throw Object.assign(new Error(`larger than ${options.maxBytes} bytes`), { code: 'EFBIG' });
    return { bytes: fs.readFileSync(fd), stat };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A folder opened without following a link at its last component, and the files in it read
 * through the opened folder (/proc/self/fd/N/NAME is that folder itself, not its path walked
 * again): a folder renamed or a link planted after the check cannot redirect a read. Linux only,
 * as the tool is. The caller closes it.
 */
export interface OpenedFolder {
  stat: fs.Stats;
  /** The path to open NAME in this very folder (with readBytesNoFollow: no link at NAME either). */
  entry(name: string): string;
  close(): void;
}

export function openFolderNoFollow(dir: string): OpenedFolder {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    // Linux says ENOTDIR for a link with O_DIRECTORY|O_NOFOLLOW: say ELOOP, as for a file.
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR' && isLink(dir)) throw Object.assign(new Error(`ELOOP: ${dir} is a symbolic link`), { code: 'ELOOP' });
    throw err;
  }
  return { stat: fs.fstatSync(fd), entry: (name) => `/proc/self/fd/${fd}/${name}`, close: () => fs.closeSync(fd) };
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** readNoFollow, with the read errors of a configuration file as ConfigError (ELOOP: a link was planted). */
export function readConfigFile(file: string): OpenedText {
  try {
    return readNoFollow(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new ConfigError(`${file} is a symbolic link; it is not followed`, `replace the link with the file itself`);
    if (code === 'ENOTREG') throw new ConfigError(`cannot read ${file} (not a regular file)`, `replace it with a regular file`);
    throw new ConfigError(`cannot read ${file} (${readErrorReason(err)})`, readErrorHint(err, file, 'check the file and its permissions'), { cause: err });
  }
}

/**
 * The data files of an instance (CS.cfg, password.conf): owned by root or by the PKI user and not
 * writable by others (the real pkiuser 0660 is fine). Anything else was put there by someone else.
 */
export function checkInstanceFile(file: string, st: fs.Stats, owner: Owner): void {
  if (!isPrivileged(st.uid) && st.uid !== owner.uid) {
    throw new ConfigError(`${file} belongs to uid ${st.uid}, neither root nor the PKI user (uid ${owner.uid}, owner of ${path.dirname(file)})`, `chown ${owner.uid}:${owner.gid} ${file}`);
  }
  if ((st.mode & 0o002) !== 0) {
    throw new ConfigError(`${file} is writable by everyone (mode ${modeText(st)})`, `chmod o-w ${file}`);
  }
}

/** Which file of root's configuration, for the messages: "the password file", password_file, db-upgrade.conf. */
export interface RootFileSetting {
  what: string;
  key: string;
  /** The configuration file that names it. */
  in: string;
  /** A secret: unreadable by group and others too (else: not writable by them). */
  secret: boolean;
}

/**
 * A file root named in its own configuration (password_file, client_cert_file, client_key_file):
 * it must belong to root (or to the user running the tool) and not be writable, or when it holds a
 * secret not even readable, by group and others; otherwise it is refused. Judged on the opened
 * file, so a swap after a check cannot change what is read; a link root made is followed.
 */
export function readRootOnlyFile(file: string, setting: RootFileSetting): Buffer {
  let read: { bytes: Buffer; stat: fs.Stats };
  try {
    read = readBytesNoFollow(file, { followLinks: true });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOTREG' ? 'not a regular file' : readErrorReason(err);
    throw new ConfigError(`cannot read ${setting.what} ${file} named in ${setting.in} (${reason})`, `fix ${setting.key} in ${setting.in}`);
  }
  const st = read.stat;
  if (!isPrivileged(st.uid)) throw new ConfigError(`${setting.what} ${file} belongs to uid ${st.uid}, not root`, `chown root: ${file}`);
  if ((st.mode & (setting.secret ? 0o077 : 0o022)) !== 0) {
    throw new ConfigError(
      `${setting.what} ${file} is ${setting.secret ? 'accessible' : 'writable'} by group or others (mode ${modeText(st)})`,
      `chmod ${setting.secret ? '600' : 'go-w'} ${file}`,
    );
  }
  return read.bytes;
}

export function modeText(st: fs.Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}
