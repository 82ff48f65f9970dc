/**
 * The client certificate of SslClientAuth (internaldb.ldapauth.authtype=SslClientAuth, FreeIPA's
 * default): the instance's subsystem certificate and its key, which 389 DS maps (certmap.conf) to
 * the entry the tool is bound as after a SASL EXTERNAL bind over TLS. Two sources, first found wins:
 *   1. client_cert_file + client_key_file (PEM) in root's own configuration
 *      (/etc/pki-db-upgrade/<instance>.conf): the administrator's explicit choice;
 *   2. the instance's NSS database, /etc/pki/<instance>/alias, the certificate CS.cfg names
 *      (internaldb.ldapauth.clientCertNickname), its token password from password.conf internal=
 *      or the password sources (keyring <instance>/internal, password_file, the prompt).
 *
 * The NSS database is the PKI user's: it owns /etc/pki/<instance> and can put anything in alias/
 * (docs/threat-model.md, "The instance's NSS database"). So the tool never lets NSS open that
 * folder as root. It copies cert9.db and key4.db, read through the opened folder without following
 * a link, into a folder of its own (mkdtemp, 0700, root's), where NSS finds no pkcs11.txt but the
 * one it makes itself: a pkcs11.txt of the PKI user's could name any shared library for NSS to load
 * into a root process. There certutil reads the certificate and pk12util exports it with its key
 * under a random passphrase; the export is read into memory and the folder removed at once.
 */
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ClientCertificateError, ConfigError } from '../core/errors';
import { checkInstanceFile, openFolderNoFollow, readBytesNoFollow, readRootOnlyFile, type Owner } from '../files/file-trust';
import { readErrorReason } from '../files/read-error';
import { oneLineName } from '../ldap/certificate-trust';
import { onProcessExit } from '../process/shutdown';

/** The password.conf key (and keyring tag suffix) of the internal token's password, as Dogtag names it. */
export const INTERNAL_TOKEN_KEY = 'internal';

/** NSS's names of the internal token (a nickname "internal:NICK" is NICK on it). */
const INTERNAL_TOKENS = ['internal', 'internal key storage token', 'nss certificate db', 'nss fips 140-2 certificate db'];

/** The two files of an SQL NSS database (cert9.db: certificates and trust, key4.db: keys). */
const NSS_FILES = ['cert9.db', 'key4.db'] as const;

/** No real NSS database comes near this; a larger file is refused, not copied. */
const MAX_NSS_FILE_BYTES = 64 * 1024 * 1024;

const NSS_TOOL_TIMEOUT_MS = 30_000;

/** A key and certificate for the TLS handshake, in memory only. */
export interface ClientCertificate {
  /** tls options that present it: pfx + passphrase, or cert + key. */
  tlsOptions: Pick<tls.SecureContextOptions, 'pfx' | 'passphrase' | 'cert' | 'key'>;
  certificate: X509Certificate;
  /** Where it came from, for the log and the messages: "NICK in the NSS database DIR", a file. */
  source: string;
}

/** Where the instance's NSS database may be, and where it is read. */
export interface NssDatabaseLocation {
  /** /etc/pki/<instance>/alias (below the tool's root): the only folder read. */
  dir: string;
  /** The names that mean that folder in CS.cfg's jss.configDir (pkispawn links /var/lib/pki/<instance>/alias to it). */
  names: string[];
}

/** The token password, asked only when the NSS database turns out to need one. */
export interface TokenPassword {
  get(): Promise<string>;
  /** Where it came from (never the password), once read. */
  source(): string | undefined;
}

export interface NssSource {
  location: NssDatabaseLocation;
  /** jss.configDir of CS.cfg, when it says; the CS.cfg file for the messages. */
  configured?: string;
  csFile: string;
  nickname: string;
  /** The PKI user (owner of /etc/pki/<instance>): the files must be its or root's. */
  owner: Owner;
  tokenPassword: TokenPassword;
  /** For tests: the folder the copies go to is made in here (default: os.tmpdir()). */
  tmpParent?: string;
}

/** client_cert_file and client_key_file of root's configuration. */
export interface PemSource {
  certFile: string;
  keyFile: string;
  /** Where they are set, for the hints. */
  setting: string;
}

/** The NSS database CS.cfg names, if it is the instance's own; anything else is refused. */
export function checkNssDatabaseDir(source: Pick<NssSource, 'location' | 'configured' | 'csFile'>): string {
  const { location, configured } = source;
  if (configured === undefined) return location.dir;
  const named = path.resolve(configured.replace(/^sql:/, ''));
  if (location.names.includes(named)) return location.dir;
  throw new ClientCertificateError(
    `${source.csFile}: jss.configDir ${JSON.stringify(configured)} is not the instance's NSS database (${location.names.join(' or ')}); the client certificate is read only from ${location.dir}`,
    `keep the subsystem certificate in ${location.dir} (where pkispawn puts it), or name a certificate and key in client_cert_file and client_key_file of root's own configuration`,
  );
}

/** The nickname without its token; a certificate on another token (an HSM) cannot be exported. */
export function internalNickname(nickname: string, csFile: string): string {
  const colon = nickname.indexOf(':');
  if (colon < 0) return nickname;
  const token = nickname.slice(0, colon);
  if (INTERNAL_TOKENS.includes(token.trim().toLowerCase())) return nickname.slice(colon + 1);
  throw new ClientCertificateError(
    `${csFile}: the client certificate "${nickname}" is on the token "${token}" (an HSM): its key cannot be exported for this tool`,
    'run pki-db-upgrade as root on the database\'s host (LDAPI needs no certificate), or name a certificate and key in client_cert_file and client_key_file of root\'s own configuration',
  );
}

/** The certificate and key named in root's configuration (PEM), each root's alone; the key unreadable by others. */
export function readPemClientCertificate(source: PemSource): ClientCertificate {
  const cert = readRootOnlyFile(source.certFile, { what: 'the client certificate', key: 'client_cert_file', in: source.setting, secret: false });
  const key = readRootOnlyFile(source.keyFile, { what: 'the client key', key: 'client_key_file', in: source.setting, secret: true });
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    throw new ClientCertificateError(
      `the client certificate ${source.certFile} holds no certificate (${(err as Error).message})`,
      `give client_cert_file the certificate and client_key_file its unencrypted private key, both PEM, in ${source.setting}`,
    );
  }
  return { tlsOptions: { cert, key }, certificate, source: `${source.certFile} (client_cert_file in ${source.setting})` };
}

/** The certificate and key of the NSS database, exported from a copy of it (see the top of this file). */
export async function readNssClientCertificate(source: NssSource): Promise<ClientCertificate> {
  const dir = checkNssDatabaseDir(source);
  const nickname = internalNickname(source.nickname, source.csFile);
  const work = fs.mkdtempSync(path.join(source.tmpParent ?? os.tmpdir(), 'pki-db-upgrade-nss-'));
  const remove = onProcessExit(() => fs.rmSync(work, { recursive: true, force: true }));
  try {
    const db = path.join(work, 'db');
    fs.mkdirSync(db, { mode: 0o700 });
    copyNssDatabase(dir, db, source.owner);
    const where = `"${nickname}" in the NSS database ${dir}`;
    const certificate = await readCertificate(db, nickname, where, dir);
    checkValidity(certificate, where);
    const passphrase = randomBytes(24).toString('hex');
    writeSecret(path.join(work, 'p12.pw'), passphrase);
    // First without a password: an NSS database may have none, and then no source is asked.
    let attempt = await exportKey(work, db, nickname, '');
    let password: string | undefined;
    if (attempt.badPassword) {
      password = await source.tokenPassword.get();
      attempt = await exportKey(work, db, nickname, password);
    }
    if (attempt.badPassword) {
      throw new ClientCertificateError(
        `the NSS database ${dir} did not accept the token password from ${source.tokenPassword.source() ?? 'its source'}`,
        `correct the "${INTERNAL_TOKEN_KEY}=" password there (the NSS database's, as Tomcat reads it), then run pki-db-upgrade again`,
      );
    }
    if (!attempt.pfx) {
      throw new ClientCertificateError(
        `cannot export the key of ${where} (pk12util: ${attempt.error})`,
        `check that the key is in that database (certutil -K -d ${dir}) and not on an HSM`,
      );
    }
    return { tlsOptions: { pfx: attempt.pfx, passphrase }, certificate, source: `${where}${password !== undefined ? `, its token password from ${source.tokenPassword.source() ?? 'a password source'}` : ''}` };
  } finally {
    remove();
  }
}

/**
 * The TLS context that presents the certificate and trusts `ca` (or node's CAs), made once for a
 * run's connections: opening the PKCS#12 export costs half a second (PBKDF2), and the bulk writer
 * opens several connections.
 */
export function clientTlsContext(cert: ClientCertificate, ca?: Buffer): tls.SecureContext {
  try {
    return tls.createSecureContext({ ...cert.tlsOptions, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new ClientCertificateError(
      `the client certificate ${oneLineName(cert.certificate.subject)} from ${cert.source} cannot be used for TLS (${(err as Error).message})`,
      'check that the key is the certificate\'s own and, for PEM files, not encrypted',
    );
  }
}

/**
 * cert9.db and key4.db into `into`, read through the opened folder: never through a link (alias
 * itself or a file in it), only regular files of root or the PKI user, none writable by others.
 */
function copyNssDatabase(dir: string, into: string, owner: Owner): void {
  let folder;
  try {
    folder = openFolderNoFollow(dir);
  } catch (err) {
    throw nssReadError(dir, err, 'the folder');
  }
  try {
    checkInstanceFile(dir, folder.stat, owner);
    for (const name of NSS_FILES) {
      const file = path.join(dir, name);
      let read;
      try {
        read = readBytesNoFollow(folder.entry(name), { maxBytes: MAX_NSS_FILE_BYTES });
      } catch (err) {
        throw nssReadError(file, err, name);
      }
      checkInstanceFile(file, read.stat, owner);
      writeSecret(path.join(into, name), read.bytes);
    }
  } finally {
    folder.close();
  }
}

function nssReadError(file: string, err: unknown, what: string): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ELOOP'
      ? 'it is a symbolic link, which is not followed'
      : code === 'ENOTDIR'
        ? 'it is not a folder'
        : code === 'ENOTREG'
          ? 'not a regular file'
          : code === 'EFBIG'
            ? `larger than ${MAX_NSS_FILE_BYTES / 1024 / 1024} MiB`
            : code === 'ENOENT'
              ? what === 'cert9.db'
                ? 'it does not exist: not an SQL NSS database (cert9.db, key4.db)'
                : 'it does not exist'
              : readErrorReason(err);
  return new ClientCertificateError(
    `cannot read the client certificate's NSS database: ${file}: ${why}`,
    code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOTREG'
      ? `put the NSS database itself in ${path.dirname(file)} (no links), or name a certificate and key in client_cert_file and client_key_file of root's own configuration`
      : 'check the NSS database of the instance (certutil -L -d /etc/pki/<instance>/alias)',
  );
}

/** The certificate (public: no password), which also says whether the nickname exists. */
async function readCertificate(db: string, nickname: string, where: string, dir: string): Promise<X509Certificate> {
  const r = await nssTool('certutil', ['-L', '-d', `sql:${db}`, '-n', nickname, '-a']);
  const pem = r.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0];
  if (r.code !== 0 || !pem) {
    throw new ClientCertificateError(
      `there is no certificate ${where} (certutil: ${lastLine(r.stderr) || `exit ${r.code}`})`,
      `set internaldb.ldapauth.clientCertNickname in CS.cfg to one of the nicknames certutil -L -d ${dir} lists`,
    );
  }
  return new X509Certificate(pem);
}

function checkValidity(certificate: X509Certificate, where: string, now = new Date()): void {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (to < now) {
    throw new ClientCertificateError(`the client certificate ${where} has expired: it was valid until ${to.toISOString()}`, 'renew the subsystem certificate (pki-server cert-fix, or certmonger on FreeIPA), then run pki-db-upgrade again');
  }
  if (from > now) {
    throw new ClientCertificateError(`the client certificate ${where} is not valid yet: it is valid from ${from.toISOString()}`, 'check the clock of this host, then run pki-db-upgrade again');
  }
}

async function exportKey(work: string, db: string, nickname: string, password: string): Promise<{ pfx?: Buffer; badPassword: boolean; error?: string }> {
  const out = path.join(work, 'key.p12');
  const tokenFile = path.join(work, 'token.pw');
  fs.rmSync(out, { force: true });
  writeSecret(tokenFile, password);
  try {
    const r = await nssTool('pk12util', ['-o', out, '-n', nickname, '-d', `sql:${db}`, '-k', tokenFile, '-w', path.join(work, 'p12.pw')]);
    if (r.code === 0) return { pfx: fs.readFileSync(out), badPassword: false };
    return { badPassword: /SEC_ERROR_BAD_PASSWORD|password file contains no data/.test(r.stderr), error: lastLine(r.stderr) || `exit ${r.code}` };
  } finally {
    fs.rmSync(tokenFile, { force: true });
    fs.rmSync(out, { force: true });
  }
}

/**
 * certutil or pk12util, in a session of its own (no terminal to prompt on: a missing password is a
 * failure, never a wait), with a clean environment and a time limit.
 */
function nssTool(tool: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, NSS_TOOL_TIMEOUT_MS);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new ClientCertificateError(`${tool} is not installed: it reads the client certificate from the NSS database`, 'install the NSS tools (nss-tools on Fedora and RHEL, libnss3-tools on Debian)')
          : e,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new ClientCertificateError(`${tool} did not finish within ${NSS_TOOL_TIMEOUT_MS / 1000} s reading the NSS database`, 'run it by hand to see why, then run pki-db-upgrade again'));
        return;
      }
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

function writeSecret(file: string, data: string | Buffer): void {
  fs.writeFileSync(file, data, { mode: 0o600, flag: 'wx' });
}

function lastLine(text: string): string {
  return text.trim().split(/\r?\n/).filter(Boolean).pop()?.trim() ?? '';
}

/** The client certificate of one instance, by the order at the top of this file. */
export function instanceClientCertificate(o: {
  pem?: { certFile?: string; keyFile?: string; setting: string };
  nss: Omit<NssSource, 'nickname'>;
  nickname: string;
}): Promise<ClientCertificate> {
  const { pem } = o;
  if (pem && (pem.certFile || pem.keyFile)) {
    if (!pem.certFile || !pem.keyFile) {
      return Promise.reject(
        new ClientCertificateError(`${pem.setting} sets ${pem.certFile ? 'client_cert_file' : 'client_key_file'} without ${pem.certFile ? 'client_key_file' : 'client_cert_file'}`, 'set both (the certificate and its key), or neither to use the NSS database'),
      );
    }
    return Promise.resolve(readPemClientCertificate({ certFile: pem.certFile, keyFile: pem.keyFile, setting: pem.setting }));
  }
  return readNssClientCertificate({ ...o.nss, nickname: o.nickname });
}
