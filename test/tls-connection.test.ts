/**
 * The tool over 389 DS's own TLS, its certificate in its NSS database (test/harness/README.md,
 * "TLS"): LDAPS and StartTLS verified by CA and host name, in direct mode (--ca-file) and in
 * instance mode (secureConn=true, ca_file); and a certificate that does not verify refused with
 * exit 2 and a message of its own, saying which of the three it is and what to do: a CA not
 * trusted here, a certificate for other names, an expired certificate.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createBackend, removeInstance, type DsInstance } from './harness/dirsrv';
import { replaceServerCertificate } from './harness/dirsrv-tls';
import { loadPkiDatabase } from './harness/pki-database';
import { ownInstance, standalone, uniqueSuffix, withLdap } from './harness/test-env';
import { TlsTestCa } from './harness/tls-certificates';
import { MAIN_BUNDLE, runCli } from './support/bundle';
import { createFakePki, passwordFromConfigFile, removeFakePkis, type FakePki } from './support/fake-pki';
import { tempDir } from './support/temp-dir';
import { DIRECT_CA_FACTS } from './support/pki-facts';

afterAll(() => removeFakePkis());

const DAY_MS = 86_400_000;
const dir = tempDir('pkidbu-tls-');

/** The Directory Manager password of `ds`, in a file for --password-file. */
function passwordFile(ds: DsInstance): string {
  const file = path.join(dir, `dm-${ds.port}.pass`);
  fs.writeFileSync(file, `${ds.rootPassword}\n`, { mode: 0o600 });
  return file;
}

/** `pki-db-upgrade COMMAND --url URL ...` (direct mode) against `ds`'s Directory Manager. */
function direct(ds: DsInstance, command: string, url: string, baseDN: string, ...more: string[]) {
  return runCli(MAIN_BUNDLE, [command, '--url', url, '--base-dn', baseDN, '--password-file', passwordFile(ds), '--connect-timeout', '10', ...DIRECT_CA_FACTS, ...more], { timeoutMs: 40_000 });
}

/** `pki-db-upgrade run --mode posttrans` on a fake instance whose CS.cfg says secureConn=true. */
function posttrans(pki: FakePki) {
  return runCli(MAIN_BUNDLE, ['--root', pki.root, '--mode', 'posttrans', '--verbose'], { timeoutMs: 40_000 });
}

/** A fake instance whose CA database `baseDN` is on `ds`, by LDAPS to `host` (secureConn=true), the password as passwordFromConfigFile puts it. */
function secureInstance(ds: DsInstance, baseDN: string, toolConfig: Record<string, string> = {}, host = ds.host): FakePki {
  const pki = createFakePki({ host, port: ds.securePort, baseDN, secure: true });
  passwordFromConfigFile(pki, ds, toolConfig);
  return pki;
}

/** Where an instance-mode hint must say ca_file goes: it counts from root's own file only. */
const rootConfigOf = (pki: FakePki) => path.join(pki.root, 'etc/pki-db-upgrade', `${pki.name}.conf`);

describe('a certificate that verifies: the standalone 389 DS (localhost, 127.0.0.1), the CA of the run', () => {
  const ds = () => standalone();

  it('direct mode upgrades a CA database over LDAPS trusting --ca-file (the bulk writes too), and reads it by name (localhost) as well', async () => {
    const { suffix, backendName } = uniqueSuffix('tlsldaps');
    const db = await loadPkiDatabase(ds(), { suffix, backendName, certificates: 200 });
    expect(db.withoutIssuerName.length).toBeGreaterThan(0);
    const run = await direct(ds(), 'run', ds().tls!.ldapsUrl, suffix, '--ca-file', ds().tls!.caFile);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`${suffix} on ${ds().tls!.ldapsUrl}: upgraded from (untracked) to 11.10.1, 10 step(s)`);
    // The backfill wrote on connections of its own (LdaptsSession.openSiblings), over LDAPS as well.
    const missing = await withLdap(ds(), (c) => c.search(`ou=certificateRepository,ou=ca,${suffix}`, { filter: '(&(objectClass=certificateRecord)(!(issuerName=*)))', attributes: ['1.1'] }));
    expect(missing.searchEntries).toEqual([]);
    const check = await direct(ds(), 'check', `ldaps://localhost:${ds().securePort}`, suffix, '--ca-file', ds().tls!.caFile);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('up to date (database at 11.10.1, package 11.10.1)');
  });

  it('direct mode upgrades a database over StartTLS on the LDAP port trusting --ca-file', async () => {
    const { suffix, backendName } = uniqueSuffix('tlsstart');
    await createBackend(ds(), suffix, backendName);
    const run = await direct(ds(), 'run', ds().tls!.startTlsUrl, suffix, '--ca-file', ds().tls!.caFile);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`${suffix} on ${ds().tls!.startTlsUrl}: upgraded from (untracked) to 11.10.1`);
  });

  it('instance mode (secureConn=true) upgrades over LDAPS trusting ca_file', async () => {
    const { suffix, backendName } = uniqueSuffix('tlsinst');
    await createBackend(ds(), suffix, backendName);
    const pki = secureInstance(ds(), suffix, { ca_file: ds().tls!.caFile });
    const result = await posttrans(pki);
    expect(result.code).toBe(0);
    expect(fs.readFileSync(pki.logFile, 'utf8')).toContain(`connected to ldaps://127.0.0.1:${ds().securePort} as cn=Directory Manager (LDAPS, CA ${ds().tls!.caFile})`);
  });
});

describe('a CA not trusted here: the standalone 389 DS, the tool given another CA or none', () => {
  const ds = () => standalone();
  const issuer = 'CN=pki-db-upgrade test CA of this run,O=pki-db-upgrade tests';
  let otherCa: string;
  beforeAll(() => {
    otherCa = path.join(dir, 'other-ca.pem');
    fs.writeFileSync(otherCa, new TlsTestCa('another CA').certificatePem);
  });

  it('direct mode, LDAPS and StartTLS, another CA in --ca-file: exit 2, the issuer named, and --ca-file to fix', async () => {
    for (const url of [ds().tls!.ldapsUrl, ds().tls!.startTlsUrl]) {
      const result = await direct(ds(), 'check', url, 'o=unused', '--ca-file', otherCa);
      expect({ url, code: result.code }).toEqual({ url, code: 2 });
      expect(result.stderr).toContain(`the certificate of 389 DS at ${url} is not trusted: its issuer, ${issuer}, is not a CA of ${otherCa} (SELF_SIGNED_CERT_IN_CHAIN)`);
      expect(result.stderr).toContain('→ name the PEM certificate of the CA that issued it in --ca-file');
    }
  });

  it("direct mode without --ca-file: exit 2, node's built-in CAs do not hold it", async () => {
    const result = await direct(ds(), 'run', ds().tls!.ldapsUrl, 'o=unused');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`the certificate of 389 DS at ${ds().tls!.ldapsUrl} is not trusted: its issuer, ${issuer}, is not among node's built-in CAs, and no CA file is given`);
  });

  it('instance mode without ca_file: exit 2, the one line says so and names ca_file in root\'s own file', async () => {
    const pki = secureInstance(ds(), 'o=unused');
    const result = await posttrans(pki);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`the certificate of 389 DS at ldaps://127.0.0.1:${ds().securePort} is not trusted`);
    expect(result.stderr).toContain(`name the PEM certificate of the CA that issued it in ca_file in ${rootConfigOf(pki)}`);
  });

  it('a --ca-file that holds no certificate is refused before connecting (exit 2)', async () => {
    const notPem = path.join(dir, 'not-a-ca.pem');
    fs.writeFileSync(notPem, 'internaldb=Secret.123\n');
    const result = await direct(ds(), 'check', ds().tls!.ldapsUrl, 'o=unused', '--ca-file', notPem);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`the CA file ${notPem} holds no PEM certificate`);
  });
});

describe("a 389 DS of this file's own: an expired certificate, then one for other names", () => {
  const ca = new TlsTestCa('pki-db-upgrade test CA of tls-connection');
  const caFile = path.join(dir, 'own-ca.pem');
  const expiredOn = new Date(Math.floor((Date.now() - 30 * DAY_MS) / 1000) * 1000);
  let ds: DsInstance;
  beforeAll(async () => {
    fs.writeFileSync(caFile, ca.certificatePem);
    // 389 DS starts with it (nsslapd-validate-cert: warn) and serves it, as a server does whose
    // certificate expired while it ran.
    ds = await ownInstance('tlsbad', 34, {
      tls: ca.issueServer({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notBefore: new Date(expiredOn.getTime() - 60 * DAY_MS), notAfter: expiredOn }),
    });
  });
  afterAll(async () => {
    if (ds) await removeInstance(ds);
  });

  describe('expired', () => {
    const until = expiredOn.toISOString().replace('.000Z', 'Z');

    it('direct mode, LDAPS and StartTLS: exit 2, "has expired" with the date, and to renew it', async () => {
      for (const url of [ds.tls!.ldapsUrl, ds.tls!.startTlsUrl]) {
        const result = await direct(ds, 'check', url, 'o=unused', '--ca-file', caFile);
        expect({ url, code: result.code }).toEqual({ url, code: 2 });
        expect(result.stderr).toContain(`the certificate of 389 DS at ${url} has expired: it was valid until ${until}`);
        expect(result.stderr).toContain('→ renew the 389 DS server certificate (in the NSS database of /etc/dirsrv/slapd-NAME) and restart the 389 DS');
      }
    });

    it('instance mode: exit 2, the same words in the one line', async () => {
      const result = await posttrans(secureInstance(ds, 'o=unused', { ca_file: caFile }));
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`the certificate of 389 DS at ldaps://127.0.0.1:${ds.securePort} has expired: it was valid until ${until}`);
    });
  });

  describe('for other names (ca.example.com, 127.0.0.2), connected to as 127.0.0.1 and as localhost', () => {
    beforeAll(async () => {
      await replaceServerCertificate(ds, ca.issueServer({ dnsNames: ['ca.example.com'], ipAddresses: ['127.0.0.2'] }));
    });

    it('direct mode, LDAPS and StartTLS, by address and by name: exit 2, the names it lists, and what to connect by', async () => {
      const urls = [ds.tls!.ldapsUrl, ds.tls!.startTlsUrl, `ldaps://localhost:${ds.securePort}`];
      for (const url of urls) {
        const host = new URL(url.replace('ldap+starttls:', 'ldap:')).hostname;
        const result = await direct(ds, 'check', url, 'o=unused', '--ca-file', caFile);
        expect({ url, code: result.code }).toEqual({ url, code: 2 });
        expect(result.stderr).toContain(`the certificate of 389 DS at ${url} is not for ${host}, the name connected to: it names DNS:ca.example.com, IP Address:127.0.0.2`);
        expect(result.stderr).toContain(`→ connect by a name the certificate lists (the host of --url), or give the 389 DS a certificate whose subjectAltName lists ${host}`);
      }
    });

    it('instance mode: exit 2, and the hint names internaldb.ldapconn.host of the CS.cfg', async () => {
      const pki = secureInstance(ds, 'o=unused', { ca_file: caFile }, 'localhost');
      const result = await posttrans(pki);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`the certificate of 389 DS at ldaps://localhost:${ds.securePort} is not for localhost, the name connected to`);
      expect(result.stderr).toContain(`connect by a name the certificate lists (internaldb.ldapconn.host in ${path.join(pki.instanceDir, 'ca/CS.cfg')})`);
    });
  });
});
