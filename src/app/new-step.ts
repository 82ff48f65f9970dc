/**
 * `pki-db-upgrade new VERSION Name`: the developer's command (as umzug's `create`) that writes a
 * new upgrade step, `<dir>/<VERSION>/<NN>-<Name>.ts`, from a template, NN being the number after
 * the last step of that version. It reads and writes that folder only: no root, no PKI instance,
 * no server. docs/writing-steps.md says what to put in the step.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import type { StepScope } from '../core/step';
import { compareVersions } from '../core/version';

/** A release, x.y.z: what the folders of upgrades/ are named after. */
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
/** PascalCase: a letter first, then letters and digits (packaging/generate-registry.mjs reads the same). */
const NAME = /^[A-Z][A-Za-z0-9]*$/;
/** A step file of a version folder, as packaging/generate-registry.mjs reads it. */
const STEP_FILE = /^(\d{2})-([A-Za-z][A-Za-z0-9]*)\.ts$/;

export interface NewStepRequest {
  version: string;
  name: string;
  /** The upgrades folder (default ./upgrades). */
  dir: string;
  scope: StepScope;
}

export interface NewStep {
  /** The file written, under `dir` as given. */
  file: string;
  /** What the developer should know next (printed on stderr). */
  notes: string[];
}

export function checkNewStep(version: string, name: string): void {
  if (!VERSION.test(version)) {
    throw new ConfigError(`"${version}" is not a release version x.y.z`, 'name the release the step ships in, e.g. pki-db-upgrade new 11.7.0 AddIssuerNameIndex');
  }
  if (!NAME.test(name)) {
    throw new ConfigError(
      `"${name}" is not a PascalCase name`,
      'use letters and digits, beginning with a capital letter, saying what the step does, e.g. AddIssuerNameIndex',
    );
  }
}

/** The number after the highest one of the version folder's steps (01 for an empty folder). */
export function nextIndex(files: string[]): number {
  let last = 0;
  for (const file of files) {
    const m = STEP_FILE.exec(file);
    if (m) last = Math.max(last, Number(m[1]));
  }
  return last + 1;
}

/** The step's source: the shape every step of upgrades/ has, with what to fill in. */
export function stepTemplate(step: { id: string; scope: StepScope; stepModule: string }): string {
  const scope =
    step.scope === 'cluster'
      ? [
          '// Scope cluster: it changes replicated data or schema (entries under the suffix, cn=schema), so',
          '// it runs once per cluster, on the first server that upgrades; the others get it by',
          '// replication. If servers still on the previous package would break once it replicates, add',
          '// `backwardCompatible: false` (docs/cluster.md, "The fully automated mode").',
        ]
      : [
          '// Scope server: it changes cn=config of one 389 DS (indexes, VLV, plugins), which does not',
          '// replicate, so it runs on every server.',
        ];
  const example =
    step.scope === 'cluster'
      ? [
          '    // Check, then change. For example a schema element: ensure() writes only what differs.',
          "    //   const changes = await ctx.schema.ensure({ objectClasses: [\"( example-oid NAME 'example' ... )\"] });",
          "    //   ctx.logger.info(changes.length ? 'example schema added' : 'example schema already present');",
          '    // Many entries: ctx.bulk.update({ label, base, filter, transform }), its filter selecting only',
          '    // the entries still to change (docs/writing-steps.md, "Bulk updates").',
        ]
      : [
          '    // Check, then change. For example an index: ensure() adds only what the backend lacks, and',
          '    // the run builds what was added in one index task after its steps.',
          "    //   const changed = await ctx.indexes.ensure([{ attribute: 'example', types: ['eq'] }]);",
          "    //   ctx.logger.info(changed.length ? `index added: ${changed.join(', ')}` : 'index already defined');",
        ];
  return [
    `import { defineStep } from '${step.stepModule}';`,
    '',
    '// Why: TODO: what needs this change (which release, which feature), and what goes wrong in a',
    '// database without it.',
    '//',
    ...scope,
    '//',
    '// Idempotent (check, then change): after a crash or a failure the next run repeats the step, and',
    '// on a database that already has the change it must write nothing.',
    'export default defineStep({',
    "  description: 'TODO: what this step changes, in one line (status, history and the log show it)',",
    `  scope: '${step.scope}',`,
    '  async upgrade(ctx) {',
    ...example,
    '    // Until then the step fails: one that did nothing would be recorded as done, and never run.',
    `    throw new Error('${step.id} is not written yet');`,
    '  },',
    '});',
    '',
  ].join('\n');
}

/** Writes the step; ConfigError (exit 2) on bad input, or when it would overwrite anything. */
export function createStep(request: NewStepRequest, packageVersion?: string): NewStep {
  const { version, name, dir, scope } = request;
  checkNewStep(version, name);
  if (!isDirectory(dir)) {
    throw new ConfigError(`${dir}: no such folder`, 'run pki-db-upgrade new at the top of the source tree (beside upgrades/), or name the upgrades folder with --dir');
  }
  const versionDir = path.join(dir, version);
  if (fs.existsSync(versionDir) && !isDirectory(versionDir)) throw new ConfigError(`${versionDir} exists and is not a folder`, 'move it out of the way');

  const files = isDirectory(versionDir) ? fs.readdirSync(versionDir) : [];
  const same = files.find((f) => STEP_FILE.exec(f)?.[2] === name);
  if (same) throw new ConfigError(`${version} already has a step named ${name}: ${path.join(versionDir, same)}`, 'choose another name, or edit that step');
  const index = nextIndex(files);
  if (index > 99) throw new ConfigError(`${versionDir} already has a step 99`, 'two digits are the limit: ship the step in a later version');
  const base = `${String(index).padStart(2, '0')}-${name}`;
  const file = path.join(versionDir, `${base}.ts`);

  const stepModule = stepModuleFrom(versionDir);
  try {
    fs.mkdirSync(versionDir, { recursive: true });
    fs.writeFileSync(file, stepTemplate({ id: `${version}/${base}`, scope, stepModule: stepModule ?? '../../src/core/step' }), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${file} already exists: not overwritten`, 'run pki-db-upgrade new again for the next number');
    throw new ConfigError(`cannot write ${file}: ${(err as Error).message}`, 'check the permissions of the upgrades folder');
  }

  const notes = [`next: write its description and upgrade() (it fails until then), then make typecheck and make build`];
  if (!stepModule) notes.push(`note: no src/core/step.ts above ${versionDir}: the step imports ../../src/core/step, as in upgrades/; adjust it`);
  if (packageVersion && compareVersions(version, packageVersion) > 0) {
    notes.push(`note: ${version} is newer than this package (${packageVersion}): set "version" in package.json to ${version}, or the build's registry refuses the step`);
  }
  return { file, notes };
}

/** The import of src/core/step from a version folder, when the folder is inside the source tree. */
function stepModuleFrom(versionDir: string): string | undefined {
  for (let dir = path.resolve(versionDir); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'src/core/step.ts'))) {
      const relative = path.relative(path.resolve(versionDir), path.join(dir, 'src/core/step')).split(path.sep).join('/');
      return relative.startsWith('.') ? relative : `./${relative}`;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
