/**
 * The run's index builds on one backend (src/core/index-build.ts): every definition that carries
 * the mark PENDING_BUILD (index-marks.ts), built by one 389 DS index task, then unmarked.
 *
 * What is owed is read from the marks, not from this run's steps: a run killed after its steps
 * (e.g. at the %posttrans time limit, during the task) leaves them, and the next run builds them,
 * even one with nothing else to do. 389 DS carries on the task of a run that was killed and keeps
 * its entry, with its exit code, for the task's ttl (set to the most 389 DS allows, a day): before
 * building, a finished, successful task of this tool that covered a definition and was created
 * after the definition's last change (modifyTimestamp) says it is built, and only its mark goes.
 * A build longer than any one run so completes over several runs, never starting over.
 *
 * A held definition (index-marks.ts) gets its definition right before the task (activateHeld), in
 * the way 389 DS keeps it out of searches until the task has built it.
 *
 * While the task runs the backend is read-only (ds-task.ts): the wait follows the task's progress,
 * logs it, and gives up only when it stops moving. `index_builds = manual` (db-upgrade.conf) leaves
 * the builds of the automatic runs to a run by hand (docs/operating.md, "Index builds").
 */
import { systemClock, type Clock } from '../core/clock';
import { hasResultCode, ResultCode, type DirectoryEntry, type LdapSession, type Modification } from '../core/directory';
import { DirectoryError } from '../core/errors';
import type { IndexBuildPort, IndexBuildResult, OwedIndexBuilds } from '../core/index-build';
import type { Logger } from '../core/logger';
import { backendConfigDN } from '../ldap/backend';
import { runningBackendTasks, startTask, waitForBackendTasks, waitForTask } from '../ldap/ds-task';
import { escapeFilterValue, escapeRdnValue } from '../ldap/filter';
import { heldIndex, heldValue, heldVlvSearch, PENDING_BUILD, PENDING_RESTART, vlvDifferences, type HeldVlvSearch, type MarkedDefinition } from './index-marks';

/** The name of this tool's index tasks, then the time and the pid. */
export const INDEX_TASK_PREFIX = 'pki-db-upgrade-';

/** Why a changed VLV definition is not built yet. */
const AFTER_RESTART = '389 DS takes the changed VLV definition at its next restart';

/** How often an index task refused because another task held the backend is retried. */
const BUSY_RETRIES = 5;

/** A build whose status has not moved this long is given up (it may still be running). */
const STALL_MS = 15 * 60_000;

/** The definitions a run's steps marked, by DN: a dry-run writes no mark for the build to find. */
export class MarkedDefinitions {
  private readonly byDN = new Map<string, Definition>();

  note(definition: Definition): void {
    this.byDN.set(definition.dn.toLowerCase(), definition);
  }

  all(): Definition[] {
    return [...this.byDN.values()];
  }
}

export interface IndexBuildOptions {
  /** The server's session, or the dry-run recorder in front of it. */
  ldap: LdapSession;
  backend: string;
  dryRun: boolean;
  logger: Logger;
  /** What this run's steps marked (index-helper.ts tells it). */
  marked?: MarkedDefinitions;
  /** Set: leave the builds for a run by hand; says why (the setting and its file). */
  defer?: string;
  pollMs?: number;
  /** How often the task's progress is logged (default 30 s). */
  progressMs?: number;
  clock?: Clock;
}

type Definition = MarkedDefinition;

export class LdapIndexBuilds implements IndexBuildPort {
  private startUnknownTold = false;

  constructor(private readonly options: IndexBuildOptions) {}

  async owed(): Promise<OwedIndexBuilds> {
    const marked = await this.markedOnServer();
    const restarted = marked.length > 0 ? await this.trustedSinceRestart(marked) : [];
    const running = (await runningBackendTasks(this.options.ldap, this.options.backend)).find((t) => t.dn.toLowerCase().startsWith(`cn=${INDEX_TASK_PREFIX}`));
    return {
      owed: marked.flatMap(namesOf),
      held: marked.filter(isHeld).flatMap(namesOf),
      trusted: restarted.flatMap(namesOf),
      afterRestart: marked.filter((d) => d.afterRestart && !restarted.includes(d)).flatMap(namesOf),
      ...(running ? { running: { task: running.dn, status: running.status ?? '' } } : {}),
    };
  }

  async build(): Promise<IndexBuildResult> {
    const { logger, dryRun, defer } = this.options;
    const definitions = await this.toBuild();
    if (definitions.length === 0) return { outcome: 'none' };
    const names = definitions.flatMap(namesOf);
    if (dryRun) {
      const activated = await activateAll(this.options.ldap, definitions, this.options.clock ?? systemClock);
      const waiting = await this.waitingForRestart(activated);
      const now = activated.filter((d) => !waiting.includes(d));
      if (waiting.length > 0) logger.info(`would leave ${describe(waiting)} on backend ${this.options.backend} for the first run after a restart of 389 DS (it takes the changed VLV definition then)`);
      if (now.length === 0) return { outcome: 'deferred', names: waiting.map((d) => d.name), reason: AFTER_RESTART, waiting: waiting.map((d) => d.name) };
      await this.startTask(now);
      logger.info(`would build in one index task on backend ${this.options.backend}: ${describe(now)}`);
      return { outcome: 'planned', names: now.map((d) => d.name), ...(waiting.length ? { waiting: waiting.map((d) => d.name) } : {}) };
    }
    if (defer) {
      const trusted = await this.trustedSinceRestart(definitions);
      if (trusted.length === 0) {
        // Held definitions stay out of searches across restarts; one a build activated does not.
        const exposed = definitions.filter((d) => !isHeld(d));
        const until = exposed.length === 0 ? 'run pki-db-upgrade when the backend may be read-only for the build' : `and ${describe(exposed)} miss entries if 389 DS restarts first; run pki-db-upgrade when the backend may be read-only for the build, before the next restart of 389 DS`;
        logger.warn(`index build left for a run by hand (${defer}): ${describe(definitions)} on backend ${this.options.backend}; searches on them run unindexed until then, ${until}`);
        return { outcome: 'deferred', names, reason: defer };
      }
      logger.warn(`389 DS restarted since ${describe(trusted)} on backend ${this.options.backend} was defined: it now searches through them as if built, and misses entries; building now, although ${defer}`);
    }
    const clock = this.options.clock ?? systemClock;
    const started = clock.monotonicMs();
    let left = definitions;
    const reused: Definition[] = [];
    const waiting: Definition[] = [];
    for (let attempt = 0; ; attempt++) {
      // A task left running by an interrupted run (389 DS carries it on) holds the backend: wait.
      await waitForBackendTasks(this.options.ldap, this.options.backend, { timeoutMs: STALL_MS, pollMs: this.options.pollMs, progressMs: this.options.progressMs ?? 30_000, clock, logger });
      // Activated first: what activation changes (a VLV sort, say) no earlier task has built.
      left = await activateAll(this.options.ldap, left, clock);
      const built = await this.builtWhileNobodyWatched(left);
      if (built.length > 0) {
        logger.info(`index task of an earlier run already built ${built.map((d) => d.name).join(', ')}: not built again`);
        reused.push(...built);
        left = left.filter((d) => !built.includes(d));
      }
      // A VLV definition changed in place is built only once 389 DS has taken the change (a restart).
      const later = await this.waitingForRestart(left);
      if (later.length > 0) {
        logger.info(`${describe(later)} on backend ${this.options.backend}: the VLV definition changed, and 389 DS takes it at its next restart; the first run after it builds the index`);
        waiting.push(...later);
        left = left.filter((d) => !later.includes(d));
      }
      if (left.length === 0) break;
      if ((await this.runTask(left)) === 'done') break;
      if (attempt >= BUSY_RETRIES) {
        throw new DirectoryError(`index task for ${describe(left)}: backend ${this.options.backend} stayed busy with another task`, 'run pki-db-upgrade again once the other task has finished');
      }
    }
    const built = [...reused, ...left];
    const later = waiting.length ? { waiting: waiting.map((d) => d.name) } : {};
    if (built.length === 0) return waiting.length ? { outcome: 'deferred', names: waiting.map((d) => d.name), reason: AFTER_RESTART, ...later } : { outcome: 'none' };
    for (const d of built) await this.clearMark(d);
    const durationMs = clock.monotonicMs() - started;
    logger.info(`index build finished on backend ${this.options.backend}: ${describe(built)} in ${(durationMs / 1000).toFixed(1)} s`);
    return { outcome: 'built', names: built.map((d) => d.name), reused: reused.map((d) => d.name), durationMs, ...later };
  }

  /** The marked definitions on the server, then in dry-run those its steps marked that the server does not show. */
  private async toBuild(): Promise<Definition[]> {
    const found = await this.markedOnServer();
    if (!this.options.dryRun) return found;
    const seen = new Set(found.map((d) => d.dn.toLowerCase()));
    return [...found, ...(this.options.marked?.all() ?? []).filter((d) => !seen.has(d.dn.toLowerCase()))];
  }

  private async markedOnServer(): Promise<Definition[]> {
    let entries: DirectoryEntry[];
    try {
      entries = await this.options.ldap.search(backendConfigDN(this.options.backend), {
        scope: 'sub',
        filter: `(description=${escapeFilterValue(PENDING_BUILD)})`,
        attributes: ['cn', 'objectClass', 'description'],
      });
    } catch (err) {
      // A bind DN that may not read cn=config cannot build either: its steps' writes said so.
      if (hasResultCode(err, ResultCode.NoSuchObject) || hasResultCode(err, ResultCode.InsufficientAccess)) return [];
      throw err;
    }
    // Attribute indexes first, then VLV (the order of the task's attributes and of the log).
    const kinds: Definition['kind'][] = ['attribute', 'vlv-search', 'vlv'];
    return entries.flatMap((e): Definition[] => {
      const classes = e.values('objectClass').map((c) => c.toLowerCase());
      const name = e.first('cn');
      if (!name) return [];
      if (classes.includes('vlvindex')) return [{ kind: 'vlv', name, dn: e.dn, ...(e.values('description').includes(PENDING_RESTART) ? { afterRestart: true } : {}) }];
      if (classes.includes('nsindex')) {
        const held = heldIndex(e);
        return [{ kind: 'attribute', name, dn: e.dn, ...(held ? { held } : {}) }];
      }
      const heldVlv = classes.includes('vlvsearch') ? heldVlvSearch(e) : undefined;
      return heldVlv ? [{ kind: 'vlv-search', name, dn: e.dn, heldVlv }] : [];
    }).sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind));
  }

  /**
   * The definitions 389 DS has trusted since it restarted: it keeps an index added online out of
   * searches until it is built (INDEX_OFFLINE), but not across a restart, after which a search
   * through it misses every entry written before the definition. So a deferred build may wait
   * only while the server has run since each definition's last change (one-second timestamps: the
   * same second counts as a restart since). Without cn=monitor's start time nothing is known.
   * A held definition is never trusted: nsIndexType none keeps it out of searches.
   */
  private async trustedSinceRestart(all: Definition[]): Promise<Definition[]> {
    const definitions = all.filter((d) => !isHeld(d));
    if (definitions.length === 0) return [];
    const started = await this.serverStart();
    if (!started) return [];
    const trusted: Definition[] = [];
    for (const d of definitions) {
      const { changed } = await this.readDefinition(d);
      if (changed && changed <= started) trusted.push(d);
    }
    return trusted;
  }

  /**
   * The VLV indexes changed in place (PENDING_RESTART) that 389 DS has not restarted since: changed
   * after its start (the change is dated after the start's second, activateVlvSearch), or changed
   * by this dry-run (recorded, not written: the server shows no restart mark yet). Without
   * cn=monitor's start time, all of them.
   */
  private async waitingForRestart(definitions: Definition[]): Promise<Definition[]> {
    const changedInPlace = definitions.filter((d) => d.afterRestart);
    if (changedInPlace.length === 0) return [];
    const started = await this.serverStart();
    if (!started) this.warnStartUnknown(changedInPlace);
    const waiting: Definition[] = [];
    for (const d of changedInPlace) {
      const { changed, marks } = await this.readDefinition(d);
      if (!marks.includes(PENDING_RESTART) || !started || !changed || changed > started) waiting.push(d);
    }
    return waiting;
  }

  /**
   * Without the start time no run can tell that 389 DS took a changed VLV definition, so its index
   * would wait at every run: say why, once per run, and what lets it go on.
   */
  private warnStartUnknown(definitions: Definition[]): void {
    if (this.startUnknownTold) return;
    this.startUnknownTold = true;
    this.options.logger.warn(
      `cannot read startTime of cn=monitor on ${this.options.ldap.url}, so no run can tell that 389 DS restarted since the definition of ${describe(definitions)} on backend ${this.options.backend} changed: ` +
        'the build waits → let the bind DN read cn=monitor (389 DS lets anyone by default) or run as root in instance mode (Directory Manager over LDAPI); the first run after that and a restart of 389 DS builds it',
    );
  }

  /** When 389 DS started (cn=monitor), if it says. */
  private async serverStart(): Promise<string | undefined> {
    return (await this.options.ldap.read('cn=monitor', ['startTime']).catch(() => undefined))?.first('startTime');
  }

  /** A definition's last change (modifyTimestamp, else createTimestamp: GeneralizedTime, comparable as text) and its marks. */
  private async readDefinition(d: Definition): Promise<{ changed?: string; marks: string[] }> {
    const definition = await this.options.ldap.read(d.dn, ['modifyTimestamp', 'createTimestamp', 'description']);
    return { changed: definition?.first('modifyTimestamp') ?? definition?.first('createTimestamp'), marks: definition?.values('description') ?? [] };
  }

  /**
   * What of `definitions` a finished, successful index task of this tool built after the
   * definition last changed (timestamps have one-second resolution: a task created in the same
   * second as the mark came after it, as the mark is written before any task is started).
   */
  private async builtWhileNobodyWatched(all: Definition[]): Promise<Definition[]> {
    // A held definition was never given to a task: activation comes right before one.
    const definitions = all.filter((d) => !isHeld(d));
    if (definitions.length === 0) return [];
    // A changed VLV definition counts as built only by a task after 389 DS took it (a restart).
    const started = definitions.some((d) => d.afterRestart) ? await this.serverStart() : undefined;
    let tasks: DirectoryEntry[];
    try {
      tasks = await this.options.ldap.search('cn=index,cn=tasks,cn=config', {
        scope: 'one',
        filter: `(&(cn=${INDEX_TASK_PREFIX}*)(nsInstance=${escapeFilterValue(this.options.backend)})(nsTaskExitCode=0))`,
        attributes: ['nsIndexAttribute', 'nsIndexVLVAttribute', 'createTimestamp'],
      });
    } catch (err) {
      // No task entry at all (389 DS creates cn=index,cn=tasks with the first one), or not readable.
      if (hasResultCode(err, ResultCode.NoSuchObject) || hasResultCode(err, ResultCode.InsufficientAccess)) return [];
      throw err;
    }
    const built: Definition[] = [];
    for (const d of definitions) {
      const { changed } = await this.readDefinition(d);
      if (!changed) continue;
      const taskAttribute = d.kind === 'attribute' ? 'nsIndexAttribute' : 'nsIndexVLVAttribute';
      // A changed VLV definition: only a task after a restart that came after the change.
      const after = (t: DirectoryEntry) =>
        (t.first('createTimestamp') ?? '') >= changed && (!d.afterRestart || (started !== undefined && changed <= started && (t.first('createTimestamp') ?? '') > started));
      const covered = tasks.some((t) => t.values(taskAttribute).some((a) => a.split(':')[0].toLowerCase() === d.name.toLowerCase()) && after(t));
      if (covered) built.push(d);
    }
    return built;
  }

  private startTask(definitions: Definition[]) {
    const clock = this.options.clock ?? systemClock;
    const of = (kind: Definition['kind']) => definitions.filter((d) => d.kind === kind).map((d) => d.name);
    const attributes = of('attribute');
    const vlv = of('vlv');
    return startTask(this.options.ldap, 'index', `${INDEX_TASK_PREFIX}${clock.now().getTime()}-${process.pid}`, {
      nsInstance: this.options.backend,
      ...(attributes.length ? { nsIndexAttribute: attributes } : {}),
      ...(vlv.length ? { nsIndexVLVAttribute: vlv } : {}),
      // Kept a day after it ends (389 DS's most): a later run tells from it that the build is done.
      ttl: '86400',
    });
  }

  /** Runs one index task to its end, logging its progress: 'busy' when another task held the backend. */
  private async runTask(definitions: Definition[]): Promise<'done' | 'busy'> {
    const { logger, backend } = this.options;
    const clock = this.options.clock ?? systemClock;
    logger.info(`index task on backend ${backend} for ${describe(definitions)}: the backend is read-only until it ends`);
    const task = await this.startTask(definitions);
    let lastLogged: number | undefined;
    const outcome = await waitForTask(this.options.ldap, task, {
      stallMs: STALL_MS,
      pollMs: this.options.pollMs,
      clock,
      onStatus: (status) => {
        if (lastLogged !== undefined && clock.monotonicMs() - lastLogged < (this.options.progressMs ?? 30_000)) return;
        lastLogged = clock.monotonicMs();
        logger.info(`index task ${task.name}: ${status}`);
      },
    });
    if (outcome.exitCode === 0) return 'done';
    if (/in the middle of another task/i.test(outcome.log)) return 'busy';
    throw new DirectoryError(`index task ${task.name} for ${describe(definitions)} failed with exit code ${outcome.exitCode}: ${outcome.status}`, 'see the errors log of the server; the definitions stay marked and the next run builds them');
  }

  /** Removes the marks of a built definition (removeMarks). */
  private async clearMark(d: Definition): Promise<void> {
    await removeMarks(this.options.ldap, d.dn, d.afterRestart ? [PENDING_BUILD, PENDING_RESTART] : [PENDING_BUILD], d.kind === 'vlv');
  }
}

/** Activates each held definition (activateHeld): what the task is then to build. */
async function activateAll(ldap: LdapSession, definitions: Definition[], clock: Clock): Promise<Definition[]> {
  // By DN: a held search also returns its indexes that were marked already (found on their own too).
  const byDN = new Map<string, Definition>();
  for (const d of definitions) {
    for (const a of await activateHeld(ldap, d, clock)) {
      const key = a.dn.toLowerCase();
      byDN.set(key, byDN.get(key)?.afterRestart ? byDN.get(key)! : a);
    }
  }
  return [...byDN.values()];
}

/**
 * Gives a held definition its definition right before its task (index-marks.ts says why), and
 * returns what the task is to build: the definition itself, or a held VLV search's indexes. The
 * marks stay until the task has built them: a run killed in between finds the definition still
 * held, or marked and in force, and builds it.
 */
export async function activateHeld(ldap: LdapSession, d: MarkedDefinition, clock: Clock = systemClock): Promise<MarkedDefinition[]> {
  if (d.heldVlv) return activateVlvSearch(ldap, d.dn, d.heldVlv, clock);
  if (!d.held) return [d];
  // 389 DS uses at once the types a modify adds to a definition in use, but keeps one that was
  // `none` out of searches (INDEX_OFFLINE) until a task builds it: so first `none`, then the types.
  const current = (await ldap.read(d.dn, ['nsIndexType']))?.values('nsIndexType') ?? [];
  if (!(current.length === 1 && current[0].toLowerCase() === 'none')) {
    await ldap.modify(d.dn, [{ operation: 'replace', attribute: 'nsIndexType', values: ['none'] }]);
  }
  await ldap.modify(d.dn, [
    { operation: 'replace', attribute: 'nsIndexType', values: d.held.types },
    ...(d.held.matchingRules.length ? [{ operation: 'replace' as const, attribute: 'nsMatchingRule', values: d.held.matchingRules }] : []),
    { operation: 'delete', attribute: 'description', values: [heldValue(d.held)] },
  ]);
  return [{ kind: d.kind, name: d.name, dn: d.dn }];
}

/**
 * A held VLV search gets its indexes, marked, and loses its hold. One that differs from what it is
 * to become (its filter, say) is changed in place, and its indexes are marked to be built only
 * once 389 DS has restarted: 389 DS takes a changed vlvSearch or vlvSort only at a restart, and an
 * index task before it builds the old definition (seen on 389 DS 2.3.1: after the restart the new
 * filter answered with the old one's entries); deleting and adding the entries again instead left
 * the next index task waiting for ever on a database lock. Until the restart, the old definition
 * and its index stay consistent.
 */
async function activateVlvSearch(ldap: LdapSession, dn: string, held: HeldVlvSearch, clock: Clock): Promise<MarkedDefinition[]> {
  const search = await ldap.read(dn, ['vlvBase', 'vlvScope', 'vlvFilter']);
  const indexes = search ? await ldap.search(dn, { scope: 'one', filter: '(objectClass=vlvIndex)', attributes: ['cn', 'vlvSort', 'objectClass', 'description'] }) : [];
  const changed = search !== undefined && vlvDifferences(search, indexes, held).rewrite;
  if (changed) {
    // One-second timestamps: the change is dated after 389 DS's start, so that a later run tells
    // from the two whether 389 DS has restarted since (waitingForRestart).
    const monitor = await ldap.read('cn=monitor', ['startTime', 'currentTime']).catch(() => undefined);
    if ((monitor?.first('currentTime') ?? '') <= (monitor?.first('startTime') ?? '')) await clock.sleep(1000);
  }
  // The indexes are marked before the search changes: a run killed in between finds the search
  // still differing (and redoes it) or the marks in place.
  const toBuild: MarkedDefinition[] = [];
  for (const index of held.indexes) {
    const present = indexes.find((i) => i.first('cn')?.toLowerCase() === index.name.toLowerCase());
    const indexDN = present?.dn ?? `cn=${escapeRdnValue(index.name)},${dn}`;
    const marks = changed ? [PENDING_BUILD, PENDING_RESTART] : [PENDING_BUILD];
    if (!present) {
      await ldap.add(indexDN, { objectClass: ['top', 'vlvIndex', 'extensibleObject'], cn: index.name, vlvSort: index.sort, description: marks });
    } else if (changed) {
      const lacking = marks.filter((m) => !present.values('description').includes(m));
      const extensible = present.values('objectClass').some((c) => c.toLowerCase() === 'extensibleobject');
      await ldap.modify(indexDN, [
        { operation: 'replace', attribute: 'vlvSort', values: [index.sort] },
        ...(extensible ? [] : [{ operation: 'add' as const, attribute: 'objectClass', values: ['extensibleObject'] }]),
        ...(lacking.length ? [{ operation: 'add' as const, attribute: 'description', values: lacking }] : []),
      ]);
    }
    // One in force and built (not marked) is left as it is; a changed one waits for the restart.
    if (changed || present?.values('description').includes(PENDING_RESTART)) toBuild.push({ kind: 'vlv', name: index.name, dn: indexDN, afterRestart: true });
    else if (!present || present.values('description').includes(PENDING_BUILD)) toBuild.push({ kind: 'vlv', name: index.name, dn: indexDN });
  }
  if (changed) {
    await ldap.modify(dn, [
      { operation: 'replace', attribute: 'vlvBase', values: [held.base] },
      { operation: 'replace', attribute: 'vlvScope', values: [held.scope] },
      { operation: 'replace', attribute: 'vlvFilter', values: [held.filter] },
    ]);
  }
  // The search as Dogtag's vlv.ldif defines it: its hold and mark go.
  await removeMarks(ldap, dn, [PENDING_BUILD, heldValue(held)], true);
  return toBuild;
}

/**
 * Removes `values` of a definition's description. A vlvSearch or vlvIndex (`vlv`) also loses the
 * extensibleObject that let it carry them, so that it ends as Dogtag's vlv.ldif defines it (top,
 * vlvSearch or vlvIndex); unless it holds something else only extensibleObject allows (65), or
 * never had it (16). Values already gone (released by an earlier run that went no further, or
 * never written: defined by someone else), or the entry gone, leave nothing to remove.
 */
async function removeMarks(ldap: LdapSession, dn: string, values: string[], vlv: boolean): Promise<void> {
  const unmark: Modification = { operation: 'delete', attribute: 'description', values };
  const attempts = vlv ? [[unmark, { operation: 'delete', attribute: 'objectClass', values: ['extensibleObject'] } as Modification], [unmark]] : [[unmark]];
  for (const [i, changes] of attempts.entries()) {
    try {
      await ldap.modify(dn, changes);
      return;
    } catch (err) {
      const last = i === attempts.length - 1;
      if (!last && (hasResultCode(err, ResultCode.ObjectClassViolation) || hasResultCode(err, ResultCode.NoSuchAttribute))) continue;
      if (hasResultCode(err, ResultCode.NoSuchAttribute) || hasResultCode(err, ResultCode.NoSuchObject)) return;
      throw err;
    }
  }
}

/** What a definition stands for in a task, status and the log: a held VLV search, its indexes. */
function namesOf(d: Definition): string[] {
  return d.heldVlv ? d.heldVlv.indexes.map((i) => i.name) : [d.name];
}

function isHeld(d: Definition): boolean {
  return d.held !== undefined || d.heldVlv !== undefined;
}

function describe(definitions: Definition[]): string {
  return definitions.flatMap((d) => (d.kind === 'attribute' ? [d.name] : namesOf(d).map((n) => `VLV ${n}`))).join(', ');
}
