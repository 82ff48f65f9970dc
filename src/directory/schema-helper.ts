/** Adds or updates schema in cn=schema (which replicates): idempotent, matched by NAME. */
import type { LdapSession, Modification } from '../core/directory';
import type { SchemaChange, SchemaHelper } from '../core/step';
import { parseDefinition, sameDefinition } from './schema-definition';

type Kind = 'attributeTypes' | 'objectClasses';

export class LdapSchemaHelper implements SchemaHelper {
  constructor(private readonly ldap: LdapSession) {}

  async ensure(definitions: { attributeTypes?: string[]; objectClasses?: string[] }): Promise<SchemaChange[]> {
    const changes: SchemaChange[] = [];
    // Attribute types first: object classes may name them.
    for (const kind of ['attributeTypes', 'objectClasses'] as Kind[]) {
      const wanted = definitions[kind] ?? [];
      if (wanted.length === 0) continue;
      const existing = await this.current(kind);
      const mods: Modification[] = [];
      for (const text of wanted) {
        const definition = parseDefinition(text);
        const name = definition.names[0];
        if (!name) throw new Error(`schema definition without NAME: ${text}`);
        const present = existing.get(name.toLowerCase());
        if (!present) {
          mods.push({ operation: 'add', attribute: kind, values: [text] });
          changes.push({ kind, name, action: 'added' });
        } else if (!sameDefinition(parseDefinition(present), definition)) {
          // 389 DS replaces a definition when the old value is deleted and the new one added in
          // the same modify.
          mods.push({ operation: 'delete', attribute: kind, values: [present] });
          mods.push({ operation: 'add', attribute: kind, values: [text] });
          changes.push({ kind, name, action: 'replaced' });
        }
      }
      if (mods.length > 0) await this.ldap.modify('cn=schema', mods);
    }
    return changes;
  }

  async hasAttributeType(name: string): Promise<boolean> {
    return (await this.current('attributeTypes')).has(name.toLowerCase());
  }

  async hasObjectClass(name: string): Promise<boolean> {
    return (await this.current('objectClasses')).has(name.toLowerCase());
  }

  /** Stored definitions by lower-case name (every NAME of a definition maps to it). */
  private async current(kind: Kind): Promise<Map<string, string>> {
    const entry = await this.ldap.read('cn=schema', [kind]);
    const byName = new Map<string, string>();
    for (const text of entry?.values(kind) ?? []) {
      for (const name of parseDefinition(text).names) byName.set(name.toLowerCase(), text);
    }
    return byName;
  }
}
