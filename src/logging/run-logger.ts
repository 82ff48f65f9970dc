/**
 * The run's logger: short human lines on the console (stderr), everything with timestamps and
 * fields in the log file. A log file that cannot be written never stops an upgrade: the lines go
 * to stderr instead, with one warning saying so.
 */
import fs from 'node:fs';
import type { Logger } from '../core/logger';
import { openForAppend } from '../files/safe-append';
import { escapeControl } from './escape';
import { appendAll, formatLine } from './log-file';

export interface RunLoggerOptions {
  /** Console verbosity: 'debug', 'info', 'warn', or 'silent'. */
  consoleLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  logFile?: string;
  /** Mode of a newly created log file (0640: readable by the admin group, not by everyone). */
  fileMode?: number;
  stderr?: NodeJS.WritableStream;
  /**
   * Secrets known to the run (the database password once read): any occurrence in a message or a
   * field is replaced by *** before a line reaches the console or the file. Belt and braces:
   * nothing logs a password on purpose.
   */
  secrets?: () => readonly string[];
}

export interface RunLogger extends Logger {
  /** Where the full log went (undefined when only the console). */
  readonly logFile?: string;
  /**
   * Appends one line to the log file alone, never the console (redacted, same format): for a
   * signal handler, which must not fail. No-op without a log file.
   */
  appendSync(level: 'info' | 'warn' | 'error', message: string): void;
  /** Closes the file (every line is in it already: log-file.ts). */
  close(): Promise<void>;
}

/** npm's levels: a line goes where its level is at most the limit. */
const LEVELS: Record<string, number> = { error: 0, warn: 1, info: 2, debug: 5 };

export function createRunLogger(options: RunLoggerOptions): RunLogger {
  const stderr = options.stderr ?? process.stderr;
  const consoleLimit = options.consoleLevel === 'silent' ? -1 : LEVELS[options.consoleLevel];
  // Where the file's lines go when there is no file: stderr, unless the console shows them already.
  const fallback = options.consoleLevel === 'silent' || options.consoleLevel === 'warn' || options.consoleLevel === 'error' ? stderr : undefined;
  let logFile: string | undefined;
  let fd: number | undefined;
  let toStderr: NodeJS.WritableStream | undefined;
  if (options.logFile) {
    try {
      fd = openForAppend(options.logFile, options.fileMode ?? 0o640);
      logFile = options.logFile;
    } catch (err) {
      const problem = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      stderr.write(`warning: cannot write the log file ${escapeControl(options.logFile)} (${escapeControl(problem)}); logging to stderr instead\n`);
      toStderr = fallback;
    }
  }
  const closeFile = () => {
    if (fd === undefined) return;
    try {
      fs.closeSync(fd);
    } catch {
      /* nothing left to do with it */
    }
    fd = undefined;
  };
  const writeFile = (line: string) => {
    if (fd !== undefined) {
      try {
        appendAll(fd, line);
        return;
      } catch (err) {
        // A disk full: said once, then the lines go where those of a file never opened go.
        stderr.write(`warning: log file ${logFile}: ${escapeControl((err as Error).message)}; logging to stderr instead\n`);
        closeFile();
        toStderr = fallback;
      }
    }
    toStderr?.write(line);
  };
  const secrets = () => options.secrets?.() ?? [];

  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const list = secrets();
    const clean = escapeControl(list.length ? redactText(message, list) : message);
    // Lines logged with the field `fileOnly: true` (e.g. the run header) stay off the console.
    const { fileOnly, ...extra } = list.length && fields ? redactFields(fields, list) : (fields ?? {});
    if (LEVELS[level] <= consoleLimit && fileOnly !== true) stderr.write(`${level === 'info' ? clean : `${level}: ${clean}`}\n`);
    if (fd !== undefined || toStderr) writeFile(formatLine(level, clean, extra));
  };
  return {
    logFile,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    appendSync(level, message) {
      if (fd === undefined) return;
      try {
        appendAll(fd, formatLine(level, escapeControl(redactText(message, secrets()))));
      } catch {
        /* best effort: the process is going away */
      }
    },
    close: async () => closeFile(),
  };
}

export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** The fields of a line with every known secret replaced (see RunLoggerOptions.secrets). */
function redactFields(fields: Record<string, unknown>, list: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string') out[key] = redactText(value, list);
    else if (value !== null && typeof value === 'object') {
      try {
        out[key] = JSON.parse(redactText(JSON.stringify(value), list));
      } catch {
        out[key] = '[redacted]'; // the secret spanned JSON syntax: drop the whole field
      }
    } else out[key] = value;
  }
  return out;
}
