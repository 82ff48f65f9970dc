/** A file holding just the bind password (--password-file): first line, without its newline. */
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { readErrorReason } from '../files/read-error';

export function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot read the password file ${file} (${readErrorReason(err)})`,
      code === 'EACCES' ? 'run as root or as the PKI user' : 'check the path given to --password-file',
    );
  }
  const password = text.split(/\r?\n/)[0];
  if (!password) throw new ConfigError(`the password file ${file} is empty`, 'put the bind password on its first line');
  return password;
}
