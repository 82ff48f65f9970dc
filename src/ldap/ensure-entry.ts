/**
 * The one way this tool creates an entry "if missing" (tracking containers, a server's record,
 * index definitions): idempotent, safe against a concurrent creator, and quiet in dry-run.
 *
 *   1. read the entry;
 *   2. missing: add it with `attributes`; when the add answers "already exists" (68: another run or
 *      server created it between the read and the add), go on as if the read had found it;
 *   3. present: leave it as it is, and give the caller what it read (to complete it if it must).
 *
 * Reading first (rather than add, then catch 68) is deliberate: a second run then sends no write
 * at all (no err=68 in the access log), and in dry-run, where writes are recorded instead of sent,
 * an entry that exists records nothing.
 *
 * It never writes to an existing entry: an entry that must end up holding exactly these values (the
 * cluster claim, a step record) is written by its owner, and one to complete (an index definition,
 * index-helper.ts) by the caller, from what was read.
 */
import { hasResultCode, ResultCode, type AttributeMap, type DirectoryEntry, type LdapSession } from '../core/directory';

export interface EnsureEntryOptions {
  /** Attributes to read from an existing entry, for the caller (returned in `entry`). */
  read?: string[];
}

export type EnsuredEntry =
  /** It was missing and is now added with `attributes`. */
  | { action: 'added' }
  /** It existed, and is left as it was. */
  | { action: 'present'; entry: DirectoryEntry };

export async function ensureEntry(ldap: LdapSession, dn: string, attributes: AttributeMap, options: EnsureEntryOptions = {}): Promise<EnsuredEntry> {
  const wanted = options.read ?? [];
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
  return { action: 'present', entry: existing };
}
