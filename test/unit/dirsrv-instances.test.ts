/** Naming the 389 DS instance to start from this host's /etc/dirsrv (src/config/dirsrv-instances.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { dirsrvInstanceOnPort, startCommandFor } from '../../src/config/dirsrv-instances';
import { systemPaths } from '../../src/config/paths';
import { tempDir } from '../support/temp-dir';

function hostWith(instances: Record<string, string>) {
  const root = tempDir('pkidbu-dirsrv-');
  for (const [name, dse] of Object.entries(instances)) {
    fs.mkdirSync(path.join(root, 'etc/dirsrv', name), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/dirsrv', name, 'dse.ldif'), dse);
  }
  return systemPaths(root);
}

const dse = (port: number, securePort: number) =>
  `dn: cn=config\ncn: config\nnsslapd-port: ${port}\nnsslapd-securePort: ${securePort}\nnsslapd-localhost: ca1.example.com\n\ndn: cn=monitor\nnsslapd-port: 1\n`;

describe('the 389 DS instance on a port', () => {
  it('is the one whose cn=config listens there, by its LDAP or its LDAPS port', () => {
    const paths = hostWith({ 'slapd-pki': dse(389, 636), 'slapd-other': dse(1389, 1636), 'slapd-old.removed': dse(389, 636) });
    expect(dirsrvInstanceOnPort(paths, 389)?.name).toBe('pki');
    expect(dirsrvInstanceOnPort(paths, 1636)?.name).toBe('other');
    expect(startCommandFor(dirsrvInstanceOnPort(paths, 636))).toBe('systemctl start dirsrv@pki');
  });

  it('is not named when none or several listen there, or there is no /etc/dirsrv: the hint says how to find it', () => {
    expect(dirsrvInstanceOnPort(hostWith({ 'slapd-a': dse(389, 636), 'slapd-b': dse(389, 637) }), 389)).toBeUndefined();
    expect(dirsrvInstanceOnPort(hostWith({ 'slapd-a': dse(389, 636) }), 1)).toBeUndefined();
    expect(startCommandFor(dirsrvInstanceOnPort(systemPaths(tempDir('pkidbu-nodirsrv-')), 389))).toBe("systemctl start dirsrv@NAME, NAME as systemctl list-units 'dirsrv@*' shows it");
  });

  it('has its errors log where its cn=config says (nsslapd-errorlog), or where 389 DS puts it by default', () => {
    const paths = hostWith({ 'slapd-pki': `${dse(389, 636)}`.replace('nsslapd-localhost', 'nsslapd-errorlog: /srv/logs/pki-errors\nnsslapd-localhost'), 'slapd-plain': dse(1389, 1636) });
    expect(dirsrvInstanceOnPort(paths, 636)?.errorsLog).toBe('/srv/logs/pki-errors');
    expect(dirsrvInstanceOnPort(paths, 1389)?.errorsLog).toBe('/var/log/dirsrv/slapd-plain/errors');
    expect(dirsrvInstanceOnPort(paths, 2)).toBeUndefined();
  });
});
