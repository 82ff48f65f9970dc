/**
 * What a step runs with: its session (or the dry-run recorder in front of it), the schema, index
 * and bulk helpers, the database it upgrades, its logger. Made here for the engine
 * (app/database.ts) and for the tests that run one step directly, so both get the same wiring.
 */
import { monitoredDiskSpace, type DiskSpaceOptions } from '../apply/disk-space';
import { LdapBulkUpdater } from '../apply/bulk-update';
import { LdapIndexHelper } from '../apply/index-helper';
import type { MarkedDefinitions } from '../apply/index-builds';
import { LdapSchemaHelper, type SchemaRollout } from '../apply/schema-helper';
import type { LdapSession } from '../core/directory';
import type { Fence } from '../core/fence';
import type { Logger } from '../core/logger';
import type { DatabaseInfo, StepContext } from '../core/step';
import type { DryRunSession } from '../ldap/dry-run-session';
import type { LdaptsSession } from '../ldap/ldapts-session';

/**
 * Bulk writes go over two connections of their own, so that two writes in flight are one per
 * connection: several outstanding operations on one 389 DS 2.3 connection stalled most (make bench).
 */
export const BULK_WRITER_CONNECTIONS = 2;

export interface StepContextOptions {
  session: LdaptsSession;
  /** Dry-run: records the writes instead of making them. */
  recorder?: DryRunSession;
  serverId: string;
  database: DatabaseInfo;
  logger: Logger;
  /** The other servers of the cluster: schema steps write and check cn=schema there too. */
  schemaRollout?: SchemaRollout;
  /** Verified before each batch of a bulk pass. */
  fence?: Fence;
  writerConnections?: number;
  /** Told of each index definition a step marks, for the run's build after the steps. */
  marked?: MarkedDefinitions;
  /** Tests: the estimate of the disk-space check before large passes (src/apply/disk-space.ts). */
  diskCheck?: Omit<DiskSpaceOptions, 'logger'>;
}

export function stepContextFor(options: StepContextOptions): StepContext {
  const { session, recorder, logger } = options;
  const dryRun = recorder !== undefined;
  const ldap: LdapSession = recorder ?? session;
  return {
    ldap,
    schema: new LdapSchemaHelper({ local: { id: options.serverId, session: ldap }, rollout: dryRun ? undefined : options.schemaRollout, logger, dryRun }),
    indexes: new LdapIndexHelper(ldap, { backend: options.database.backend, onMarked: options.marked && ((definition) => options.marked!.note(definition)) }),
    bulk: new LdapBulkUpdater({
      reader: ldap,
      // Dry-run records the changes; a real pass writes on connections of its own.
      openWriters: recorder
        ? async () => ({ sessions: [recorder], close: async () => undefined })
        : async () => {
            const sessions = await session.openSiblings(options.writerConnections ?? BULK_WRITER_CONNECTIONS);
            return { sessions, close: async () => void (await Promise.all(sessions.map((s) => s.close()))) };
          },
      logger,
      dryRun,
      fence: options.fence,
      diskSpace: dryRun ? undefined : monitoredDiskSpace(session, { logger, ...options.diskCheck }),
      terminal: process.stderr.isTTY ? process.stderr : undefined,
    }),
    database: options.database,
    logger,
    dryRun,
  };
}
