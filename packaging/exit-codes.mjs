#!/usr/bin/env node
// Writes the exit-code tables of the README and of the man page source from the one table,
// src/core/exit-codes.ts (which ExitCode and the --help text are made from too), between marker
// lines `<!-- exit-codes:MODE ... -->` and `<!-- /exit-codes:MODE -->`, MODE direct, instance or check.
// Edit the table, then run `make docs`; test/unit/exit-codes.test.ts runs this with --check.
//
// usage: node packaging/exit-codes.mjs [--check] [--readme FILE] [--man FILE]
//   --check  change nothing; exit 1 naming each file whose tables differ from the table
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const MODES = ['direct', 'instance', 'check'];

/** The table module itself (TypeScript), compiled in memory. */
export async function loadTable() {
  const { outputFiles } = await build({
    entryPoints: [path.join(root, 'src/core/exit-codes.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    logLevel: 'warning',
  });
  return import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString('base64')}`);
}

/** A markdown table, as in the README. */
export function markdownTable(rows) {
  return ['| exit code | meaning |', '|---|---|', ...rows.map((r) => `| ${r.codes} | ${r.meaning.replace(/\|/g, '\\|')} |`)].join('\n');
}

/** Tagged paragraphs (packaging/md2man.mjs), as in the man page: a sentence each, wrapped. */
export function manList(rows, width = 100) {
  return rows
    .map((r) => {
      const sentence = `${r.meaning[0].toUpperCase()}${r.meaning.slice(1)}.`;
      const lines = [];
      let line = ':  ';
      for (const word of sentence.split(' ')) {
        if (line.length + 1 + word.length > width && line.trim() !== ':') {
          lines.push(line);
          line = '   ';
        }
        line += ` ${word}`;
      }
      return [`\`${r.codes}\``, ...lines, line].join('\n');
    })
    .join('\n\n');
}

/** `text` with the block of each mode replaced by `render(mode)`; throws when a marker is missing. */
export function fillBlocks(text, file, render) {
  let out = text;
  for (const mode of MODES) {
    const block = new RegExp(`(<!-- exit-codes:${mode}\\b[^\\n]*-->\\n)[\\s\\S]*?(<!-- /exit-codes:${mode} -->)`);
    if (!block.test(out)) throw new Error(`${file}: no <!-- exit-codes:${mode} --> ... <!-- /exit-codes:${mode} --> block`);
    out = out.replace(block, (_, start, end) => `${start}${render(mode)}\n\n${end}`);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, readme: { type: 'string' }, man: { type: 'string' } } });
  const table = await loadTable();
  const documents = [
    { file: values.readme ?? path.join(root, 'README.md'), render: (mode) => markdownTable(table.exitCodeRows(mode)) },
    { file: values.man ?? path.join(root, 'packaging/pki-db-upgrade.8.md'), render: (mode) => manList(table.exitCodeRows(mode)) },
  ];
  let stale = 0;
  for (const { file, render } of documents) {
    const text = readFileSync(file, 'utf8');
    let wanted;
    try {
      wanted = fillBlocks(text, path.relative(process.cwd(), file), render);
    } catch (err) {
      process.stderr.write(`exit-codes: ${err.message}\n`);
      process.exit(1);
    }
    if (wanted === text) continue;
    if (values.check) {
      stale++;
      process.stderr.write(`exit-codes: ${path.relative(process.cwd(), file)}: the exit-code tables differ from src/core/exit-codes.ts: run make docs\n`);
    } else {
      writeFileSync(file, wanted);
      console.log(`${path.relative(process.cwd(), file)}: exit-code tables written`);
    }
  }
  process.exit(stale ? 1 : 0);
}
