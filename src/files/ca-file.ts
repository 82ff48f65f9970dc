/**
 * The CA file trusted for LDAPS and StartTLS (ca_file in db-upgrade.conf, --ca-file): PEM
 * certificates, checked when read, since node takes any text as `ca` without a word and a file
 * with no certificate would show up later as "certificate not trusted".
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { readErrorHint, readErrorReason } from './read-error';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The file's bytes, for tls `ca`; `setting` names where it was given ("ca_file in FILE", "--ca-file"). */
export function readCaFile(file: string, setting: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read the CA file ${file} (${readErrorReason(err)})`, readErrorHint(err, file, `fix ${setting}`));
  }
  const blocks = bytes.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  const parses = (block: string) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  };
  if (blocks.length === 0 || !blocks.every(parses)) {
    throw new ConfigError(
      `the CA file ${file} ${blocks.length === 0 ? 'holds no PEM certificate' : 'holds a PEM block that is not a certificate'}`,
      `give ${setting} the CA certificate in PEM form (-----BEGIN CERTIFICATE-----; certutil -L -d /etc/dirsrv/slapd-NAME -n NICKNAME -a prints it)`,
    );
  }
  return bytes;
}
