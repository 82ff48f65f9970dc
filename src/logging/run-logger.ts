/**
 * The run's logger: short human lines on the console (stderr), everything with timestamps and
 * fields in the log file. A log file that cannot be written never stops an upgrade: the lines go
 * to stderr instead, with one warning saying so.
 */
import fs from 'node:fs';
import type winston from 'winston';
import type { Logger } from '../core/logger';
import { openForAppend } from '../files/safe-append';
import { escapeControl } from './escape';

export interface RunLoggerOptions {
  /** Console verbosity: 'debug', 'info', 'warn', or 'silent'. */
  consoleLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  logFile?: string;
  /** Mode of a newly created log file (0640: readable by the admin group, not by everyone). */
  fileMode?: number;
  stderr?: NodeJS.WritableStream;
  /**
   * Secrets known to the run (the database password once read): any occurrence in a message or a
   * field is replaced by *** before a line reaches any transport. Belt and braces: nothing logs
   * a password on purpose.
   */
  secrets?: () => readonly string[];
}

export interface RunLogger extends Logger {
  /** Where the full log went (undefined when only the console). */
  readonly logFile?: string;
  /**
   * Appends one line to the log file synchronously (redacted, same format): for a signal handler,
   * where winston's asynchronous writes would be lost. No-op without a log file.
   */
  appendSync(level: 'info' | 'warn' | 'error', message: string): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** npm's levels, as winston numbers them: a line goes where its level is at most the limit. */
const LEVELS: Record<string, number> = { error: 0, warn: 1, info: 2, debug: 5 };

export function createRunLogger(options: RunLoggerOptions): RunLogger {
  const stderr = options.stderr ?? process.stderr;
  // The console's short lines are written here; winston is loaded for the file only, when its
  // first line comes: a run that logs to the console alone (direct mode) never loads it, ~20 ms
  // of a no-op run's start (docs/benchmarks.md, "No-op run and bundle size").
  const consoleLimit = options.consoleLevel === 'silent' ? -1 : LEVELS[options.consoleLevel];
  let logFile: string | undefined;
  let fileStream: NodeJS.WritableStream | undefined;
  let ownStream: fs.WriteStream | undefined;
  let fd: number | undefined;
  if (options.logFile) {
    try {
      fd = openForAppend(options.logFile, options.fileMode ?? 0o640);
    } catch (err) {
      const problem = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      stderr.write(`warning: cannot write the log file ${escapeControl(options.logFile)} (${escapeControl(problem)}); logging to stderr instead\n`);
      if (options.consoleLevel === 'silent' || options.consoleLevel === 'warn' || options.consoleLevel === 'error') fileStream = stderr;
    }
    if (fd !== undefined) {
      logFile = options.logFile;
      // winston writes to the descriptor opened above: the path is never opened again.
      ownStream = fs.createWriteStream('', { fd, flags: 'a', autoClose: true });
      // Without a handler a write error (disk full) kills the process.
      ownStream.on('error', (err) => stderr.write(`warning: log file ${logFile}: ${(err as Error).message}\n`));
      fileStream = ownStream;
    }
  }
  let file: { logger: winston.Logger; transport: winston.transport } | undefined;
  const fileLogger = () => {
    if (file || !fileStream) return file;
    const w: typeof winston = require('winston'); // loaded when needed (above)
    const transport = new w.transports.Stream({ stream: fileStream, level: 'debug', format: fileFormat(w) });
    if (ownStream) transport.on('error', (err) => stderr.write(`warning: log file ${logFile}: ${(err as Error).message}\n`));
    const logger = w.createLogger({ level: 'debug', transports: [transport], exitOnError: false });
    logger.on('error', (err) => stderr.write(`warning: logging failed: ${(err as Error).message}\n`));
    file = { logger, transport };
    return file;
  };
  const secrets = () => options.secrets?.() ?? [];

  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const list = secrets();
    const clean = escapeControl(list.length ? redactText(message, list) : message);
    const extra = list.length && fields ? redactFields(fields, list) : (fields ?? {});
    // Lines logged with the field `fileOnly: true` (e.g. the run header) stay off the console.
    if (LEVELS[level] <= consoleLimit && extra.fileOnly !== true) stderr.write(`${level === 'info' ? clean : `${level}: ${clean}`}\n`);
    fileLogger()?.logger.log(level, clean, extra);
  };
  return {
    logFile,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    appendSync(level, message) {
      if (fd === undefined || ownStream?.closed) return;
      try {
        const clean = escapeControl(redactText(message, secrets()));
        fs.writeSync(fd, `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${clean}\n`);
      } catch {
        /* best effort: the process is going away */
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!ownStream) {
          file?.logger.close();
          resolve();
          return;
        }
        const stream = ownStream;
        if (!file) {
          stream.once('close', () => resolve());
          stream.end();
          return;
        }
        // The transport's 'finish' comes once winston has handed over every line; the file
        // stream's 'close' once they are written and the descriptor is closed.
        file.transport.once('finish', () => {
          stream.once('close', () => resolve());
          stream.end();
        });
        file.logger.end();
        setTimeout(resolve, 2000).unref();
      }),
  };
}

function fileFormat(w: typeof winston) {
  return w.format.combine(
    w.format.timestamp(),
    w.format.printf(({ timestamp, level, message, fileOnly: _, ...fields }) => {
      const extra = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
      return `${timestamp} ${level.toUpperCase().padEnd(5)} ${message}${extra}`;
    }),
  );
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
