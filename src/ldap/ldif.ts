/**
 * LDIF change records (RFC 2849) for dry-run output: what the upgrade would send, in a form an
 * administrator can read, review and, if they wish, apply by hand with ldapmodify.
 */
import type { AttributeMap, AttributeValue, Modification } from '../core/directory';

const SAFE_STRING = /^(?![ :<])[\x01-\x09\x0b-\x0c\x0e-\x7f]*$/;

function line(name: string, value: AttributeValue): string {
  if (typeof value === 'string' && SAFE_STRING.test(value) && !value.endsWith(' ')) {
    return fold(`${name}: ${value}`);
  }
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return fold(`${name}:: ${bytes.toString('base64')}`);
}

/** Lines longer than 76 characters continue on the next line after one space. */
function fold(text: string): string {
  if (text.length <= 76) return text;
  const parts = [text.slice(0, 76)];
  for (let i = 76; i < text.length; i += 75) parts.push(` ${text.slice(i, i + 75)}`);
  return parts.join('\n');
}

function values(value: AttributeValue | AttributeValue[]): AttributeValue[] {
  return Array.isArray(value) ? value : [value];
}

export function ldifAdd(dn: string, attributes: AttributeMap): string {
  const lines = [line('dn', dn), 'changetype: add'];
  for (const [name, value] of Object.entries(attributes)) {
    for (const v of values(value)) lines.push(line(name, v));
  }
  return lines.join('\n') + '\n';
}

export function ldifModify(dn: string, changes: Modification[]): string {
  const lines = [line('dn', dn), 'changetype: modify'];
  for (const change of changes) {
    lines.push(`${change.operation}: ${change.attribute}`);
    for (const v of change.values ?? []) lines.push(line(change.attribute, v));
    lines.push('-');
  }
  return lines.join('\n') + '\n';
}

export function ldifDelete(dn: string): string {
  return [line('dn', dn), 'changetype: delete'].join('\n') + '\n';
}

export function ldifModDN(dn: string, newRdn: string, newSuperior?: string): string {
  const lines = [line('dn', dn), 'changetype: modrdn', line('newrdn', newRdn), 'deleteoldrdn: 1'];
  if (newSuperior) lines.push(line('newsuperior', newSuperior));
  return lines.join('\n') + '\n';
}
