/**
 * Index definitions of one backend (cn=config: local to each 389 DS, so index steps are server
 * scope), and VLV searches (vlvSearch, with their vlvIndex entries), which are definitions of the
 * backend too.
 *
 * Crash safety: the definition alone does not say whether an index task built it. So every
 * definition this helper adds or completes carries the description PENDING_BUILD, written in the
 * same operation, and removed only once an index task built it: the run's last phase on the
 * database builds whatever carries it (index-builds.ts), whichever run that is. ensure() reports a
 * definition still carrying it as changed.
 *
 * Held until built: 389 DS trusts an attribute index as built in two cases where it is not, and
 * then a search through it misses every entry written before (measured on 389 DS 2.3, BDB):
 *  - a type or matching rule added to a definition that exists (a modify) is used at once;
 *  - an index added online is left out of searches (INDEX_OFFLINE) only until 389 DS restarts.
 * Only nsIndexType `none` keeps a definition out of searches across a restart, and a definition
 * that was `none` stays out of them when given its types, until an index task builds it. So a new
 * definition is added as `none`, an existing one keeps the types it had (built), and the types and
 * rules to build go in a second description (HELD); the build activates them right before its
 * task (index-builds.ts). Until then searches on the new types run unindexed, with every entry.
 */
import type { DirectoryEntry, LdapSession, Modification } from '../core/directory';
import type { IndexHelper, IndexSpec, VlvSearchSpec } from '../core/step';
import { backendConfigDN } from '../ldap/backend';
import { ensureEntry } from '../ldap/ensure-entry';
import { escapeRdnValue } from '../ldap/filter';

/** A definition a step marked: an attribute index (nsIndex) or a VLV index (vlvIndex), by its cn. */
export interface MarkedDefinition {
  kind: 'attribute' | 'vlv';
  name: string;
  dn: string;
  /** An attribute index held until its build (what it is to be built as). */
  held?: HeldIndex;
}

export interface IndexHelperOptions {
  backend: string;
  /** Told of each definition marked (the run's builds: a dry-run writes no mark to find). */
  onMarked?: (definition: MarkedDefinition) => void;
}

/** On an index definition: defined or completed by pki-db-upgrade, index task not finished yet. */
export const PENDING_BUILD = 'pki-db-upgrade: index not built yet (index task pending)';

/** The description that holds what a definition is to be built as, until the build activates it. */
const HELD_PREFIX = 'pki-db-upgrade: to build as ';

/** What a held definition becomes when its build starts. */
export interface HeldIndex {
  types: string[];
  matchingRules: string[];
}

/** The held types and rules of a definition, if it is held. */
export function heldIndex(entry: DirectoryEntry): HeldIndex | undefined {
  const value = entry.values('description').find((d) => d.startsWith(HELD_PREFIX));
  if (value === undefined) return undefined;
  const list = (name: string) => (new RegExp(`${name}=(\\S*)`).exec(value)?.[1] ?? '').split(',').filter(Boolean);
  return { types: list('nsIndexType'), matchingRules: list('nsMatchingRule') };
}

/** The description value for a held definition (index types and rule names or OIDs hold no spaces or commas). */
export function heldValue(held: HeldIndex): string {
  return `${HELD_PREFIX}nsIndexType=${held.types.join(',')}` + (held.matchingRules.length ? ` nsMatchingRule=${held.matchingRules.join(',')}` : '');
}

const SCOPES = { base: '0', one: '1', sub: '2' } as const;

export class LdapIndexHelper implements IndexHelper {
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
      const dn = this.indexDN(spec.attribute);
      const wanted: HeldIndex = { types: spec.types, matchingRules: spec.matchingRules ?? [] };
      const outcome = await ensureEntry(
        this.ldap,
        dn,
        { objectClass: ['top', 'nsIndex'], cn: spec.attribute, nsSystemIndex: 'false', nsIndexType: 'none', description: [PENDING_BUILD, heldValue(wanted)] },
        { read: ['nsIndexType', 'nsMatchingRule', 'description'] },
      );
      let held: HeldIndex | undefined = wanted;
      if (outcome.action === 'present') {
        held = await this.hold(dn, outcome.entry, wanted);
        // Still marked and not held: an earlier run activated it and did not see its index task through.
        if (!held && !pendingBuild(outcome.entry)) continue;
      }
      changed.push(spec.attribute);
      this.options.onMarked?.({ kind: 'attribute', name: spec.attribute, dn, ...(held ? { held } : {}) });
    }
    return changed;
  }

  /**
   * An existing definition that lacks some of `wanted`: marked, and held with what it has and what
   * it lacks (it keeps its active types, built, until the build). Returns what it is held as,
   * undefined when it lacks nothing and is not held.
   */
  private async hold(dn: string, existing: DirectoryEntry, wanted: HeldIndex): Promise<HeldIndex | undefined> {
    const before = heldIndex(existing);
    const base = before ?? { types: existing.values('nsIndexType').filter((t) => t.toLowerCase() !== 'none'), matchingRules: existing.values('nsMatchingRule') };
    const after = { types: union(base.types, wanted.types), matchingRules: union(base.matchingRules, wanted.matchingRules) };
    const lacks = after.types.length > base.types.length || after.matchingRules.length > base.matchingRules.length;
    if (!lacks) return before;
    const changes: Modification[] = [];
    if (!pendingBuild(existing)) changes.push(markPending());
    if (before) changes.push({ operation: 'delete', attribute: 'description', values: [heldValue(before)] });
    changes.push({ operation: 'add', attribute: 'description', values: [heldValue(after)] });
    await this.ldap.modify(dn, changes);
    return after;
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
        if (marked || sortDiffers || differs) {
          changed.push(index.name);
          this.options.onMarked?.({ kind: 'vlv', name: index.name, dn: indexDN });
        }
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
}

function pendingBuild(entry: DirectoryEntry): boolean {
  return entry.values('description').includes(PENDING_BUILD);
}

function markPending(): Modification {
  return { operation: 'add', attribute: 'description', values: [PENDING_BUILD] };
}

/** `a` and the values of `b` it lacks, ignoring case (as index types and matching rules compare). */
function union(a: string[], b: string[]): string[] {
  const have = new Set(a.map((v) => v.toLowerCase()));
  return [...a, ...b.filter((v) => !have.has(v.toLowerCase()))];
}

/** Case and spaces after commas do not make a base or a filter another one. */
function normalized(value: string | undefined): string {
  return (value ?? '').replace(/,\s+/g, ',').toLowerCase();
}
