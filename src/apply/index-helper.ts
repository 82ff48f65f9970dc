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
 *
 * VLV searches (vlvSearch, with their vlvIndex entries) are definitions of the backend too, built
 * by the same task (nsIndexVLVAttribute), with the same mark on the vlvIndex entry: one task builds
 * whatever a step defined, attributes and VLV indexes together.
 */
import { systemClock, type Clock } from '../core/clock';
import { hasResultCode, ResultCode, type DirectoryEntry, type LdapSession, type Modification } from '../core/directory';
import type { Logger } from '../core/logger';
import type { IndexHelper, IndexSpec, VlvSearchSpec } from '../core/step';
import { backendConfigDN } from '../ldap/backend';
import { startTask, waitForBackendTasks, waitForTask } from '../ldap/ds-task';
import { ensureEntry } from '../ldap/ensure-entry';
import { escapeFilterValue, escapeRdnValue } from '../ldap/filter';

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

const SCOPES = { base: '0', one: '1', sub: '2' } as const;

/** What one index task builds: attribute indexes and VLV indexes (by their vlvIndex cn). */
interface Build {
  attributes: string[];
  vlv: string[];
}

export class LdapIndexHelper implements IndexHelper {
  /** The vlvSearch of each vlvIndex this helper defined, for the DN of its entry. */
  private readonly vlvSearchOf = new Map<string, string>();

  constructor(
    private readonly ldap: LdapSession,
    private readonly options: IndexHelperOptions,
  ) {}

  private get backendDN(): string {
    return backendConfigDN(this.options.backend);
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
      const outcome = await ensureEntry(this.ldap, this.indexDN(spec.attribute), attributes, {
        merge: ['nsIndexType', 'nsMatchingRule'],
        read: ['description'],
        withMerge: (existing) => (pendingBuild(existing) ? [] : [markPending()]),
      });
      // Still marked: an earlier run defined it and did not see its index task through.
      if (outcome.action === 'added' || outcome.merged.length > 0 || pendingBuild(outcome.entry)) changed.push(spec.attribute);
    }
    return changed;
  }

  async ensureVlv(searches: VlvSearchSpec[]): Promise<string[]> {
    const changed: string[] = [];
    for (const search of searches) {
      const searchDN = this.vlvSearchDN(search.name);
      const wanted = { vlvBase: search.base, vlvScope: SCOPES[search.scope], vlvFilter: search.filter };
      const outcome = await ensureEntry(this.ldap, searchDN, { objectClass: ['top', 'vlvSearch'], cn: search.name, ...wanted }, { read: Object.keys(wanted) });
      // A search defined otherwise (an older release's filter): replaced, and its indexes rebuilt.
      const same = (k: string, v: string) => normalized(outcome.action === 'present' ? outcome.entry.first(k) : v) === normalized(v);
      const differs = outcome.action === 'present' && Object.entries(wanted).some(([k, v]) => !same(k, v));
      if (differs) await this.ldap.modify(searchDN, Object.entries(wanted).map(([attribute, value]) => ({ operation: 'replace', attribute, values: [value] })));
      for (const index of search.indexes) {
        this.vlvSearchOf.set(index.name.toLowerCase(), search.name);
        const indexDN = this.vlvIndexDN(search.name, index.name);
        // vlvIndex allows no description: extensibleObject lets it carry the mark.
        const entry = await ensureEntry(
          this.ldap,
          indexDN,
          { objectClass: ['top', 'vlvIndex', 'extensibleObject'], cn: index.name, vlvSort: index.sort, description: PENDING_BUILD },
          { read: ['vlvSort', 'description', 'objectClass'] },
        );
        const sortDiffers = entry.action === 'present' && entry.entry.first('vlvSort') !== index.sort;
        const marked = entry.action === 'added' || (entry.action === 'present' && pendingBuild(entry.entry));
        if (sortDiffers || (differs && !marked)) {
          const changes: Modification[] = sortDiffers ? [{ operation: 'replace', attribute: 'vlvSort', values: [index.sort] }] : [];
          if (!marked) {
            if (entry.action === 'present' && !entry.entry.values('objectClass').some((c) => c.toLowerCase() === 'extensibleobject')) {
              changes.push({ operation: 'add', attribute: 'objectClass', values: ['extensibleObject'] });
            }
            changes.push(markPending());
          }
          await this.ldap.modify(indexDN, changes);
        }
        if (marked || sortDiffers || differs) changed.push(index.name);
      }
    }
    return changed;
  }

  private indexDN(attribute: string): string {
    return `cn=${escapeRdnValue(attribute)},cn=index,${this.backendDN}`;
  }

  private vlvSearchDN(search: string): string {
    return `cn=${escapeRdnValue(search)},${this.backendDN}`;
  }

  private vlvIndexDN(search: string, index: string): string {
    return `cn=${escapeRdnValue(index)},${this.vlvSearchDN(search)}`;
  }

  /** The entry whose mark and modifyTimestamp say whether a build is owed. */
  private markedDN(kind: keyof Build, name: string): string {
    if (kind === 'attributes') return this.indexDN(name);
    const search = this.vlvSearchOf.get(name.toLowerCase());
    if (!search) throw new Error(`VLV index ${name} was not defined by ensureVlv() in this step`);
    return this.vlvIndexDN(search, name);
  }

  async reindex(attributes: string[], options: { timeoutMs?: number; vlvIndexes?: string[] } = {}): Promise<void> {
    const wanted: Build = { attributes, vlv: options.vlvIndexes ?? [] };
    if (wanted.attributes.length + wanted.vlv.length === 0) return;
    const clock = this.options.clock ?? systemClock;
    const deadline = clock.monotonicMs() + (options.timeoutMs ?? 30 * 60_000);
    let toBuild = wanted;
    for (let attempt = 0; ; attempt++) {
      // A task left running by an interrupted run (389 DS carries it on) holds the backend: wait.
      if (!this.options.dryRun) {
        await waitForBackendTasks(this.ldap, this.options.backend, { timeoutMs: Math.max(deadline - clock.monotonicMs(), 0), pollMs: this.options.pollMs, clock });
        const built = await this.builtWhileNobodyWatched(toBuild);
        const names = [...built.attributes, ...built.vlv];
        if (names.length > 0) {
          this.options.logger?.info(`index task of an earlier run already built ${names.join(', ')}: not built again`);
          toBuild = { attributes: toBuild.attributes.filter((a) => !built.attributes.includes(a)), vlv: toBuild.vlv.filter((v) => !built.vlv.includes(v)) };
        }
        if (toBuild.attributes.length + toBuild.vlv.length === 0) break;
      }
      const outcome = await this.runTask(toBuild, deadline);
      if (outcome === 'done') break;
      if (attempt >= BUSY_RETRIES) {
        throw new Error(`index task for ${describe(wanted)}: backend ${this.options.backend} stayed busy with another task; run the upgrade again later`);
      }
    }
    if (this.options.dryRun) return;
    for (const kind of ['attributes', 'vlv'] as const) {
      for (const name of wanted[kind]) await this.clearMark(kind, name);
    }
  }

  /**
   * Removes the mark of a built definition. A vlvIndex also loses the extensibleObject that let it
   * carry the mark, so that it ends as Dogtag's vlv.ldif defines it (top, vlvIndex); unless it
   * holds something else only extensibleObject allows (65), or never had it (16).
   */
  private async clearMark(kind: keyof Build, name: string): Promise<void> {
    const unmark: Modification = { operation: 'delete', attribute: 'description', values: [PENDING_BUILD] };
    const attempts = kind === 'vlv' ? [[unmark, { operation: 'delete', attribute: 'objectClass', values: ['extensibleObject'] } as Modification], [unmark]] : [[unmark]];
    for (const [i, changes] of attempts.entries()) {
      try {
        await this.ldap.modify(this.markedDN(kind, name), changes);
        return;
      } catch (err) {
        const last = i === attempts.length - 1;
        if (!last && (hasResultCode(err, ResultCode.ObjectClassViolation) || hasResultCode(err, ResultCode.NoSuchAttribute))) continue;
        // Not marked (defined by someone else) or gone: nothing to clear.
        if (hasResultCode(err, ResultCode.NoSuchAttribute) || hasResultCode(err, ResultCode.NoSuchObject)) return;
        throw err;
      }
    }
  }

  /**
   * What of `build` a finished, successful index task of this tool built after the definition
   * last changed (timestamps have one-second resolution: a task created in the same second as the
   * mark came after it, as this helper writes the mark before it starts the task).
   */
  private async builtWhileNobodyWatched(build: Build): Promise<Build> {
    let tasks: DirectoryEntry[];
    try {
      tasks = await this.ldap.search('cn=index,cn=tasks,cn=config', {
        scope: 'one',
        filter: `(&(cn=${TASK_PREFIX}*)(nsInstance=${escapeFilterValue(this.options.backend)})(nsTaskExitCode=0))`,
        attributes: ['nsIndexAttribute', 'nsIndexVLVAttribute', 'createTimestamp'],
      });
    } catch (err) {
      // No task entry at all (389 DS creates cn=index,cn=tasks with the first one), or not readable.
      if (hasResultCode(err, ResultCode.NoSuchObject) || hasResultCode(err, ResultCode.InsufficientAccess)) return { attributes: [], vlv: [] };
      throw err;
    }
    const covered = async (kind: keyof Build, name: string) => {
      const definition = await this.ldap.read(this.markedDN(kind, name), ['modifyTimestamp', 'createTimestamp']);
      const changed = definition?.first('modifyTimestamp') ?? definition?.first('createTimestamp');
      if (!changed) return false;
      const taskAttribute = kind === 'attributes' ? 'nsIndexAttribute' : 'nsIndexVLVAttribute';
      return tasks.some((t) => t.values(taskAttribute).some((a) => a.split(':')[0].toLowerCase() === name.toLowerCase()) && (t.first('createTimestamp') ?? '') >= changed);
    };
    const built: Build = { attributes: [], vlv: [] };
    for (const kind of ['attributes', 'vlv'] as const) for (const name of build[kind]) if (await covered(kind, name)) built[kind].push(name);
    return built;
  }

  /** Runs one index task to its end: 'busy' when another task held the backend. */
  private async runTask(build: Build, deadline: number): Promise<'done' | 'busy'> {
    const clock = this.options.clock ?? systemClock;
    const task = await startTask(this.ldap, 'index', `${TASK_PREFIX}${clock.now().getTime()}-${process.pid}`, {
      nsInstance: this.options.backend,
      ...(build.attributes.length ? { nsIndexAttribute: build.attributes } : {}),
      ...(build.vlv.length ? { nsIndexVLVAttribute: build.vlv } : {}),
      // Kept a day after it ends (389 DS's most): a later run tells from it that the build is done.
      ttl: '86400',
    });
    if (this.options.dryRun) return 'done';
    const outcome = await waitForTask(this.ldap, task, { deadlineMs: deadline, pollMs: this.options.pollMs, clock });
    if (outcome.exitCode === 0) return 'done';
    if (/in the middle of another task/i.test(outcome.log)) return 'busy';
    throw new Error(`index task ${task.name} for ${describe(build)} failed with exit code ${outcome.exitCode}: ${outcome.status}`);
  }
}

function pendingBuild(entry: DirectoryEntry): boolean {
  return entry.values('description').includes(PENDING_BUILD);
}

function markPending(): Modification {
  return { operation: 'add', attribute: 'description', values: [PENDING_BUILD] };
}

/** Case and spaces after commas do not make a base or a filter another one. */
function normalized(value: string | undefined): string {
  return (value ?? '').replace(/,\s+/g, ',').toLowerCase();
}

function describe(build: Build): string {
  return [...build.attributes, ...build.vlv.map((v) => `VLV ${v}`)].join(', ');
}
