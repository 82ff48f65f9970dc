#!/usr/bin/env node
// The spec an RPM of another version or release is built from (packaging/build-rpm.sh): the
// spec's Version and Release set to them and, when they are not those of its newest %changelog
// entry, a new entry on top saying what was built, so that the changelog stays true (and
// coherent with the package, as rpmlint checks) without a fixed entry whatever the version.
//
// usage: node packaging/rpm-spec.mjs --version V --release R --note TEXT SPEC > OUT
//   (--note: the new entry's text, e.g. what the build was made from)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A %changelog date: "Tue Dec 01 2026" (UTC), of a Date or what new Date() takes. */
export function changelogDate(when) {
  const date = new Date(when);
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, '0')} ${date.getUTCFullYear()}`;
}

/** The spec's Version, and its Release without %{?dist}. */
export function specVersion(spec) {
  const version = /^Version:\s*(\S+)\s*$/m.exec(spec)?.[1];
  const release = /^Release:\s*(\S+?)(?:%\{\?dist\})?\s*$/m.exec(spec)?.[1];
  if (!version || !release) throw new Error('the spec has no plain Version: and Release: lines');
  return { version, release };
}

/** Every %changelog entry, newest first: its date, author, version-release and text. */
export function changelogEntries(spec) {
  const at = spec.search(/^%changelog\s*$/m);
  if (at < 0) return [];
  const entries = [];
  for (const line of spec.slice(at).split('\n').slice(1)) {
    const head = /^\* (\w{3} \w{3} \d{2} \d{4}) (.+?) - (\S+)$/.exec(line);
    if (head) entries.push({ date: head[1], author: head[2], evr: head[3], text: [] });
    else if (line.trim() !== '' && entries.length > 0) entries.at(-1).text.push(line);
  }
  return entries;
}

/** A changelog item wrapped at `width` columns, continued with two spaces. */
function wrap(text, width = 76) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/**
 * `spec` for building `version`-`release`: its Version and Release lines set, and a changelog
 * entry on top (by the newest entry's author, dated `date`, saying `note`) unless the newest
 * entry is for that version-release already.
 */
export function specFor(spec, { version, release, note, date }) {
  const [newest] = changelogEntries(spec);
  if (!newest) throw new Error('the spec has no %changelog entry');
  let out = spec.replace(/^(Version:\s*)\S+/m, (_, tag) => `${tag}${version}`).replace(/^(Release:\s*)\S+?(%\{\?dist\})?(\s*)$/m, (_, tag, dist = '', end) => `${tag}${release}${dist}${end}`);
  if (newest.evr !== `${version}-${release}`) {
    const entry = `* ${changelogDate(date)} ${newest.author} - ${version}-${release}\n${wrap(`- ${note.replace(/%/g, '%%')}`)}\n\n`;
    out = out.replace(/^%changelog\s*\n/m, (head) => `${head}${entry}`);
  }
  return out;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const { values, positionals } = parseArgs({ options: { version: { type: 'string' }, release: { type: 'string' }, note: { type: 'string' } }, allowPositionals: true });
  if (!values.version || !values.release || !values.note || positionals.length !== 1) {
    process.stderr.write('usage: node packaging/rpm-spec.mjs --version V --release R --note TEXT SPEC > OUT\n');
    process.exit(2);
  }
  // Reproducible: SOURCE_DATE_EPOCH when set, else now.
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const date = new Date(epoch ? Number(epoch) * 1000 : Date.now());
  process.stdout.write(specFor(readFileSync(positionals[0], 'utf8'), { version: values.version, release: values.release, note: values.note, date }));
}
