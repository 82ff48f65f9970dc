/** The harness's standalone 389 DS: it answers, gets per-test backends, survives kill and restart. */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import {
  createBackend,
  createInstance,
  deleteBackend,
  isRunning,
  readPid,
  killInstance,
  removeInstance,
  setDseAttribute,
  startInstance,
} from './harness/dirsrv';
import { readRunInfo } from './harness/run-info';
import { serviceEnvironment } from './harness/service-environment';
import { standalone, uniqueSuffix, withLdap } from './harness/test-env';

describe('standalone instance', () => {
  it('answers on loopback as Directory Manager', async () => {
    const ds = standalone();
    expect(ds.url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
    expect(await isRunning(ds)).toBe(true);
    const vendor = await withLdap(ds, async (c) => {
      const { searchEntries } = await c.search('', { scope: 'base', attributes: ['vendorVersion'] });
      return String(searchEntries[0].vendorVersion);
    });
    expect(vendor).toMatch(/389-Directory/);
  });

  it('runs with the allocator the packaged systemd unit preloads (jemalloc), as a real server does', () => {
    const preload = serviceEnvironment().LD_PRELOAD;
    expect(preload).toMatch(/libjemalloc\.so/);
    const pid = readPid(standalone());
    const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    // maps names the file itself (the packaged path is a symlink to it).
    expect(maps).toContain(realpathSync(String(preload)));
  });

  it('listens on LDAPI under its root', () => {
    const ds = standalone();
    expect(ds.ldapiPath.startsWith(ds.root)).toBe(true);
    expect(existsSync(ds.ldapiPath)).toBe(true);
  });

  it('creates and deletes a backend per test', async () => {
    const ds = standalone();
    const { suffix, backendName } = uniqueSuffix('be');
    await createBackend(ds, suffix, backendName);
    await createBackend(ds, suffix, backendName); // idempotent
    await withLdap(ds, async (c) => {
      await c.add(`ou=people,${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'people' });
      const { searchEntries } = await c.search(suffix, { scope: 'sub', attributes: ['1.1'] });
      expect(searchEntries.map((e) => e.dn)).toEqual([suffix, `ou=people,${suffix}`]);
    });
    await deleteBackend(ds, suffix, backendName);
    await withLdap(ds, async (c) => {
      await expect(c.search(suffix, { scope: 'base' })).rejects.toMatchObject({ code: 32 });
    });
  });
});

describe('instance lifecycle', () => {
  it('creates, kills, restarts and removes an instance of its own', async () => {
    const info = readRunInfo();
    const port = info.portBase + 20;
    const ds = await createInstance({ name: `life${port}`, port, securePort: port + 1, root: path.join(info.runRoot, 'life') });
    try {
      expect(await isRunning(ds)).toBe(true);
      await killInstance(ds);
      expect(await isRunning(ds)).toBe(false);
      await startInstance(ds); // recovers after SIGKILL
      const { suffix, backendName } = uniqueSuffix('life');
      await createBackend(ds, suffix, backendName);
    } finally {
      await removeInstance(ds);
    }
    expect(existsSync(ds.root)).toBe(false);
  });
});

describe('setDseAttribute', () => {
  const ldif = 'dn: cn=config\ncn: config\nnsslapd-port: 389\n\ndn: cn=other\ncn: other\n';
  it('replaces or appends within the named entry only', () => {
    const r1 = setDseAttribute(ldif, 'cn=config', 'nsslapd-port', '1389');
    expect(r1.found).toBe(true);
    expect(r1.ldif).toContain('nsslapd-port: 1389');
    const r2 = setDseAttribute(ldif, 'cn=config', 'nsslapd-listenhost', '127.0.0.1');
    expect(r2.ldif).toBe('dn: cn=config\ncn: config\nnsslapd-port: 389\nnsslapd-listenhost: 127.0.0.1\n\ndn: cn=other\ncn: other\n');
    expect(setDseAttribute(ldif, 'cn=missing', 'a', 'b').found).toBe(false);
  });
});
