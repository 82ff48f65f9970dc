/**
 * SslClientAuth against 389 DS's own TLS: the instance's subsystem certificate, in a real NSS
 * database that certutil and pk12util made in /etc/pki/<instance>/alias, presented in the TLS
 * handshake (LDAPS or StartTLS), and a SASL EXTERNAL bind that 389 DS maps by its certmap.conf to
 * the PKI database user, as Dogtag and FreeIPA set it up (uid=pkidbuser,ou=people,<base DN> with
 * seeAlso: <subject> and userCertificate; CmapLdapAttr seeAlso, verifycert on).
 *
 * Then what must fail, each with its own words and exit 2: a certificate 389 DS maps to no entry,
 * one whose CA 389 DS does not trust, a wrong token password, an expired certificate; and what the
 * PKI user (owner of /etc/pki/<instance>, uid 65534 here) could plant to steer root: a jss.configDir
 * naming another NSS database, alias or its files as links to root's own NSS database, and a
 * pkcs11.txt naming a shared library for NSS to load into root's process.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { createBackend, removeInstance, setDseAttribute, startInstance, stopInstance, type DsInstance } from './harness/dirsrv';
import { DistinguishedName } from './harness/certificates';
import { run } from './harness/exec';
import { loadPkiDatabase } from './harness/pki-database';
import { ownInstance, uniqueSuffix, withLdap } from './harness/test-env';
import { TlsTestCa, type ServerCertificate } from './harness/tls-certificates';
import { MAIN_BUNDLE, runCli } from './support/bundle';
import { createFakePki, removeFakePkis, type CsCfgOptions, type FakePki } from './support/fake-pki';
import { createNssDatabase, folderState } from './support/nss-database';
import { tempDir } from './support/temp-dir';

const PKI_USER = { uid: 65534, gid: 65534 };
const TOKEN_PASSWORD = 'Token.Secret.123';
const DAY_MS = 86_400_000;
const dir = tempDir('pkidbu-certauth-');
const ca = new TlsTestCa('pki-db-upgrade test CA of client-certificate');
let ds: DsInstance;
let counter = 0;

afterAll(async () => {
  removeFakePkis();
  if (ds) await removeInstance(ds);
});

beforeAll(async () => {
  ds = await ownInstance('certauth', 36, { tls: ca.issueServer({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }) });
  // What Dogtag and FreeIPA configure (FreeIPA's certmap.conf "ipaca" mapping): a certificate of
  // this CA maps to the entry whose seeAlso is its subject, and must be that entry's
  // userCertificate. Client certificates allowed (389 DS's default, written out). Both are read
  // at start.
  await stopInstance(ds);
  fs.writeFileSync(
    path.join(ds.configDir, 'certmap.conf'),
    ['certmap default default', `certmap pki ${ca.name.ldapString()}`, 'pki:CmapLdapAttr seeAlso', 'pki:verifycert on', ''].join('\n'),
  );
  const dse = path.join(ds.configDir, 'dse.ldif');
  fs.writeFileSync(dse, setDseAttribute(fs.readFileSync(dse, 'utf8'), 'cn=encryption,cn=config', 'nsSSLClientAuth', 'allowed').ldif);
  await startInstance(ds);
});

interface Subsystem {
  pki: FakePki;
  suffix: string;
  cert: ServerCertificate;
  subject: string;
  nickname: string;
  alias: string;
  dbUser: string;
  rootConf: string;
}

/**
 * A database on `ds` with its PKI database user, the certificate mapped to it, and a fake instance
 * whose CS.cfg says SslClientAuth (secureConn as asked), its NSS database in alias/ with the token
 * password in password.conf (internal=). `mapped: false`: no entry has the certificate.
 */
async function subsystem(o: { load?: number; secure?: boolean; issuer?: TlsTestCa; mapped?: boolean; tokenPassword?: string | null; cs?: Partial<CsCfgOptions>; cert?: ServerCertificate } = {}): Promise<Subsystem> {
  counter += 1;
  const { suffix, backendName } = uniqueSuffix('certauth');
  // A CA database as pkispawn makes it (ou=people among its folders), or an empty suffix.
  if (o.load) await loadPkiDatabase(ds, { suffix, backendName, certificates: o.load });
  else await createBackend(ds, suffix, backendName);
  const subjectRdns: [string, string][] = [
    ['CN', `Subsystem Certificate ${counter}`],
    ['OU', backendName],
    ['O', 'pki-db-upgrade tests'],
  ];
  const cert = o.cert ?? (o.issuer ?? ca).issueClient({ subject: subjectRdns });
  const subject = new DistinguishedName(subjectRdns).ldapString();
  const dbUser = `uid=pkidbuser,ou=people,${suffix}`;
  await withLdap(ds, async (c) => {
    if (!o.load) await c.add(`ou=people,${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'people' });
    if (o.mapped !== false) {
      await c.add(dbUser, [
        new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'] }),
        new Attribute({ type: 'uid', values: ['pkidbuser'] }),
        new Attribute({ type: 'cn', values: ['pkidbuser'] }),
        new Attribute({ type: 'sn', values: ['pkidbuser'] }),
        new Attribute({ type: 'seeAlso', values: [subject] }),
        new Attribute({ type: 'userCertificate;binary', values: [cert.certificate.raw] }),
      ]);
    }
    // The rights the upgrade steps need (schema, indexes and tasks in cn=config, the suffix): on a
    // real host the administrator grants them to the entry the certificate maps to.
    const aci = (name: string) => `(targetattr="*")(version 3.0; acl "${name}"; allow (all) userdn="ldap:///${dbUser}";)`;
    for (const dn of [suffix, 'cn=config', 'cn=schema']) {
      await c.modify(dn, new Change({ operation: 'add', modification: new Attribute({ type: 'aci', values: [aci(`pki-db-upgrade test ${backendName} on ${dn}`)] }) }));
    }
  });
  const nickname = `subsystemCert cert-${backendName}`;
  const secure = o.secure ?? true;
  const pki = createFakePki({ host: '127.0.0.1', port: secure ? ds.securePort : ds.port, baseDN: suffix, secure, authType: 'SslClientAuth', clientCertNickname: nickname, ...o.cs });
  const alias = path.join(pki.instanceDir, 'alias');
  const tokenPassword = o.tokenPassword === null ? undefined : (o.tokenPassword ?? TOKEN_PASSWORD);
  await createNssDatabase(alias, { nickname, cert, tokenPassword });
  if (tokenPassword !== undefined) fs.writeFileSync(pki.passwordConf, `internal=${TOKEN_PASSWORD}\n`, { mode: 0o600 });
  // Root's own file (/etc/pki-db-upgrade/<instance>.conf): ca_file counts from there only.
  const rootConf = path.join(pki.root, 'etc/pki-db-upgrade', `${pki.name}.conf`);
  fs.mkdirSync(path.dirname(rootConf), { recursive: true, mode: 0o755 });
  fs.writeFileSync(rootConf, [`ldapi_socket = /nonexistent/slapd.socket`, 'use_keyring = false', `ca_file = ${ds.tls!.caFile}`, 'backup = never', ''].join('\n'), { mode: 0o644 });
  return { pki, suffix, cert, subject, nickname, alias, dbUser, rootConf };
}

function posttrans(pki: FakePki, ...more: string[]) {
  return runCli(MAIN_BUNDLE, ['--root', pki.root, '--mode', 'posttrans', '--verbose', ...more], { timeoutMs: 60_000 });
}

const logOf = (pki: FakePki) => (fs.existsSync(pki.logFile) ? fs.readFileSync(pki.logFile, 'utf8') : '');

/** The folders the tool made for its copies of NSS databases (none may be left). */
const leftCopies = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('pki-db-upgrade-nss-'));

/** The instance laid out as on a real host: the instance folder, alias and its files the PKI user's. */
function handToPkiUser(s: Subsystem): void {
  fs.chmodSync(s.pki.root, 0o755);
  for (const p of [s.pki.instanceDir, path.join(s.pki.instanceDir, 'ca'), s.alias]) {
    fs.chownSync(p, PKI_USER.uid, PKI_USER.gid);
    fs.chmodSync(p, 0o770);
  }
  for (const name of fs.readdirSync(s.alias)) fs.chownSync(path.join(s.alias, name), PKI_USER.uid, PKI_USER.gid);
  for (const f of [path.join(s.pki.instanceDir, 'ca/CS.cfg'), s.pki.passwordConf]) fs.chownSync(f, PKI_USER.uid, PKI_USER.gid);
}

/** Runs `script` as the PKI user (uid 65534), to completion. */
function asPkiUser(script: string): void {
  const r = spawnSync('setpriv', [`--reuid=${PKI_USER.uid}`, `--regid=${PKI_USER.gid}`, '--clear-groups', 'sh', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`attacker script failed (${r.status}): ${r.stderr}`);
}

describe('a certificate 389 DS maps to the PKI database user', () => {
  it('LDAPS (secureConn=true), the NSS database with a token password from password.conf: bound as pkidbuser, the run upgrades a CA database (the bulk writes too), nothing left behind', async () => {
    const s = await subsystem({ load: 300 });
    const before = folderState(s.alias);
    const copies = leftCopies();
    const result = await posttrans(s.pki);
    if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stderr}\n${logOf(s.pki).slice(-4000)}`);
    const log = logOf(s.pki);
    expect(log).toContain(
      `connected to ldaps://127.0.0.1:${ds.securePort} by the client certificate "${s.nickname}" (SASL EXTERNAL, CA ${ds.tls!.caFile}): 389 DS mapped ${s.subject} (from "${s.nickname}" in the NSS database ${s.alias}, its token password from ${s.pki.passwordConf} (internal=)) to ${s.dbUser}`,
    );
    expect(log).not.toContain(TOKEN_PASSWORD);
    expect(result.stdout).toMatch(/ca upgraded from \(untracked\) to 11\.10\.1 \(10 step\(s\)/);
    // The backfill wrote on connections of its own, each presenting the certificate.
    const missing = await withLdap(ds, (c) => c.search(`ou=certificateRepository,ou=ca,${s.suffix}`, { filter: '(&(objectClass=certificateRecord)(!(issuerName=*)))', attributes: ['1.1'] }));
    expect(missing.searchEntries).toEqual([]);
    // The history says who did it: the entry the certificate maps to.
    const done = await withLdap(ds, (c) => c.search(`cn=dbUpgrade,${s.suffix}`, { filter: '(objectClass=*)', attributes: ['creatorsName'] }));
    expect(done.searchEntries.length).toBeGreaterThan(1);
    expect(done.searchEntries.every((e) => String(e.creatorsName).toLowerCase() === s.dbUser.toLowerCase())).toBe(true);
    // The NSS database as it was (NSS never opened it), no copy left in /tmp.
    expect(folderState(s.alias)).toEqual(before);
    expect(leftCopies()).toEqual(copies);
    // A second run changes nothing.
    const again = await posttrans(s.pki);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('upgraded');
  });

  it('StartTLS (secureConn=false: TLS on the LDAP port, never a certificate over plain LDAP), an NSS database without a password: no password asked', async () => {
    const s = await subsystem({ secure: false, tokenPassword: null });
    const result = await posttrans(s.pki);
    if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stderr}\n${logOf(s.pki).slice(-4000)}`);
    const log = logOf(s.pki);
    expect(log).toContain(`connected to ldap+starttls://127.0.0.1:${ds.port} by the client certificate "${s.nickname}"`);
    expect(log).toContain(`389 DS mapped ${s.subject} (from "${s.nickname}" in the NSS database ${s.alias}) to ${s.dbUser}`);
    expect(log).not.toContain('token password');
    const check = await runCli(MAIN_BUNDLE, ['check', '--root', s.pki.root], { timeoutMs: 60_000 });
    expect(check.code).toBe(0);
  });

  it("root's own PEM files (client_cert_file, client_key_file) are used instead of the NSS database; a key others may read is refused", async () => {
    const s = await subsystem();
    fs.rmSync(s.alias, { recursive: true });
    const { rootConf } = s;
    const certFile = path.join(s.pki.root, 'subsystem.pem');
    const keyFile = path.join(s.pki.root, 'subsystem.key');
    fs.writeFileSync(certFile, s.cert.certificatePem, { mode: 0o644 });
    fs.writeFileSync(keyFile, s.cert.privateKeyPem, { mode: 0o644 });
    fs.appendFileSync(rootConf, `client_cert_file = ${certFile}\nclient_key_file = ${keyFile}\n`);
    const refused = await posttrans(s.pki);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`the client key ${keyFile} is accessible by group or others (mode 0644)`);
    fs.chmodSync(keyFile, 0o600);
    const result = await posttrans(s.pki);
    if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stderr}\n${logOf(s.pki).slice(-4000)}`);
    expect(logOf(s.pki)).toContain(`389 DS mapped ${s.subject} (from ${certFile} (client_cert_file in ${rootConf})) to ${s.dbUser}`);
  });
});

describe('what must fail: exit 2, and what to do', () => {
  it('a certificate 389 DS maps to no entry: "mapped ... to no entry", and what the mapping needs', async () => {
    const s = await subsystem({ mapped: false });
    const result = await posttrans(s.pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`389 DS at ldaps://127.0.0.1:${ds.securePort} mapped the client certificate ${s.subject} (from "${s.nickname}" in the NSS database ${s.alias}`);
    expect(result.stderr).toContain('to no entry (invalid credentials: client certificate mapping failed)');
    expect(result.stderr).toContain(`needs seeAlso: ${s.subject} and this certificate in userCertificate`);
  });

  it('a certificate of a CA 389 DS does not trust: refused in the handshake, its issuer named', async () => {
    const other = new TlsTestCa('a CA the 389 DS does not trust');
    const s = await subsystem({ issuer: other });
    const result = await posttrans(s.pki);
    if (result.code !== 2) throw new Error(`exit ${result.code}\n${result.stderr}\n${logOf(s.pki).slice(-3000)}`);
    expect(result.stderr).toContain(`389 DS at ldaps://127.0.0.1:${ds.securePort} refused the client certificate ${s.subject}`);
    expect(result.stderr).toContain(`it does not trust ${other.name.ldapString()}, its issuer`);
  });

  it('a wrong token password in password.conf: the NSS database did not accept it, and where it came from', async () => {
    const s = await subsystem();
    fs.writeFileSync(s.pki.passwordConf, 'internal=not-the-token-password\n');
    const result = await posttrans(s.pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`the NSS database ${s.alias} did not accept the token password from ${s.pki.passwordConf} (internal=)`);
    expect(result.stderr).not.toContain('not-the-token-password');
  });

  it('no token password anywhere for a database that needs one: the sources tried are listed', async () => {
    const s = await subsystem();
    fs.rmSync(s.pki.passwordConf);
    const result = await posttrans(s.pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no database password "internal" for instance ${s.pki.name}`);
  });

  it('an expired certificate: said before connecting, with its date', async () => {
    const expired = new Date(Math.floor((Date.now() - 2 * DAY_MS) / 1000) * 1000);
    const cert = ca.issueClient({ subject: [['CN', 'Expired Subsystem Certificate'], ['O', 'pki-db-upgrade tests']], notBefore: new Date(expired.getTime() - 30 * DAY_MS), notAfter: expired });
    const s = await subsystem({ cert });
    const result = await posttrans(s.pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`the client certificate "${s.nickname}" in the NSS database ${s.alias} has expired: it was valid until ${expired.toISOString()}`);
  });

  it('a nickname on an HSM token, and a nickname the database lacks', async () => {
    const hsm = await subsystem({ cs: { clientCertNickname: 'NHSM6000:subsystemCert cert-pki-tomcat' } });
    const onHsm = await posttrans(hsm.pki);
    expect(onHsm.code).toBe(2);
    expect(onHsm.stderr).toContain('is on the token "NHSM6000" (an HSM): its key cannot be exported');
    const missing = await subsystem({ cs: { clientCertNickname: 'no such nickname' } });
    const none = await posttrans(missing.pki);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`there is no certificate "no such nickname" in the NSS database ${missing.alias}`);
    expect(none.stderr).toContain(`to one of the nicknames certutil -L -d ${missing.alias} lists`);
  });
});

/**
 * The threat: /etc/pki/<instance> is the PKI user's, and root reads the NSS database in it. Root
 * holds other NSS databases (389 DS's own server key in /etc/dirsrv/slapd-NAME, other instances'
 * subsystem keys, /etc/pki/nssdb). Were the tool to follow what the PKI user wrote, it would
 * authenticate with a key of root's choosing... of the PKI user's choosing, to a server CS.cfg (the
 * PKI user's) names; and NSS opening the PKI user's folder as root would load whatever library its
 * pkcs11.txt names, as root.
 */
describe('what the PKI user may plant in its folder does not steer root', () => {
  let victim: string;
  let victimState: string[];
  const victimNickname = 'Server-Cert';
  beforeAll(async () => {
    // Root's own NSS database, holding a certificate 389 DS would map to an entry of root's.
    victim = path.join(dir, 'root-nssdb');
    await createNssDatabase(victim, { nickname: victimNickname, cert: ca.issueClient({ subject: [['CN', 'root only'], ['O', 'pki-db-upgrade tests']] }), tokenPassword: TOKEN_PASSWORD });
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(victim, 0o755); // the attacker may name it, not write in it
    victimState = folderState(victim);
  });
  afterEach(() => expect(folderState(victim)).toEqual(victimState));

  it('jss.configDir naming another NSS database: refused, only /etc/pki/<instance>/alias is read', async () => {
    const s = await subsystem({ cs: { nssDatabaseDir: victim, clientCertNickname: victimNickname } });
    const result = await posttrans(s.pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`jss.configDir "${victim}" is not the instance's NSS database`);
    expect(logOf(s.pki)).not.toContain('connected to');
  });

  it("jss.configDir as pkispawn writes it (/var/lib/pki/<instance>/alias, a link to /etc/pki/<instance>/alias) is the instance's own", async () => {
    const s = await subsystem({ cs: { nssDatabaseDir: '/var/lib/pki/INSTANCE/alias/' } });
    fs.writeFileSync(path.join(s.pki.instanceDir, 'ca/CS.cfg'), fs.readFileSync(path.join(s.pki.instanceDir, 'ca/CS.cfg'), 'utf8').replace('INSTANCE', s.pki.name));
    const result = await posttrans(s.pki);
    if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stderr}`);
  });

  it('alias replaced by a link to root\'s NSS database: not followed', async () => {
    const s = await subsystem({ cs: { clientCertNickname: victimNickname } });
    handToPkiUser(s);
    asPkiUser(`rm -rf '${s.alias}' && ln -s '${victim}' '${s.alias}'`);
    const result = await posttrans(s.pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read the client certificate's NSS database: ${s.alias}: it is a symbolic link, which is not followed`);
    expect(logOf(s.pki)).not.toContain('connected to');
  });

  it("cert9.db and key4.db in alias replaced by links to root's: not followed", async () => {
    const s = await subsystem({ cs: { clientCertNickname: victimNickname } });
    handToPkiUser(s);
    for (const name of ['cert9.db', 'key4.db']) asPkiUser(`rm -f '${s.alias}/${name}' && ln -s '${victim}/${name}' '${s.alias}/${name}'`);
    const result = await posttrans(s.pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read the client certificate's NSS database: ${path.join(s.alias, 'cert9.db')}: it is a symbolic link, which is not followed`);
  });

  it('a pkcs11.txt in alias naming a shared library: NSS opening alias as root would load it; the tool never lets it, and the run succeeds', async () => {
    const s = await subsystem();
    handToPkiUser(s);
    // A library that leaves a mark when loaded: what an attacker's code would do as root.
    const marker = path.join(dir, `loaded-${counter}`);
    const source = path.join(dir, `evil-${counter}.c`);
    const library = path.join(dir, `evil-${counter}.so`);
    fs.writeFileSync(source, `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void loaded(void) { int fd = open("${marker}", O_CREAT | O_WRONLY, 0644); if (fd >= 0) close(fd); }\n`);
    await run('cc', ['-shared', '-fPIC', '-o', library, source]);
    fs.chmodSync(library, 0o755);
    asPkiUser(`printf '\\nlibrary=${library}\\nname=planted\\nNSS=trustOrder=50\\n' >> '${s.alias}/pkcs11.txt'`);
    // The threat is real: NSS on the PKI user's folder, as root, loads it.
    spawnSync('certutil', ['-L', '-d', `sql:${s.alias}`], { encoding: 'utf8' });
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
    handToPkiUser(s); // certutil, as root, may have made files of root's there
    const before = folderState(s.alias);
    const result = await posttrans(s.pki);
    if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stderr}\n${logOf(s.pki).slice(-4000)}`);
    expect(fs.existsSync(marker)).toBe(false);
    expect(folderState(s.alias)).toEqual(before);
    expect(logOf(s.pki)).toContain(`to ${s.dbUser}`);
  });
});
