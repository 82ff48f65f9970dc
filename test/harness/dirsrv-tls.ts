/**
 * 389 DS's own TLS for a harness instance: the server's key and certificate, and the CA that issued
 * them, in the instance's NSS database; LDAPS on its secure port and StartTLS on its LDAP port.
 *
 * dscreate already made what 389 DS reads at start-up (test/harness/README.md, "TLS"): the NSS
 * database in the config folder with its password in pwdfile.txt (and pin.txt for the server),
 * and cn=RSA,cn=encryption,cn=config naming the certificate "Server-Cert" (nsSSLPersonalitySSL) in
 * the internal token. So TLS needs the two certificates imported (certutil, pk12util) and
 * nsslapd-security turned on in cn=config, while the server is stopped: it reads all of it at start.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createInstance, INSTANCE_FILE, isRunning, setDseAttribute, startInstance, stopInstance, type CreateOptions, type DsInstance } from './dirsrv';
import { run } from './exec';
import type { ServerCertificate } from './tls-certificates';

/** The nickname cn=RSA,cn=encryption,cn=config names (dscreate's default). */
export const SERVER_CERT_NICKNAME = 'Server-Cert';
export const CA_NICKNAME = 'pki-db-upgrade test CA';

/** createInstance, with TLS on from the first start (certificate `cert`). */
export async function createTlsInstance(opts: CreateOptions, cert: ServerCertificate): Promise<DsInstance> {
  const ds = await enableTls(await createInstance({ ...opts, start: false }), cert);
  if (opts.start !== false) await startInstance(ds);
  return ds;
}

/**
 * Turns TLS on for a stopped instance: imports `cert` and its CA, then sets in cn=config
 * nsslapd-security on, the secure port's listen address (the instance's loopback address: 389 DS
 * would otherwise listen for LDAPS on every interface), and nsslapd-validate-cert warn. Writes the
 * CA's PEM to <root>/tls/ca.pem (what tests give the tool) and records both in ds.tls.
 */
export async function enableTls(ds: DsInstance, cert: ServerCertificate): Promise<DsInstance> {
  if (await isRunning(ds)) throw new Error(`enableTls: instance ${ds.name} is running; create it with start: false`);
  await importCertificates(ds, cert);
  const dse = `${ds.configDir}/dse.ldif`;
  let text = await fsp.readFile(dse, 'utf8');
  text = setDseAttribute(text, 'cn=config', 'nsslapd-security', 'on').ldif;
  text = setDseAttribute(text, 'cn=config', 'nsslapd-securelistenhost', ds.host).ldif;
  text = setDseAttribute(text, 'cn=config', 'nsslapd-secureport', String(ds.securePort)).ldif;
  // 389 DS's default, written out: with "on" a server whose certificate has expired starts without
  // TLS, and the expired-certificate test needs one that serves it (as one does that ran while
  // its certificate expired).
  text = setDseAttribute(text, 'cn=config', 'nsslapd-validate-cert', 'warn').ldif;
  await fsp.writeFile(dse, text);

  const tlsDir = path.join(ds.root, 'tls');
  await fsp.mkdir(tlsDir, { recursive: true, mode: 0o755 });
  const caFile = path.join(tlsDir, 'ca.pem');
  await fsp.writeFile(caFile, cert.caPem, { mode: 0o644 });
  ds.tls = { caFile, ldapsUrl: `ldaps://${ds.host}:${ds.securePort}`, startTlsUrl: `ldap+starttls://${ds.host}:${ds.port}` };
  await fsp.writeFile(path.join(ds.root, INSTANCE_FILE), JSON.stringify(ds, null, 2) + '\n');
  return ds;
}

/**
 * Gives a TLS instance another server certificate (of the same CA or another): stops it, replaces
 * the key and certificate in its NSS database, starts it again (389 DS loads them only at start).
 */
export async function replaceServerCertificate(ds: DsInstance, cert: ServerCertificate): Promise<void> {
  if (!ds.tls) throw new Error(`replaceServerCertificate: instance ${ds.name} has no TLS (enableTls first)`);
  await stopInstance(ds);
  // -F deletes the certificate and its private key; -D the CA's certificate (maybe another CA's).
  await certutil(ds, ['-F', '-n', SERVER_CERT_NICKNAME]);
  await certutil(ds, ['-D', '-n', CA_NICKNAME]);
  await importCertificates(ds, cert);
  await fsp.writeFile(ds.tls.caFile, cert.caPem, { mode: 0o644 });
  await startInstance(ds);
}

/** The CA (trusted to issue server certificates: CT,,) and the server's key and certificate. */
async function importCertificates(ds: DsInstance, cert: ServerCertificate): Promise<void> {
  const work = await fsp.mkdtemp(path.join(ds.root, 'tls-import-'));
  try {
    const files = { ca: `${work}/ca.pem`, cert: `${work}/server.pem`, key: `${work}/server.key`, p12: `${work}/server.p12`, pass: `${work}/p12.pass` };
    await fsp.writeFile(files.ca, cert.caPem);
    await fsp.writeFile(files.cert, cert.certificatePem);
    await fsp.writeFile(files.key, cert.privateKeyPem, { mode: 0o600 });
    await fsp.writeFile(files.pass, randomBytes(12).toString('hex'), { mode: 0o600 });
    await certutil(ds, ['-A', '-n', CA_NICKNAME, '-t', 'CT,,', '-a', '-i', files.ca]);
    // NSS imports a private key only inside a PKCS#12 file.
    await run('openssl', ['pkcs12', '-export', '-in', files.cert, '-inkey', files.key, '-name', SERVER_CERT_NICKNAME, '-passout', `file:${files.pass}`, '-out', files.p12]);
    await run('pk12util', ['-i', files.p12, '-d', ds.configDir, '-k', pwdFile(ds), '-w', files.pass]);
  } catch (err) {
    throw new Error(`cannot put the TLS certificates into the NSS database of instance ${ds.name} (${ds.configDir}): ${(err as Error).message}`);
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
  // certutil and pk12util (run as root) rewrite the databases in place, which keeps their owner;
  // hand them back to the server's user anyway, so that a start never finds one it cannot read.
  const { uid, gid } = await fsp.stat(`${ds.configDir}/dse.ldif`);
  for (const file of ['cert9.db', 'key4.db', 'pkcs11.txt']) await fsp.chown(`${ds.configDir}/${file}`, uid, gid);
}

/** The NSS database password dscreate wrote (pwdfile.txt), for certutil -f and pk12util -k. */
function pwdFile(ds: DsInstance): string {
  return `${ds.configDir}/pwdfile.txt`;
}

async function certutil(ds: DsInstance, args: string[]): Promise<void> {
  await run('certutil', [...args, '-d', ds.configDir, '-f', pwdFile(ds)]);
}
