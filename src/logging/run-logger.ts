/**
 * The run's logger: short human lines on the console (stderr), everything with timestamps and
 * fields in the log file. A log file that cannot be written never stops an upgrade: the lines go
 * to stderr instead, with one warning saying so.
 */
import fs from 'node:fs';
import winston from 'winston';
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

export function createRunLogger(options: RunLoggerOptions): RunLogger {
  const stderr = options.stderr ?? process.stderr;
  const transports: winston.transport[] = [];
  if (options.consoleLevel !== 'silent') {
    transports.push(
      new winston.transports.Stream({
        stream: stderr,
        level: options.consoleLevel,
        format: winston.format.combine(
          fileOnly(),
          winston.format.printf(({ level, message }) => (level === 'info' ? `${message}` : `${level}: ${message}`)),
        ),
      }),
    );
  }
  let logFile: string | undefined;
  let fileTransport: winston.transport | undefined;
  let fileStream: fs.WriteStream | undefined;
  let fd: number | undefined;
  if (options.logFile) {
    try {
      fd = openForAppend(options.logFile, options.fileMode ?? 0o640);
    } catch (err) {
      const problem = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      stderr.write(`warning: cannot write the log file ${escapeControl(options.logFile)} (${escapeControl(problem)}); logging to stderr instead\n`);
      if (options.consoleLevel === 'silent' || options.consoleLevel === 'warn' || options.consoleLevel === 'error') {
        transports.push(new winston.transports.Stream({ stream: stderr, level: 'debug', format: fileFormat() }));
      }
    }
    if (fd !== undefined) {
      logFile = options.logFile;
      // winston writes to the descriptor opened above: the path is never opened again.
      fileStream = fs.createWriteStream('', { fd, flags: 'a', autoClose: true });
      fileTransport = new winston.transports.Stream({ stream: fileStream, level: 'debug', format: fileFormat() });
      // Without a handler a write error (disk full) kills the process.
      fileStream.on('error', (err) => stderr.write(`warning: log file ${logFile}: ${(err as Error).message}\n`));
      fileTransport.on('error', (err) => stderr.write(`warning: log file ${logFile}: ${(err as Error).message}\n`));
      transports.push(fileTransport);
    }
  }
  const redact = redactor(options.secrets);
  // A quiet command (status --json, no log file) still needs one transport: winston complains
  // on stderr about every line logged without any.
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  const logger = winston.createLogger({ level: 'debug', format: winston.format.combine(redact(), escaped()), transports, exitOnError: false });
  logger.on('error', (err) => stderr.write(`warning: logging failed: ${(err as Error).message}\n`));

  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => logger.log(level, message, fields ?? {});
  return {
    logFile,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    appendSync(level, message) {
      if (fd === undefined || fileStream?.closed) return;
      try {
        const clean = escapeControl(redactText(message, options.secrets?.() ?? []));
        fs.writeSync(fd, `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${clean}\n`);
      } catch {
        /* best effort: the process is going away */
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!fileTransport) {
          logger.close();
          resolve();
          return;
        }
        // The transport's 'finish' comes once winston has handed over every line; the file
        // stream's 'close' once they are written and the descriptor is closed.
        fileTransport.once('finish', () => {
          fileStream!.once('close', () => resolve());
          fileStream!.end();
        });
        logger.end();
        setTimeout(resolve, 2000).unref();
      }),
  };
}

/** Every message passes escapeControl before any transport: see escape.ts. */
const escaped = winston.format((info) => {
  if (typeof info.message === 'string') info.message = escapeControl(info.message);
  return info;
});

/** Lines logged with the field `fileOnly: true` (e.g. the run header) stay off the console. */
const fileOnly = winston.format((info) => (info.fileOnly === true ? false : info));

function fileFormat() {
  return winston.format.combine(
    winston.format.timestamp(),
    winston.format.printf(({ timestamp, level, message, fileOnly: _, ...fields }) => {
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

function redactor(secrets: (() => readonly string[]) | undefined) {
  return winston.format((info) => {
    const list = secrets?.() ?? [];
    if (list.length === 0) return info;
    for (const key of Object.keys(info)) {
      const value = info[key];
      if (typeof value === 'string') info[key] = redactText(value, list);
      else if (value !== null && typeof value === 'object') {
        try {
          info[key] = JSON.parse(redactText(JSON.stringify(value), list));
        } catch {
          info[key] = '[redacted]'; // the secret spanned JSON syntax: drop the whole field
        }
      }
    }
    return info;
  });
}
