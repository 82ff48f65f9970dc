#!/usr/bin/env node
// Turns the man page source (packaging/pki-db-upgrade.8.md) into roff (man(7) macros).
//
// A converter of our own rather than pandoc, ronn or go-md2man: pandoc installs some 170 MB,
// ronn needs Ruby, go-md2man (the closest fit) is one more build dependency under two names
// (Debian go-md2man, Fedora golang-github-cpuguy83-md2man) with its own markdown dialect. The
// build already has node, and the page uses a small, fixed subset of markdown:
//   # name(8) -- summary          title line (NAME section)
//   ## SECTION, ### Subsection     headings
//   paragraphs, "- " bullet lists, ``` literal blocks
//   `term` lines followed by ":   definition" (indented continuation lines): tagged paragraphs
//   **bold**, *italic*, `literal` (shown bold) inline
//   <!-- comment --> lines (the markers of generated parts, packaging/exit-codes.mjs): left out
// Anything else is an error, so the page cannot silently render wrong.
//
// usage: node packaging/md2man.mjs --version V [--date YYYY-MM-DD] IN.md > OUT.8
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Escapes text for roff: backslashes, hyphens (\- is a real minus: options stay copy-pasteable). */
function escape(text) {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}

/** Inline markup to roff font changes; roff-special characters escaped. */
export function inline(text) {
  let out = '';
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*/g;
  let last = 0;
  const plain = (s) => {
    if (/[`*]/.test(s)) throw new Error(`unbalanced inline markup in: ${text}`);
    return escape(s);
  };
  for (let m; (m = re.exec(text)); ) {
    out += plain(text.slice(last, m.index));
    if (m[1] !== undefined) out += `\\fB${escape(m[1])}\\fR`;
    else if (m[2] !== undefined) out += `\\fB${inline(m[2])}\\fR`;
    else out += `\\fI${escape(m[3])}\\fR`;
    last = re.lastIndex;
  }
  return out + plain(text.slice(last));
}

/** A roff text line: a line may not start with "." or "'" (they would be requests). */
function textLine(s) {
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

export function markdownToMan(source, { version, date }) {
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  const out = [];
  const title = /^# ([a-z0-9-]+)\((\d)\) -- (.+)$/.exec(lines[0] ?? '');
  if (!title) throw new Error('the first line must be "# name(N) -- summary"');
  const [, name, section, summary] = title;
  out.push(`.TH "${name.toUpperCase()}" "${section}" "${date}" "${name} ${version}" "System Administration"`);
  out.push('.SH NAME', `${escape(name)} \\- ${inline(summary)}`);

  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.push('.PP', ...paragraph.map((l) => textLine(inline(l))));
    paragraph = [];
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (/^<!--.*-->$/.test(line)) continue;
    if (line.trim() === '') {
      flush();
      continue;
    }
    let m;
    if ((m = /^## (.+)$/.exec(line))) {
      flush();
      out.push(`.SH ${escape(m[1].toUpperCase())}`);
    } else if ((m = /^### (.+)$/.exec(line))) {
      flush();
      out.push(`.SS ${escape(m[1])}`);
    } else if (line.startsWith('```')) {
      flush();
      out.push('.PP', '.RS 4', '.nf');
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) out.push(textLine(escape(lines[i])));
      if (i >= lines.length) throw new Error('unterminated ``` block');
      out.push('.fi', '.RE');
    } else if ((m = /^- (.+)$/.exec(line))) {
      flush();
      const item = [m[1]];
      while (i + 1 < lines.length && /^  \S/.test(lines[i + 1])) item.push(lines[++i].trim());
      out.push('.IP \\(bu 2', ...item.map((l) => textLine(inline(l))));
    } else if (i + 1 < lines.length && /^:   /.test(lines[i + 1]) && paragraph.length === 0) {
      const definition = [lines[++i].slice(4)];
      while (i + 1 < lines.length && /^    \S/.test(lines[i + 1])) definition.push(lines[++i].trim());
      out.push('.TP', textLine(inline(line)), ...definition.map((l) => textLine(inline(l))));
    } else if (/^(#|:|\||>|<|\d+\. )/.test(line)) {
      throw new Error(`line ${i + 1}: markup this converter does not handle: ${line}`);
    } else {
      paragraph.push(line.trim());
    }
  }
  flush();
  return out.join('\n') + '\n';
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const { values, positionals } = parseArgs({ options: { version: { type: 'string' }, date: { type: 'string' } }, allowPositionals: true });
  if (!values.version || positionals.length !== 1) {
    process.stderr.write('usage: node packaging/md2man.mjs --version V [--date YYYY-MM-DD] IN.md > OUT.8\n');
    process.exit(2);
  }
  // Reproducible: SOURCE_DATE_EPOCH when set (rpmbuild, reproducible builds), else today.
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const date = values.date ?? new Date(epoch ? Number(epoch) * 1000 : Date.now()).toISOString().slice(0, 10);
  process.stdout.write(markdownToMan(readFileSync(positionals[0], 'utf8'), { version: values.version, date }));
}
