/**
 * Makes sure the 389 Directory Server binaries, the OpenLDAP client tools, and what puts
 * certificates into its NSS database (certutil, pk12util, openssl: dirsrv-tls.ts) are present.
 *
 * A CI machine may start bare; we install non-interactively (no stdin, no prompts) with the
 * distribution's package manager. Without root we cannot install, so we say exactly what is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { run } from './exec';

const REQUIRED = ['/usr/sbin/dscreate', '/usr/sbin/ns-slapd', '/usr/bin/ldapmodify', '/usr/bin/certutil', '/usr/bin/pk12util', '/usr/bin/openssl'];

function missing(): string[] {
  return REQUIRED.filter((p) => !existsSync(p));
}

function osFamily(): 'debian' | 'fedora' | 'unknown' {
  let text = '';
  try {
    text = readFileSync('/etc/os-release', 'utf8');
  } catch {
    return 'unknown';
  }
  const ids = /^ID(?:_LIKE)?=(.*)$/gm;
  const all = [...text.matchAll(ids)].map((m) => m[1].replace(/"/g, '')).join(' ');
  if (/\b(debian|ubuntu)\b/.test(all)) return 'debian';
  if (/\b(fedora|rhel|centos)\b/.test(all)) return 'fedora';
  return 'unknown';
}

let checked: Promise<void> | undefined;

/** Installs 389-ds-base, the LDAP client tools and the NSS tools when missing; cached per process. */
export function ensureDirsrvInstalled(): Promise<void> {
  checked ??= install();
  return checked;
}

async function install(): Promise<void> {
  if (missing().length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const family = osFamily();
  if (!isRoot) {
    throw new Error(
      `389 DS is not installed (missing ${missing().join(', ')}) and we are not root. ` +
        `Install it first: apt-get install -y --no-install-recommends 389-ds-base ldap-utils libnss3-tools openssl ` +
        `(Debian/Ubuntu) or dnf install -y 389-ds-base openldap-clients nss-tools openssl (Fedora/RHEL).`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (family === 'debian') {
    await run('apt-get', ['update'], { env, timeoutMs: 600_000 });
    await run('apt-get', ['install', '-y', '--no-install-recommends', '389-ds-base', 'ldap-utils', 'libnss3-tools', 'openssl'], {
      env,
      timeoutMs: 900_000,
    });
  } else if (family === 'fedora') {
    await run('dnf', ['install', '-y', '389-ds-base', 'openldap-clients', 'nss-tools', 'openssl'], { env, timeoutMs: 900_000 });
  } else {
    throw new Error(`389 DS is not installed (missing ${missing().join(', ')}) and this OS is neither Debian- nor Fedora-like`);
  }
  if (missing().length > 0) throw new Error(`after installing packages still missing: ${missing().join(', ')}`);
}
