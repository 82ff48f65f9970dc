/**
 * What an index definition of a backend carries from the step that defines it until an index task
 * has built it (index-helper.ts writes them, index-builds.ts reads and clears them):
 *  - PENDING_BUILD, the mark: the definition alone does not say whether a build happened;
 *  - HELD, what the definition is to become, while 389 DS must not search through it yet.
 *
 * Why held: 389 DS trusts an index definition as built in cases where it is not, and a search
 * through it then misses entries (measured on 389 DS 2.3.1, BDB; docs/operating.md, "Index builds"):
 *  - a type or matching rule added to an attribute index in use is used at once;
 *  - an attribute index added online is left out of searches only until 389 DS restarts;
 *  - a VLV index holds the entries written since it was defined, and after a restart 389 DS
 *    answers from them alone; a changed vlvSearch or vlvSort is taken only at a restart, and an
 *    index task run before it builds what 389 DS had (the old filter).
 * A held attribute index has nsIndexType `none` (new) or keeps the types it had (built); a held
 * VLV search has no vlvIndex entry (new) or keeps the entries it had. Both are searched
 * unindexed, with every entry, across restarts too, until the build gives them their definition.
 */
import type { DirectoryEntry, Modification } from '../core/directory';
import { DirectoryError } from '../core/errors';

/** On an index definition: defined or completed by pki-db-upgrade, index task not finished yet. */
export const PENDING_BUILD = 'pki-db-upgrade: index not built yet (index task pending)';

/**
 * On a VLV index whose search or sort changed in place: its build waits until 389 DS has
 * restarted, when it takes the change (index-builds.ts, activateVlvSearch).
 */
export const PENDING_RESTART = 'pki-db-upgrade: VLV definition changed, built once 389 DS has restarted (it takes the change then)';

/** The description that holds what a definition is to become, as JSON, until its build. */
const HELD_PREFIX = 'pki-db-upgrade: to build as ';

/** What a held attribute index becomes when its build starts. */
export interface HeldIndex {
  types: string[];
  matchingRules: string[];
}

/** What a held VLV search becomes when its build starts: the search and its indexes. */
export interface HeldVlvSearch {
  base: string;
  /** vlvScope: 0, 1 or 2. */
  scope: string;
  filter: string;
  indexes: { name: string; sort: string }[];
}

/** A definition a step marked: an attribute index (nsIndex), a VLV index (vlvIndex) or a held VLV search (vlvSearch), by its cn. */
export interface MarkedDefinition {
  kind: 'attribute' | 'vlv' | 'vlv-search';
  name: string;
  dn: string;
  /** An attribute index held until its build. */
  held?: HeldIndex;
  /** A VLV search held until its build (kind vlv-search). */
  heldVlv?: HeldVlvSearch;
  /** A VLV index changed in place (PENDING_RESTART): built once 389 DS has restarted. */
  afterRestart?: boolean;
}

/**
 * How a VLV search in place (its entry and its vlvIndex entries) differs from `wanted`: `rewrite`
 * when its base, scope or filter differ or an index of it is sorted otherwise (389 DS takes those
 * only when the entries are added again), `missing` the indexes it lacks.
 */
export function vlvDifferences(search: DirectoryEntry, indexes: DirectoryEntry[], wanted: HeldVlvSearch): { rewrite: boolean; missing: string[] } {
  const present = (name: string) => indexes.find((i) => i.first('cn')?.toLowerCase() === name.toLowerCase());
  const rewrite =
    !sameText(search.first('vlvBase'), wanted.base) ||
    search.first('vlvScope') !== wanted.scope ||
    !sameText(search.first('vlvFilter'), wanted.filter) ||
    wanted.indexes.some((w) => present(w.name) !== undefined && present(w.name)!.first('vlvSort') !== w.sort);
  return { rewrite, missing: wanted.indexes.filter((w) => !present(w.name)).map((w) => w.name) };
}

/** Case and spaces after commas do not make a base or a filter another one. */
function sameText(a: string | undefined, b: string): boolean {
  const norm = (v: string) => v.replace(/,\s+/g, ',').toLowerCase();
  return a !== undefined && norm(a) === norm(b);
}

export function pendingBuild(entry: DirectoryEntry): boolean {
  return entry.values('description').includes(PENDING_BUILD);
}

/** The changes that hold `existing` as `after`: marked (if it is not yet), its earlier hold replaced. */
export function holdChanges(existing: DirectoryEntry, before: HeldIndex | HeldVlvSearch | undefined, after: HeldIndex | HeldVlvSearch): Modification[] {
  return [
    ...(pendingBuild(existing) ? [] : [{ operation: 'add' as const, attribute: 'description', values: [PENDING_BUILD] }]),
    ...(before ? [{ operation: 'delete' as const, attribute: 'description', values: [heldValue(before)] }] : []),
    { operation: 'add', attribute: 'description', values: [heldValue(after)] },
  ];
}

/** The description value of a held definition. */
export function heldValue(held: HeldIndex | HeldVlvSearch): string {
  const json =
    'types' in held
      ? { nsIndexType: held.types, ...(held.matchingRules.length ? { nsMatchingRule: held.matchingRules } : {}) }
      : { vlvBase: held.base, vlvScope: held.scope, vlvFilter: held.filter, vlvIndex: held.indexes.map((i) => ({ cn: i.name, vlvSort: i.sort })) };
  return HELD_PREFIX + JSON.stringify(json);
}

/** The held types and rules of an attribute index, if it is held. */
export function heldIndex(entry: DirectoryEntry): HeldIndex | undefined {
  const held = heldJson(entry);
  if (!held) return undefined;
  return { types: strings(entry, held.nsIndexType), matchingRules: held.nsMatchingRule === undefined ? [] : strings(entry, held.nsMatchingRule) };
}

/** The held definition of a VLV search, if it is held. */
export function heldVlvSearch(entry: DirectoryEntry): HeldVlvSearch | undefined {
  const held = heldJson(entry);
  if (!held) return undefined;
  const indexes = Array.isArray(held.vlvIndex) ? held.vlvIndex : corrupt(entry);
  return {
    base: string(entry, held.vlvBase),
    scope: string(entry, held.vlvScope),
    filter: string(entry, held.vlvFilter),
    indexes: indexes.map((i: Record<string, unknown>) => ({ name: string(entry, i?.cn), sort: string(entry, i?.vlvSort) })),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function heldJson(entry: DirectoryEntry): Record<string, any> | undefined {
  const value = entry.values('description').find((d) => d.startsWith(HELD_PREFIX));
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.slice(HELD_PREFIX.length));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : corrupt(entry);
  } catch {
    return corrupt(entry);
  }
}

function string(entry: DirectoryEntry, value: unknown): string {
  return typeof value === 'string' ? value : corrupt(entry);
}

function strings(entry: DirectoryEntry, value: unknown): string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : corrupt(entry);
}

function corrupt(entry: DirectoryEntry): never {
  throw new DirectoryError(
    `${entry.dn}: its description "${HELD_PREFIX}..." is not what pki-db-upgrade writes`,
    'put back the value pki-db-upgrade wrote (JSON, as the other definitions held show it) or remove the definition, then run pki-db-upgrade again',
  );
}
