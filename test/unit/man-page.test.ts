/**
 * The packaged documentation: the markdown-to-roff converter (packaging/md2man.mjs), and the man
 * page and example db-upgrade.conf kept in step with the code (every option, every setting).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usage } from '../../src/app/cli-args';
import { DEFAULT_TOOL_CONFIG, parseToolConfig, TOOL_CONFIG_KEYS } from '../../src/config/tool-config';

const repo = path.resolve(__dirname, '../..');
const MAN_SOURCE = path.join(repo, 'packaging/pki-db-upgrade.8.md');
const EXAMPLE_CONF = path.join(repo, 'packaging/db-upgrade.conf');

function md2man(markdown: string): { code: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkidbu-md2man-'));
  try {
    const file = path.join(dir, 'page.md');
    fs.writeFileSync(file, markdown);
    const r = spawnSync(process.execPath, [path.join(repo, 'packaging/md2man.mjs'), '--version', '1.2.3', '--date', '2026-01-02', file], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('md2man', () => {
  it('turns the title line into .TH and a NAME section', () => {
    const { stdout, code } = md2man('# tool(8) -- does things\n');
    expect(code).toBe(0);
    expect(stdout).toBe('.TH "TOOL" "8" "2026-01-02" "tool 1.2.3" "System Administration"\n.SH NAME\ntool \\- does things\n');
  });

  it('renders headings, paragraphs, bullets, literal blocks and tagged paragraphs', () => {
    const page = [
      '# tool(8) -- x',
      '## options',
      'Some **bold** and *italic* and `--flag`.',
      'Same paragraph.',
      '',
      '- first item',
      '  continued',
      '',
      '`--wait` *SEC*',
      ':   Wait up to *SEC*',
      '    seconds.',
      '',
      '```',
      '.starts with a dot',
      'back\\slash',
      '```',
    ].join('\n');
    const { stdout, code, stderr } = md2man(page);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(3)).toEqual([
      '.SH OPTIONS',
      '.PP',
      'Some \\fBbold\\fR and \\fIitalic\\fR and \\fB\\-\\-flag\\fR.',
      'Same paragraph.',
      '.IP \\(bu 2',
      'first item',
      'continued',
      '.TP',
      '\\fB\\-\\-wait\\fR \\fISEC\\fR',
      'Wait up to \\fISEC\\fR',
      'seconds.',
      '.PP',
      '.RS 4',
      '.nf',
      '\\&.starts with a dot',
      'back\\eslash',
      '.fi',
      '.RE',
      '',
    ]);
  });

  it('leaves out comment lines (the markers of the generated exit-code tables)', () => {
    const { stdout, code, stderr } = md2man('# tool(8) -- x\n\n<!-- exit-codes:direct (generated) -->\n`0`\n:   Fine.\n\n<!-- /exit-codes:direct -->\n');
    expect({ stderr, code }).toEqual({ stderr: '', code: 0 });
    expect(stdout.split('\n').slice(3)).toEqual(['.TP', '\\fB0\\fR', 'Fine.', '']);
  });

  it('refuses markup it does not handle rather than rendering it wrong', () => {
    expect(md2man('# tool(8) -- x\n\n| a | b |\n').stderr).toMatch(/markup this converter does not handle: \| a \| b \|/);
    expect(md2man('# tool(8) -- x\n\n<!-- a comment\nover two lines -->\n').stderr).toMatch(/markup this converter does not handle: <!-- a comment/);
    expect(md2man('# tool(8) -- x\n\nan *unclosed emphasis\n').stderr).toMatch(/unbalanced inline markup/);
    expect(md2man('# tool(8) -- x\n\n```\nnever closed\n').stderr).toMatch(/unterminated/);
    expect(md2man('no title\n').stderr).toMatch(/first line must be/);
  });
});

describe('the man page and the example configuration', () => {
  const man = fs.readFileSync(MAN_SOURCE, 'utf8');
  const example = fs.readFileSync(EXAMPLE_CONF, 'utf8');

  it('documents every command line option of --help', () => {
    const options = [...new Set([...usage().matchAll(/^\s+(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]))];
    expect(options.length).toBeGreaterThan(15);
    for (const option of options) expect({ option, documented: man.includes(`\`${option}\``) }).toEqual({ option, documented: true });
  });

  it('documents every db-upgrade.conf setting, in the man page and in the example', () => {
    for (const key of TOOL_CONFIG_KEYS) {
      expect({ key, inMan: man.includes(`\`${key}\`\n:   `), inExample: new RegExp(`^#${key} = `, 'm').test(example) }).toEqual({ key, inMan: true, inExample: true });
    }
  });

  it('ships an example that changes nothing as installed, and is valid with every line uncommented', () => {
    const asShipped = parseToolConfig(example, '/etc/pki/pki-tomcat/db-upgrade.conf');
    expect(asShipped).toEqual({ ...DEFAULT_TOOL_CONFIG, file: '/etc/pki/pki-tomcat/db-upgrade.conf', warnings: [] });
    const uncommented = parseToolConfig(example.replace(/^#(\w+ = )/gm, '$1'), '/etc/pki/pki-tomcat/db-upgrade.conf');
    expect(uncommented.warnings).toEqual([]);
    expect(uncommented).toMatchObject({ autoUpgrade: true, useKeyring: true, connectTimeoutSec: 10, lockWaitSec: 0 });
  });
});
