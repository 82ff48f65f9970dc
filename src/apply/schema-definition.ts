/**
 * Just enough of RFC 4512 to compare schema definitions: 389 DS rewrites the definitions it stores
 * (adds X-ORIGIN, reorders, changes spacing), so text equality would make every run rewrite schema.
 */
export interface SchemaDefinition {
  oid: string;
  names: string[];
  fields: Map<string, string[]>;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  // "$" separates list items with or without spaces around it (Dogtag's pkiSubsystem has "$SecureEEClientAuthPort").
  const re = /\s*(\(|\)|\$|'(?:[^'\\]|\\.)*'|[^\s()'$]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) tokens.push(m[1]);
  return tokens;
}

export function parseDefinition(text: string): SchemaDefinition {
  const tokens = tokenize(text.trim());
  if (tokens[0] !== '(' || tokens[tokens.length - 1] !== ')') throw new Error(`not a schema definition: ${text}`);
  const body = tokens.slice(1, -1);
  const oid = body.shift() ?? '';
  const fields = new Map<string, string[]>();
  while (body.length > 0) {
    const keyword = body.shift()!.toUpperCase();
    const values: string[] = [];
    if (body[0] === '(') {
      body.shift();
      while (body.length > 0 && (body[0] as string) !== ')') {
        const t = body.shift()!;
        if (t !== '$') values.push(unquote(t));
      }
      body.shift();
    } else if (body.length > 0 && !isKeyword(body[0])) {
      values.push(unquote(body.shift()!));
    }
    fields.set(keyword, values);
  }
  return { oid, names: fields.get('NAME') ?? [], fields };
}

function isKeyword(token: string): boolean {
  return /^[A-Z][A-Z-]*$/.test(token) && !token.startsWith("'");
}

function unquote(token: string): string {
  return token.startsWith("'") ? token.slice(1, -1) : token;
}

/** Fields that change what the server accepts; descriptions and origins do not. */
const SIGNIFICANT = ['SUP', 'EQUALITY', 'ORDERING', 'SUBSTR', 'SYNTAX', 'SINGLE-VALUE', 'STRUCTURAL', 'AUXILIARY', 'ABSTRACT', 'MUST', 'MAY'];

export function sameDefinition(a: SchemaDefinition, b: SchemaDefinition): boolean {
  for (const key of SIGNIFICANT) {
    const va = normalizeField(key, a.fields.get(key));
    const vb = normalizeField(key, b.fields.get(key));
    if (va !== vb) return false;
  }
  return true;
}

function normalizeField(key: string, values: string[] | undefined): string {
  if (values === undefined) {
    // An object class with no kind is STRUCTURAL (RFC 4512); SUP top is implied.
    return '';
  }
  let list = values.map((v) => v.toLowerCase());
  if (key === 'SYNTAX') list = list.map((v) => v.replace(/\{\d+\}$/, ''));
  if (key === 'MUST' || key === 'MAY') list = [...list].sort();
  return `${key}=${list.join(',')}`;
}
