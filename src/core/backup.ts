/**
 * The backup a run takes before its first change that cannot be undone: when (the policy, from
 * db-upgrade.conf or --backup) and the port that takes it (src/apply/database-backup.ts exports the
 * suffix through 389 DS). docs/operating.md, "Backups".
 */
import type { RegisteredStep } from './step';

export const BACKUP_POLICIES = ['always', 'before-data-steps', 'never'] as const;
export type BackupPolicy = (typeof BACKUP_POLICIES)[number];

/** Whether the backup must exist before `step`: any step (always), or one that changes replicated data or schema. */
export function needsBackup(policy: BackupPolicy, step: RegisteredStep): boolean {
  if (policy === 'never') return false;
  if (policy === 'always') return true;
  // Server-scope steps change this server's cn=config (indexes), which a rerun rebuilds; the
  // history's own schema comes before anything else and changes no PKI data.
  return step.scope === 'cluster' && !step.bookkeeping;
}

export interface BackupPort {
  /** Whether the backup must exist before `step` runs. */
  before(step: RegisteredStep): boolean;
  /** Takes it and returns where it is; throws when it could not be taken (the run stops there). */
  take(): Promise<string>;
}
