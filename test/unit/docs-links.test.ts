/**
 * The documents point at each other, and the code at them: every relative link of README.md,
 * docs/*.md and test/harness/README.md names a file that exists (and a heading of it, for a
 * #fragment), and every `docs/NAME.md, "Section"` a comment of src/, test/ or packaging/ cites is
 * a heading of that document.
 */
import fs from 'node:fs';
import path from 'node:path';

const repo = path.resolve(__dirname, '../..');
const DOCUMENTS = ['README.md', 'test/harness/README.md', ...fs.readdirSync(path.join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown without its fenced code blocks (their text is not links). */
function prose(file: string): string {
  return fs.readFileSync(path.join(repo, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
}

function headings(file: string): string[] {
  return [...prose(file).matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1].trim());
}

/** GitHub's anchor of a heading: lower case, punctuation but hyphens dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(repo, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : sourceFiles(rel);
    return /\.(ts|mjs|js|sh)$/.test(e.name) ? [rel] : [];
  });
}

describe('links between the documents', () => {
  it('every relative link names a file that exists, and a heading of it', () => {
    const broken: string[] = [];
    for (const doc of DOCUMENTS) {
      for (const [, target] of prose(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file, fragment] = target.split('#');
        const linked = file ? path.normalize(path.join(path.dirname(doc), file)) : doc;
        if (!fs.existsSync(path.join(repo, linked))) broken.push(`${doc}: ${target} (no ${linked})`);
        else if (fragment !== undefined && linked.endsWith('.md') && !headings(linked).map(anchor).includes(fragment)) {
          broken.push(`${doc}: ${target} (no such heading in ${linked})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('the anchors follow GitHub: the ones the documents use', () => {
    expect(anchor('The database password and `password.conf`')).toBe('the-database-password-and-passwordconf');
    expect(anchor('Cluster- and server-scope steps')).toBe('cluster--and-server-scope-steps');
    expect(anchor('The cluster claim: two servers upgraded at once')).toBe('the-cluster-claim-two-servers-upgraded-at-once');
  });

  it('every section a comment cites, as docs/NAME.md, "Heading", is a heading of that document', () => {
    const broken: string[] = [];
    const self = path.relative(repo, __filename);
    for (const file of [...sourceFiles('src'), ...sourceFiles('test'), ...sourceFiles('packaging')].filter((f) => f !== self)) {
      const text = fs.readFileSync(path.join(repo, file), 'utf8');
      for (const m of text.matchAll(/((?:docs\/[\w-]+|(?:test\/harness\/)?README)\.md),\s+(?:\*\s+)?"([^"]+)"/g)) {
        const [, doc, cited] = m;
        const section = cited.replace(/\s*\n\s*\*\s*/g, ' ');
        if (!fs.existsSync(path.join(repo, doc))) broken.push(`${file}: ${doc} does not exist`);
        else if (!headings(doc).some((h) => h.replace(/`/g, '').startsWith(section.replace(/`/g, '')))) broken.push(`${file}: ${doc} has no section "${section}"`);
      }
      // The documents of before: README.cluster.md, the harness's design.md, "the seed" (not in this repository).
      for (const m of text.matchAll(/(README\.cluster\.md|(?<!docs\/)\bdesign\.md|\bthe seed\b)/g)) broken.push(`${file}: cites ${m[1]}`);
    }
    expect(broken).toEqual([]);
  });
});
