/**
 * Just enough LDIF (RFC 2849) to apply the Dogtag fixture files over LDAP: content records and
 * change records (add / modify with add|replace|delete), folded lines, comments and base64 values.
 */

export type LdifValue = string | Buffer;

export interface LdifAdd {
  kind: 'add';
  dn: string;
  attributes: Map<string, LdifValue[]>;
}

export interface LdifModification {
  operation: 'add' | 'replace' | 'delete';
  type: string;
  values: LdifValue[];
}

export interface LdifModify {
  kind: 'modify';
  dn: string;
  modifications: LdifModification[];
}

export type LdifRecord = LdifAdd | LdifModify;

/** Splits into records of unfolded "name: value" lines; comments and the version line dropped. */
function unfoldRecords(text: string): string[][] {
  const records: string[][] = [];
  let current: string[] = [];
  for (const raw of text.replace(/\r\n/g, '\n').split('\n')) {
    if (raw.startsWith(' ') && current.length > 0) {
      current[current.length - 1] += raw.slice(1);
    } else if (raw.startsWith('#')) {
      continue;
    } else if (raw.trim() === '') {
      if (current.length) records.push(current);
      current = [];
    } else {
      current.push(raw);
    }
  }
  if (current.length) records.push(current);
  return records.filter((r) => !(r.length === 1 && /^version:/i.test(r[0])));
}

function parseLine(line: string): { name: string; value: LdifValue } {
  if (line === '-') return { name: '-', value: '' };
  const m = /^([^:]+)(::?)\s?(.*)$/.exec(line);
  if (!m) throw new Error(`bad LDIF line: ${line}`);
  const [, name, sep, rest] = m;
  return { name: name.trim(), value: sep === '::' ? Buffer.from(rest.trim(), 'base64') : rest.replace(/^\s+/, '') };
}

export function parseLdif(text: string, substitutions: Record<string, string> = {}): LdifRecord[] {
  let body = text;
  for (const [key, value] of Object.entries(substitutions)) body = body.split(`{${key}}`).join(value);
  return unfoldRecords(body).map((lines) => {
    const fields = lines.map(parseLine);
    const dnField = fields.shift();
    if (!dnField || dnField.name.toLowerCase() !== 'dn') throw new Error(`LDIF record without dn: ${lines[0]}`);
    const dn = String(dnField.value);
    let changetype = 'add';
    if (fields[0]?.name.toLowerCase() === 'changetype') changetype = String(fields.shift()!.value).toLowerCase();
    if (changetype === 'add') {
      const attributes = new Map<string, LdifValue[]>();
      for (const f of fields) {
        const list = attributes.get(f.name) ?? [];
        list.push(f.value);
        attributes.set(f.name, list);
      }
      return { kind: 'add', dn, attributes } as LdifAdd;
    }
    if (changetype !== 'modify') throw new Error(`unsupported changetype ${changetype} for ${dn}`);
    const modifications: LdifModification[] = [];
    let mod: LdifModification | undefined;
    for (const f of fields) {
      const op = f.name.toLowerCase();
      if (f.name === '-') {
        mod = undefined;
      } else if (!mod && (op === 'add' || op === 'replace' || op === 'delete')) {
        mod = { operation: op, type: String(f.value), values: [] };
        modifications.push(mod);
      } else if (mod) {
        mod.values.push(f.value);
      } else {
        throw new Error(`LDIF modify record for ${dn}: unexpected line "${f.name}"`);
      }
    }
    return { kind: 'modify', dn, modifications } as LdifModify;
  });
}
