/**
 * Index definitions of one backend (cn=config: local to each 389 DS, so index steps are server
 * scope), and VLV searches (vlvSearch, with their vlvIndex entries), which are definitions of the
 * backend too.
 *
 * Every definition this helper adds or completes carries the mark PENDING_BUILD, written in the
 * same operation, and is held until built (index-marks.ts says what each carries and why): the
 * run's last phase on the database builds whatever carries the mark (index-builds.ts), whichever
 * run that is, and gives held definitions their definition right before its task. ensure() and
 * ensureVlv() report a definition still marked as changed.
 */
import type { DirectoryEntry, LdapSession } from '../core/directory';
import type { IndexHelper, IndexSpec, VlvSearchSpec } from '../core/step';
import { backendConfigDN } from '../ldap/backend';
import { ensureEntry } from '../ldap/ensure-entry';
import { escapeRdnValue } from '../ldap/filter';
import { heldIndex, heldValue, heldVlvSearch, holdChanges, pendingBuild, PENDING_BUILD, vlvDifferences, type HeldIndex, type HeldVlvSearch, type MarkedDefinition } from './index-marks';

export interface IndexHelperOptions {
  backend: string;
  /** Told of each definition marked (the run's builds: a dry-run writes no mark to find). */
  onMarked?: (definition: MarkedDefinition) => void;
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
    await this.ldap.modify(dn, holdChanges(existing, before, after));
    return after;
  }

  async ensureVlv(searches: VlvSearchSpec[]): Promise<string[]> {
    const changed: string[] = [];
    for (const search of searches) {
      const dn = this.vlvSearchDN(search.name);
      const wanted: HeldVlvSearch = { base: search.base, scope: SCOPES[search.scope], filter: search.filter, indexes: search.indexes.map((i) => ({ name: i.name, sort: i.sort })) };
      const names = wanted.indexes.map((i) => i.name);
      const outcome = await ensureEntry(
        this.ldap,
        dn,
        // extensibleObject lets a vlvSearch carry the mark and what it is held as (index-marks.ts).
        { objectClass: ['top', 'vlvSearch', 'extensibleObject'], cn: search.name, vlvBase: wanted.base, vlvScope: wanted.scope, vlvFilter: wanted.filter, description: [PENDING_BUILD, heldValue(wanted)] },
        { read: ['vlvBase', 'vlvScope', 'vlvFilter', 'objectClass', 'description'] },
      );
      if (outcome.action === 'added' || (await this.holdVlv(dn, outcome.entry, wanted))) {
        changed.push(...names);
        this.options.onMarked?.({ kind: 'vlv-search', name: search.name, dn, heldVlv: wanted });
        continue;
      }
      // In force as wanted: still owed only where a build was started and did not finish.
      for (const index of await this.vlvIndexes(dn)) {
        if (!names.some((n) => n.toLowerCase() === index.first('cn')?.toLowerCase()) || !pendingBuild(index)) continue;
        changed.push(index.first('cn')!);
        this.options.onMarked?.({ kind: 'vlv', name: index.first('cn')!, dn: index.dn });
      }
    }
    return changed;
  }

  /**
   * An existing VLV search: held with `wanted` (it keeps the entries it has, in force and built,
   * until the build) when it is held already, or differs from it (its base, scope or filter, an
   * index missing or sorted otherwise). False when it is in force as wanted.
   */
  private async holdVlv(dn: string, existing: DirectoryEntry, wanted: HeldVlvSearch): Promise<boolean> {
    const before = heldVlvSearch(existing);
    if (!before) {
      const { rewrite, missing } = vlvDifferences(existing, await this.vlvIndexes(dn), wanted);
      if (!rewrite && missing.length === 0) return false;
    }
    if (before && heldValue(before) === heldValue(wanted)) return true;
    const extensible = existing.values('objectClass').some((c) => c.toLowerCase() === 'extensibleobject');
    await this.ldap.modify(dn, [...(extensible ? [] : [{ operation: 'add' as const, attribute: 'objectClass', values: ['extensibleObject'] }]), ...holdChanges(existing, before, wanted)]);
    return true;
  }

  private async vlvIndexes(searchDN: string): Promise<DirectoryEntry[]> {
    return this.ldap.search(searchDN, { scope: 'one', filter: '(objectClass=vlvIndex)', attributes: ['cn', 'vlvSort', 'description'] });
  }

  private indexDN(attribute: string): string {
    return `cn=${escapeRdnValue(attribute)},cn=index,${this.backendDN}`;
  }

  private vlvSearchDN(search: string): string {
    return `cn=${escapeRdnValue(search)},${this.backendDN}`;
  }
}

/** `a` and the values of `b` it lacks, ignoring case (as index types and matching rules compare). */
function union(a: string[], b: string[]): string[] {
  const have = new Set(a.map((v) => v.toLowerCase()));
  return [...a, ...b.filter((v) => !have.has(v.toLowerCase()))];
}
