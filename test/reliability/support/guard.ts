/**
 * The checks every case of the reliability suite ends with (issue points 5 and 6):
 *  - secrets: no known password in anything a run printed (stdout, stderr: console lines and error
 *    messages), nor in any file of the fake PKI tree (log, status file, lock and marker files),
 *    except the files that hold it by design (the password source, an administrator's own
 *    password.conf). Searched literally, base64-encoded (LDIF) and URL-encoded;
 *  - files: an administrator's password.conf keeps its bytes, mode, owner and mtime; a restored one
 *    is gone once no run is alive; the log is 0640 root, the state folder 0700 root, the status file
 *    0644 root; no lock, holder, marker or temporary file is left; no file the test does not know;
 *  - /tmp: the tool left nothing in its private /tmp (see tool-run.ts).
 * Figures (cases, runs and files scanned) go to the run's figures file for the summary table.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FakePki } from '../../support/fake-pki';
import { recordFigure } from './figures';
import type { ToolProcess, ToolRunner } from './tool-run';

interface FileState {
  bytes: Buffer;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

interface TrackedTree {
  pki: FakePki;
  /** The administrator's own password.conf as it was, or undefined when there was none. */
  adminPasswordConf?: FileState;
  /** Files that hold a password on purpose (password sources given to the tool). */
  secretHolders: Set<string>;
  /** Other files the test put in the tree. */
  testFiles: Set<string>;
}

export class ReliabilityGuard {
  private readonly trees: TrackedTree[] = [];
  private checkedRuns = 0;
  private scannedRuns = 0;
  private scannedFiles = 0;
  private scannedBytes = 0;
  private cases = 0;

  constructor(
    readonly category: string,
    private readonly runner: ToolRunner,
    private readonly secrets: string[],
  ) {}

  /**
   * Starts watching a fake PKI tree, or, for one already watched, takes its password.conf as it is
   * now as the administrator's own: call again once the test put one in place.
   */
  track(pki: FakePki, files: { secretHolders?: string[]; testFiles?: string[] } = {}): FakePki {
    const adminPasswordConf = fs.existsSync(pki.passwordConf) ? fileState(pki.passwordConf) : undefined;
    const known = this.trees.find((t) => t.pki.root === pki.root);
    if (known) {
      known.adminPasswordConf = adminPasswordConf;
      this.allow(pki, files);
      return pki;
    }
    this.trees.push({
      pki,
      adminPasswordConf,
      secretHolders: new Set(files.secretHolders ?? []),
      testFiles: new Set(files.testFiles ?? []),
    });
    return pki;
  }

  /** Declares more files of the test in an already tracked tree. */
  allow(pki: FakePki, files: { secretHolders?: string[]; testFiles?: string[] }): void {
    const tree = this.trees.find((t) => t.pki.root === pki.root);
    if (!tree) throw new Error(`${pki.root} is not tracked`);
    for (const f of files.secretHolders ?? []) tree.secretHolders.add(f);
    for (const f of files.testFiles ?? []) tree.testFiles.add(f);
  }

  /** Every problem found since the last call (empty = all good). Call when no run is alive. */
  problems(): string[] {
    this.cases++;
    const secrets: string[] = [];
    const files: string[] = [];
    const runs = this.runner.runs.slice(this.checkedRuns);
    this.checkedRuns = this.runner.runs.length;
    for (const run of runs) secrets.push(...this.scanRun(run));
    for (const tree of this.trees) {
      for (const problem of this.checkTree(tree)) (problem.startsWith('a password') ? secrets : files).push(problem);
    }
    const tmp = this.runner.leftInTmp().map((left) => `the tool left ${left} in its /tmp`);
    recordFigure({ kind: 'check', category: this.category, runs: runs.length, secrets: secrets.length, files: files.length, tmp: tmp.length });
    return [...secrets, ...files, ...tmp];
  }

  /** Removes the trees and the private /tmp; records the figures. */
  dispose(): void {
    for (const tree of this.trees) fs.rmSync(tree.pki.root, { recursive: true, force: true });
    this.runner.dispose();
    recordFigure({
      kind: 'guard',
      category: this.category,
      cases: this.cases,
      runs: this.scannedRuns,
      files: this.scannedFiles,
      bytes: this.scannedBytes,
      isolation: this.runner.isolation,
    });
  }

  private leaks(text: string | Buffer): string[] {
    const haystack = Buffer.isBuffer(text) ? text.toString('latin1') : text;
    const found: string[] = [];
    for (const secret of this.secrets) {
      const forms = [secret, encodeURIComponent(secret), ...base64Forms(secret)];
      if (forms.some((f) => f.length >= 6 && haystack.includes(f))) found.push(secret);
    }
    return found;
  }

  private scanRun(run: ToolProcess): string[] {
    this.scannedRuns++;
    const text = run.output();
    this.scannedBytes += text.length;
    return this.leaks(text).map(() => `a password appears in the output of run pid ${run.pid}:\n${excerpt(text)}`);
  }

  private checkTree(tree: TrackedTree): string[] {
    const { pki } = tree;
    const problems: string[] = [];
    const expected = new Set([...tree.secretHolders, ...tree.testFiles, pki.toolConfig, pki.passwordConf]);
    const logDir = path.dirname(pki.logFile);

    for (const file of walk(pki.root)) {
      const rel = path.relative(pki.root, file);
      const st = fs.lstatSync(file);
      if (!tree.secretHolders.has(file) && !(file === pki.passwordConf && tree.adminPasswordConf)) {
        const bytes = fs.readFileSync(file);
        this.scannedFiles++;
        this.scannedBytes += bytes.length;
        if (this.leaks(bytes).length) problems.push(`a password appears in ${rel}`);
      }
      if (/^etc\/pki\/[^/]+\/(ca|kra|ocsp|tks|tps)\/CS\.cfg$/.test(rel) || expected.has(file)) continue;
      if (file.startsWith(logDir + path.sep)) {
        if (file !== pki.logFile && !tree.testFiles.has(file)) problems.push(`unexpected file in the log folder: ${rel}`);
        else if (file === pki.logFile && ((st.mode & 0o777) !== 0o640 || st.uid !== 0)) problems.push(`${rel} has mode ${octal(st.mode)}, owner ${st.uid}; expected 0640, root`);
        continue;
      }
      if (file === pki.statusFile) {
        if ((st.mode & 0o777) !== 0o644 || st.uid !== 0) problems.push(`${rel} has mode ${octal(st.mode)}, owner ${st.uid}; expected 0644, root`);
        continue;
      }
      problems.push(`left behind: ${rel}${file.startsWith(pki.stateDir) ? ' (no run is alive: lock, holder, marker and temporary files must be gone)' : ''}`);
    }
    if (fs.existsSync(pki.stateDir)) {
      const st = fs.statSync(pki.stateDir);
      if ((st.mode & 0o777) !== 0o700 || st.uid !== 0) problems.push(`${path.relative(pki.root, pki.stateDir)} has mode ${octal(st.mode)}, owner ${st.uid}; expected 0700, root`);
    }
    if (tree.adminPasswordConf) {
      if (!fs.existsSync(pki.passwordConf)) problems.push("the administrator's password.conf is gone");
      else {
        const now = fileState(pki.passwordConf);
        const was = tree.adminPasswordConf;
        if (!now.bytes.equals(was.bytes)) problems.push("the administrator's password.conf changed content");
        if (now.mode !== was.mode || now.uid !== was.uid || now.gid !== was.gid || now.mtimeMs !== was.mtimeMs) {
          problems.push(`the administrator's password.conf changed: mode ${octal(was.mode)}→${octal(now.mode)}, owner ${was.uid}:${was.gid}→${now.uid}:${now.gid}, mtime ${was.mtimeMs}→${now.mtimeMs}`);
        }
      }
    } else if (fs.existsSync(pki.passwordConf)) {
      problems.push('a restored password.conf is still there although no run is alive');
    }
    return problems;
  }
}

/**
 * The secret as it appears inside the base64 of a longer text (LDIF `attr:: ...`), at each of the
 * three byte alignments, trimmed to the characters that depend on the secret's bytes alone.
 */
export function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  return [0, 1, 2].map((pad) => {
    const total = pad + bytes.length;
    let encoded = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64').replace(/=+$/, '');
    if (total % 3 !== 0) encoded = encoded.slice(0, Math.floor(total / 3) * 4);
    return pad > 0 ? encoded.slice(4) : encoded;
  });
}

function fileState(file: string): FileState {
  const st = fs.statSync(file);
  // A test may put a directory where the file belongs (an unreadable password.conf).
  const bytes = st.isDirectory() ? Buffer.from(`<directory: ${fs.readdirSync(file).join(',')}>`) : fs.readFileSync(file);
  return { bytes, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs };
}

function* walk(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(p);
    else yield p;
  }
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function excerpt(text: string): string {
  return text.length > 2000 ? `${text.slice(0, 1000)}\n...\n${text.slice(-1000)}` : text;
}
