/**
 * A real NSS database (cert9.db, key4.db) made by certutil and pk12util, as pkispawn makes the
 * instance's /etc/pki/<instance>/alias: the subsystem certificate and its key under a nickname,
 * with a token password or none.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../harness/exec';
import type { ServerCertificate } from '../harness/tls-certificates';

export interface NssDatabaseOptions {
  nickname: string;
  cert: ServerCertificate;
  /** The internal token's password; undefined: a database without one (certutil --empty-password). */
  tokenPassword?: string;
}

export async function createNssDatabase(dir: string, o: NssDatabaseOptions): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o770 });
  const work = fs.mkdtempSync(path.join(path.dirname(dir), '.nss-import-'));
  try {
    const files = { token: `${work}/token.pw`, p12pw: `${work}/p12.pw`, cert: `${work}/c.pem`, key: `${work}/k.pem`, ca: `${work}/ca.pem`, p12: `${work}/c.p12` };
    fs.writeFileSync(files.token, `${o.tokenPassword ?? ''}\n`, { mode: 0o600 });
    fs.writeFileSync(files.p12pw, randomBytes(8).toString('hex'), { mode: 0o600 });
    fs.writeFileSync(files.cert, o.cert.certificatePem);
    fs.writeFileSync(files.key, o.cert.privateKeyPem, { mode: 0o600 });
    fs.writeFileSync(files.ca, o.cert.caPem);
    await run('certutil', ['-N', '-d', `sql:${dir}`, ...(o.tokenPassword === undefined ? ['--empty-password'] : ['-f', files.token])]);
    await run('certutil', ['-A', '-d', `sql:${dir}`, '-n', 'CA Signing Certificate', '-t', 'CT,C,C', '-a', '-i', files.ca, '-f', files.token]);
    await run('openssl', ['pkcs12', '-export', '-in', files.cert, '-inkey', files.key, '-name', o.nickname, '-passout', `file:${files.p12pw}`, '-out', files.p12]);
    await run('pk12util', ['-i', files.p12, '-d', `sql:${dir}`, '-k', files.token, '-w', files.p12pw]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Name, size (or link), mtime and owner of each file of the folder: what a run must leave as it found it. */
export function folderState(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => {
      const st = fs.lstatSync(path.join(dir, name));
      return `${name} ${st.isSymbolicLink() ? 'link' : st.size} ${st.mtimeMs} ${st.uid}`;
    });
}
