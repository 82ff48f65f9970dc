/**
 * Index definitions of one backend (cn=config: local to each 389 DS, so index steps are server
 * scope) and the index task that builds them over existing entries.
 *
 * Crash safety: 389 DS keeps an index added online "offline" (every search on it runs unindexed)
 * until an index task has built it, and the definition alone does not say whether that happened.
 * A run killed between defining an index and the end of its index task would leave it unbuilt
 * for good: the next run finds the definition in place and has nothing to change. So every
 * definition this helper adds or completes carries the description PENDING_BUILD, written in the
 * same operation, and removed only once the index task succeeded; ensure() reports an index still
 * carrying it as changed, so the step builds it again.
 *
 * Unless the build was done meanwhile: 389 DS carries on the index task of a run that was killed
 * (e.g. at the %posttrans time limit), and keeps its entry, with its exit code, for the task's
 * ttl (set to the most 389 DS allows, a day). Before building, the helper looks for a task of this
 * tool on the backend that succeeded, covered the attribute and was created after the
 * definition's last change (modifyTimestamp): that index is built, and only its mark is removed.
 * A build longer than any one run so completes over several runs, never starting over.
 */
import { systemClock, type Clock } from '../core/clock';
import { hasResultCode, ResultCode, type DirectoryEntry, type LdapSession } from '../core/directory';
import type { IndexHelper, IndexSpec } from '../core/step';
import { startTask, waitForBackendTasks, waitForTask } from '../ldap/ds-task';
import { ensureEntry } from '../ldap/ensure-entry';
import { escapeFilterValue, escapeRdnValue } from '../ldap/filter';
import type { Logger } from '../core/logger';

export interface IndexHelperOptions {
  backend: string;
  dryRun: boolean;
  /** Polling interval of the index task. */
  pollMs?: number;
  logger?: Logger;
  clock?: Clock;
}

/** On an index definition: defined or completed by pki-db-upgrade, index task not finished yet. */
export const PENDING_BUILD = 'pki-db-upgrade: index not built yet (index task pending)';

/** The name of this tool's index tasks, then the time and the pid. */
const TASK_PREFIX = 'pki-db-upgrade-';

/** How often an index task refused because another task held the backend is retried. */
const BUSY_RETRIES = 5;

export class LdapIndexHelper implements IndexHelper {
  constructor(
    private readonly ldap: LdapSession,
    private readonly options: IndexHelperOptions,
  ) {}

  private get container(): string {
    return `cn=index,cn=${escapeRdnValue(this.options.backend)},cn=ldbm database,cn=plugins,cn=config`;
  }

  async ensure(indexes: IndexSpec[]): Promise<string[]> {
    const changed: string[] = [];
    for (const spec of indexes) {
      const attributes: Record<string, string | string[]> = {
        objectClass: ['top', 'nsIndex'],
        cn: spec.attribute,
        nsSystemIndex: 'false',
        nsIndexType: spec.types,
        description: PENDING_BUILD,
      };
      if (spec.matchingRules?.length) attributes.nsMatchingRule = spec.matchingRules;
      // A definition that exists gets the types and matching rules it lacks, marked in the same
      // modify (an index left unmarked would never be built after a crash).
      const pendingBuild = (entry: DirectoryEntry) => entry.values('description').includes(PENDING_BUILD);
      const outcome = await ensureEntry(this.ldap, this.indexDN(spec.attribute), attributes, {
        merge: ['nsIndexType', 'nsMatchingRule'],
        read: ['description'],
        withMerge: (existing) => (pendingBuild(existing) ? [] : [{ operation: 'add', attribute: 'description', values: [PENDING_BUILD] }]),
      });
      // Still marked: an earlier run defined it and did not see its index task through.
      if (outcome.action === 'added' || outcome.merged.length > 0 || pendingBuild(outcome.entry)) changed.push(spec.attribute);
    }
    return changed;
  }

  private indexDN(attribute: string): string {
    return `cn=${escapeRdnValue(attribute)},${this.container}`;
  }

  async reindex(attributes: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    if (attributes.length === 0) return;
    const clock = this.options.clock ?? systemClock;
    const deadline = clock.monotonicMs() + (options.timeoutMs ?? 30 * 60_000);
    let toBuild = attributes;
    for (let attempt = 0; ; attempt++) {
      // A task left running by an interrupted run (389 DS carries it on) holds the backend: wait.
      if (!this.options.dryRun) {
        await waitForBackendTasks(this.ldap, this.options.backend, { timeoutMs: Math.max(deadline - clock.monotonicMs(), 0), pollMs: this.options.pollMs, clock });
        const built = await this.builtWhileNobodyWatched(toBuild);
        if (built.length > 0) {
          this.options.logger?.info(`index task of an earlier run already built ${built.join(', ')}: not built again`);
          toBuild = toBuild.filter((a) => !built.includes(a));
        }
        if (toBuild.length === 0) break;
      }
      const outcome = await this.runTask(toBuild, deadline);
      if (outcome === 'done') break;
      if (attempt >= BUSY_RETRIES) {
        throw new Error(`index task for ${attributes.join(', ')}: backend ${this.options.backend} stayed busy with another task; run the upgrade again later`);
      }
    }
    if (this.options.dryRun) return;
    for (const attribute of attributes) {
      try {
        await this.ldap.modify(this.indexDN(attribute), [{ operation: 'delete', attribute: 'description', values: [PENDING_BUILD] }]);
      } catch (err) {
        // Not marked (defined by someone else) or gone: nothing to clear.
        if (!hasResultCode(err, ResultCode.NoSuchAttribute) && !hasResultCode(err, ResultCode.NoSuchObject)) throw err;
      }
    }
  }

  /**
   * Those of `attributes` that a finished, successful index task of this tool built after their
   * definition last changed (timestamps have one-second resolution: a task created in the same
   * second as the mark came after it, as this helper writes the mark before it starts the task).
   */
  private async builtWhileNobodyWatched(attributes: string[]): Promise<string[]> {
    let tasks: DirectoryEntry[];
    try {
      tasks = await this.ldap.search('cn=index,cn=tasks,cn=config', {
        scope: 'one',
        filter: `(&(cn=${TASK_PREFIX}*)(nsInstance=${escapeFilterValue(this.options.backend)})(nsTaskExitCode=0))`,
        attributes: ['nsIndexAttribute', 'createTimestamp'],
      });
    } catch (err) {
      // No task entry at all (389 DS creates cn=index,cn=tasks with the first one), or not readable.
      if (hasResultCode(err, ResultCode.NoSuchObject) || hasResultCode(err, ResultCode.InsufficientAccess)) return [];
      throw err;
    }
    const built: string[] = [];
    for (const attribute of attributes) {
      const definition = await this.ldap.read(this.indexDN(attribute), ['modifyTimestamp', 'createTimestamp']);
      const changed = definition?.first('modifyTimestamp') ?? definition?.first('createTimestamp');
      if (!changed) continue;
      const covered = tasks.some(
        (t) => t.values('nsIndexAttribute').some((a) => a.split(':')[0].toLowerCase() === attribute.toLowerCase()) && (t.first('createTimestamp') ?? '') >= changed,
      );
      if (covered) built.push(attribute);
    }
    return built;
  }

  /** Runs one index task to its end: 'busy' when another task held the backend. */
  private async runTask(attributes: string[], deadline: number): Promise<'done' | 'busy'> {
    const clock = this.options.clock ?? systemClock;
    const task = await startTask(this.ldap, 'index', `${TASK_PREFIX}${clock.now().getTime()}-${process.pid}`, {
      nsInstance: this.options.backend,
      nsIndexAttribute: attributes,
      // Kept a day after it ends (389 DS's most): a later run tells from it that the build is done.
      ttl: '86400',
    });
    if (this.options.dryRun) return 'done';
    const outcome = await waitForTask(this.ldap, task, { deadlineMs: deadline, pollMs: this.options.pollMs, clock });
    if (outcome.exitCode === 0) return 'done';
    if (/in the middle of another task/i.test(outcome.log)) return 'busy';
    throw new Error(`index task ${task.name} for ${attributes.join(', ')} failed with exit code ${outcome.exitCode}: ${outcome.status}`);
  }
}
