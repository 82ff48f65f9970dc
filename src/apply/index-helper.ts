/**
 * Index definitions of one backend (cn=config: local to each 389 DS, so index steps are server
 * scope), and VLV searches (vlvSearch, with their vlvIndex entries), which are definitions of the
 * backend too.
 *
 * Crash safety: 389 DS keeps an index added online "offline" (every search on it runs unindexed)
 * until an index task has built it, or until it restarts (then it trusts the incomplete index), and
 * the definition alone does not say whether a build happened.
 * So every definition this helper adds or completes carries the description PENDING_BUILD,
 * written in the same operation, and removed only once an index task built it: the run's last
 * phase on the database builds whatever carries it (index-builds.ts), whichever run that is.
 * ensure() reports a definition still carrying it as changed.
 */
import type { DirectoryEntry, LdapSession, Modification } from '../core/directory';
import type { IndexHelper, IndexSpec, VlvSearchSpec } from '../core/step';
import { backendConfigDN } from '../ldap/backend';
import { ensureEntry } from '../ldap/ensure-entry';
import { escapeRdnValue } from '../ldap/filter';

export interface IndexHelperOptions {
  backend: string;
  /** Told of each definition marked (the run's builds: a dry-run writes no mark to find). */
  onMarked?: (kind: 'attribute' | 'vlv', name: string, dn: string) => void;
}

/** On an index definition: defined or completed by pki-db-upgrade, index task not finished yet. */
export const PENDING_BUILD = 'pki-db-upgrade: index not built yet (index task pending)';

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
      if (outcome.action === 'added' || outcome.merged.length > 0 || pendingBuild(outcome.entry)) {
        changed.push(spec.attribute);
        this.options.onMarked?.('attribute', spec.attribute, this.indexDN(spec.attribute));
      }
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
          this.options.onMarked?.('vlv', index.name, indexDN);
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

/** Case and spaces after commas do not make a base or a filter another one. */
function normalized(value: string | undefined): string {
  return (value ?? '').replace(/,\s+/g, ',').toLowerCase();
}
