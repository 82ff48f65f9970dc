/**
 * Dry-run: reads go to the real server, writes are turned into LDIF change records and never sent.
 * Steps are written "check, then change", so they see the database as it is and record the changes
 * they would make.
 */
import type { AttributeMap, DirectoryEntry, LdapSession, Modification, SearchOptions } from '../core/directory';
import { ldifAdd, ldifDelete, ldifModDN, ldifModify } from './ldif';

export class DryRunSession implements LdapSession {
  private count = 0;

  constructor(
    private readonly inner: LdapSession,
    /** Receives each LDIF change record (and comment lines) in order. */
    private readonly sink: (ldif: string) => void,
  ) {}

  get url(): string {
    return this.inner.url;
  }

  get boundAs(): string | undefined {
    return this.inner.boundAs;
  }

  /** Number of write operations recorded so far. */
  get recorded(): number {
    return this.count;
  }

  comment(text: string): void {
    this.sink(text.split('\n').map((l) => `# ${l}`).join('\n') + '\n');
  }

  search(base: string, options?: SearchOptions): Promise<DirectoryEntry[]> {
    return this.inner.search(base, options);
  }

  searchStream(base: string, options?: SearchOptions): AsyncIterable<DirectoryEntry> {
    return this.inner.searchStream(base, options);
  }

  read(dn: string, attributes?: string[], binaryAttributes?: string[]): Promise<DirectoryEntry | undefined> {
    return this.inner.read(dn, attributes, binaryAttributes);
  }

  async add(dn: string, attributes: AttributeMap): Promise<void> {
    this.emit(ldifAdd(dn, attributes));
  }

  async modify(dn: string, changes: Modification[]): Promise<void> {
    this.emit(ldifModify(dn, changes));
  }

  async delete(dn: string): Promise<void> {
    this.emit(ldifDelete(dn));
  }

  async modifyDN(dn: string, newRdn: string, newSuperior?: string): Promise<void> {
    this.emit(ldifModDN(dn, newRdn, newSuperior));
  }

  private emit(record: string): void {
    this.count++;
    this.sink(`${record}\n`);
  }
}
