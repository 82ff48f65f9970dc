/**
 * How to replace an object class so that 389 DS replicates the replacement instead of undoing it
 * (docs/schema-replication.md). A supplier pushes its cn=schema only when, for every object class
 * of the consumer, each MAY attribute is in its own MAY and each MUST attribute in its own MUST or
 * MAY; otherwise it logs "must not be overwritten" and *learns* the consumer's definition back. So
 * moving issuerName from MAY to MUST, written as such, reverts on every server. Written with
 * issuerName kept in MAY as well, the new definition passes that test and replicates, and MUST
 * still makes the server require it.
 *
 * The same rule makes an object class never lose an attribute it allows: a narrower definition
 * could not replicate either. So a step that ensures an older, narrower definition (the first
 * tracking set, rerun after the second widened its step class) leaves the wider one as it is.
 */
import { parseDefinition, type SchemaDefinition } from './schema-definition';

/**
 * The text to store for `wanted` over the definition `present` now holds: `wanted` itself, with
 * MAY extended by every attribute `present` allows (MUST or MAY) that `wanted` does not name in
 * MAY: those it moves to MUST, and those it leaves out.
 */
export function replicableReplacement(present: string, wanted: string): string {
  const before = parseDefinition(present);
  const after = parseDefinition(wanted);
  if (!isObjectClassLike(before) || !isObjectClassLike(after)) return wanted;
  const must = lowerSet(after.fields.get('MUST'));
  const may = after.fields.get('MAY') ?? [];
  const allowed = lowerSet(may);
  const kept: string[] = [];
  // A MUST that stays MUST needs nothing; any other attribute allowed before stays allowed.
  const allowedBefore = [...(before.fields.get('MUST') ?? []).filter((a) => !must.has(a.toLowerCase())), ...(before.fields.get('MAY') ?? [])];
  for (const a of allowedBefore) {
    if (!allowed.has(a.toLowerCase())) {
      allowed.add(a.toLowerCase());
      kept.push(a);
    }
  }
  if (kept.length === 0) return wanted;
  return withField(wanted, 'MAY', [...may, ...kept]);
}

function isObjectClassLike(d: SchemaDefinition): boolean {
  return d.fields.has('MUST') || d.fields.has('MAY') || d.fields.has('STRUCTURAL') || d.fields.has('AUXILIARY') || d.fields.has('ABSTRACT');
}

function lowerSet(values: string[] | undefined): Set<string> {
  return new Set((values ?? []).map((v) => v.toLowerCase()));
}

/** Tokens with their offsets, quoted strings kept whole (so a DESC never matches a keyword). */
function tokens(text: string): { token: string; start: number; end: number }[] {
  const out: { token: string; start: number; end: number }[] = [];
  const re = /\(|\)|'(?:[^'\\]|\\.)*'|[^\s()']+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push({ token: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

/** `text` with the list of `keyword` replaced by `values` (added before X- extensions or the end if absent). */
function withField(text: string, keyword: string, values: string[]): string {
  const list = values.length === 1 ? values[0] : `( ${values.join(' $ ')} )`;
  const toks = tokens(text);
  // Depth 1 is the body of the definition; keywords never appear deeper.
  let depth = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.token === '(') depth++;
    else if (t.token === ')') depth--;
    else if (depth === 1 && t.token.toUpperCase() === keyword) {
      const first = toks[i + 1];
      let last = first;
      if (first?.token === '(') {
        let j = i + 1;
        while (j < toks.length && toks[j].token !== ')') j++;
        last = toks[j];
      }
      return `${text.slice(0, t.start)}${keyword} ${list}${text.slice(last.end)}`;
    }
  }
  const at = toks.find((t, i) => (t.token.startsWith('X-') && i > 0) || i === toks.length - 1)!;
  return `${text.slice(0, at.start)}${keyword} ${list} ${text.slice(at.start)}`;
}
