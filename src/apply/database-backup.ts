/**
 * The backup a run takes before its first change that cannot be undone: an online export of the
 * PKI suffix by 389 DS itself (an export task, as `dsconf backend export` starts one), into the
 * server's LDIF folder (nsslapd-ldifdir of cn=config: 389 DS writes there as its own user, and
 * neither the PKI user nor the tool's caller chooses the path). A replicated suffix is exported
 * with its replication data (nsExportReplica), so that the file can initialise a replica or be
 * imported back without breaking the topology. Policies: docs/operating.md, "Backups".
 */
import type { Clock } from '../core/clock';
import type { LdapSession } from '../core/directory';
import { DirectoryError } from '../core/errors';
import type { Logger } from '../core/logger';
import { needsBackup, type BackupPolicy, type BackupPort } from '../core/backup';
import { startTask, waitForTask } from '../ldap/ds-task';
import { escapeFilterValue } from '../ldap/filter';

/** An export of a large CA takes minutes; past this it is taken for hung. */
const EXPORT_DEADLINE_MS = 60 * 60_000;

export interface BackupOptions {
  ldap: LdapSession;
  suffix: string;
  backend: string;
  policy: BackupPolicy;
  clock: Clock;
  logger: Logger;
}

export function suffixExport(options: BackupOptions): BackupPort | undefined {
  if (options.policy === 'never') return undefined;
  return { before: (step) => needsBackup(options.policy, step), take: () => exportSuffix(options) };
}

async function exportSuffix({ ldap, suffix, backend, clock, logger }: BackupOptions): Promise<string> {
  const what = `the backup of ${suffix} (389 DS export task)`;
  const dir = (await ldap.read('cn=config', ['nsslapd-ldifdir']))?.first('nsslapd-ldifdir');
  if (!dir) throw new DirectoryError(`${what} cannot be taken: cn=config has no nsslapd-ldifdir`, 'set backup = never in db-upgrade.conf to upgrade without it, or take one yourself first; nothing was changed');
  const replicated = (await ldap.search('cn=mapping tree,cn=config', { scope: 'sub', filter: `(&(objectClass=nsds5Replica)(nsDS5ReplicaRoot=${escapeFilterValue(suffix)}))`, attributes: ['1.1'] })).length > 0;
  const stamp = clock.now().toISOString().replace(/[-:.]/g, ''); // to the millisecond: also the task's name
  const name = `pki-db-upgrade-${backend}-${stamp}`;
  const file = `${dir.replace(/\/+$/, '')}/${name}.ldif`;
  logger.info(`${what}: exporting to ${file} on the 389 DS${replicated ? ', with its replication data' : ''}`);
  const started = clock.monotonicMs();
  const task = await startTask(ldap, 'export', name, { nsInstance: backend, nsFilename: file, nsExportReplica: replicated ? 'true' : 'false' });
  const outcome = await waitForTask(ldap, task, { deadlineMs: started + EXPORT_DEADLINE_MS, pollMs: 200, clock });
  if (outcome.exitCode !== 0) {
    throw new DirectoryError(
      `${what} failed (task exit ${outcome.exitCode}: ${outcome.status || 'no status'})`,
      'see the errors log of the 389 DS (a full disk, the LDIF folder not writable), fix it and run pki-db-upgrade again; nothing was changed. Or set backup = never in db-upgrade.conf to upgrade without it',
    );
  }
  logger.info(`${what}: done in ${((clock.monotonicMs() - started) / 1000).toFixed(2)} s`);
  return file;
}
