/**
 * The one way this tool creates an entry "if missing" (tracking containers, a server's record,
 * index definitions): idempotent, safe against a concurrent creator, and quiet in dry-run.
 *
 *   1. read the entry;
 *   2. missing: add it with `attributes`; when the add answers "already exists" (68: another run or
 *      server created it between the read and the add), go on as if the read had found it;
 *   3. present: leave it as it is, or, with `merge`, add the values of those attributes of
 *      `attributes` that it lacks, in one modify.
 *
 * Reading first (rather than add, then catch 68) is deliberate: a second run then sends no write
 * at all (no err=68 in the access log), and in dry-run, where writes are recorded instead of sent,
 * an entry that exists records nothing.
 *
 * It never replaces or removes a value of an existing entry: an entry that must end up holding
 * exactly these values (the cluster claim, a step record) is written by its owner, not ensured.
 */
import { hasResultCode, ResultCode, type AttributeMap, type AttributeValue, type DirectoryEntry, type LdapSession, type Modification } from '../core/directory';

export interface EnsureEntryOptions {
  /**
   * Attributes of `attributes` an existing entry must hold every value of: the values it lacks are
   * added. Values compare ignoring case (as index types, matching rules and object classes do).
   * Default: none, an existing entry is left exactly as it is.
   */
  merge?: string[];
  /** More attributes to read from an existing entry, for the caller (returned in `entry`). */
  read?: string[];
  /**
   * Further changes written in the same modify as a merge that adds something, e.g. a marker that
   * must never be missing once the merged values are there. Not called when nothing is merged.
   */
  withMerge?(existing: DirectoryEntry): Modification[];
}

export type EnsuredEntry =
  /** It was missing and is now added with `attributes`. */
  | { action: 'added' }
  /** It existed; `merged` are the changes written to it (none: left as it was). */
  | { action: 'present'; entry: DirectoryEntry; merged: Modification[] };

export async function ensureEntry(ldap: LdapSession, dn: string, attributes: AttributeMap, options: EnsureEntryOptions = {}): Promise<EnsuredEntry> {
  const wanted = [...(options.merge ?? []), ...(options.read ?? [])];
  const read = () => ldap.read(dn, wanted.length > 0 ? wanted : ['1.1']);
  let existing = await read();
  // Normally once; again only when the entry vanished between a refused add and the read after it.
  for (let attempt = 1; !existing; attempt++) {
    try {
      await ldap.add(dn, attributes);
      return { action: 'added' };
    } catch (err) {
      if (!hasResultCode(err, ResultCode.EntryAlreadyExists) || attempt >= 3) throw err;
    }
    existing = await read();
  }
  const merged = missingValues(existing, attributes, options.merge ?? []);
  if (merged.length > 0) {
    merged.push(...(options.withMerge?.(existing) ?? []));
    await ldap.modify(dn, merged);
  }
  return { action: 'present', entry: existing, merged };
}

/** `add` changes for the values of `names` in `attributes` that `entry` lacks. */
function missingValues(entry: DirectoryEntry, attributes: AttributeMap, names: string[]): Modification[] {
  const changes: Modification[] = [];
  for (const name of names) {
    const given = Object.entries(attributes).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    if (given === undefined) continue;
    const have = new Set(entry.buffers(name).map((b) => b.toString('utf8').toLowerCase()));
    const lacking = (Array.isArray(given) ? given : [given]).filter((v) => !have.has(text(v).toLowerCase()));
    if (lacking.length > 0) changes.push({ operation: 'add', attribute: name, values: lacking });
  }
  return changes;
}

function text(value: AttributeValue): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}
