/**
 * The run's logger: short human lines on the console (stderr), everything with timestamps and
 * fields in the log file. A log file that cannot be written never stops an upgrade: the lines go
 * to stderr instead, with one warning saying so.
 */
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import type { Logger } from '../core/logger';
import { makeDirs } from '../config/paths';

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
  if (options.logFile) {
    const problem = prepareLogFile(options.logFile, options.fileMode ?? 0o640);
    if (problem) {
      stderr.write(`warning: cannot write the log file ${options.logFile} (${problem}); logging to stderr instead\n`);
      if (options.consoleLevel === 'silent' || options.consoleLevel === 'warn' || options.consoleLevel === 'error') {
        transports.push(new winston.transports.Stream({ stream: stderr, level: 'debug', format: fileFormat() }));
      }
    } else {
      logFile = options.logFile;
      fileTransport = new winston.transports.File({ filename: logFile, level: 'debug', format: fileFormat() });
      // Without a handler a transport error (disk full, file removed) kills the process.
      fileTransport.on('error', (err) => stderr.write(`warning: log file ${logFile}: ${(err as Error).message}\n`));
      transports.push(fileTransport);
    }
  }
  const redact = redactor(options.secrets);
  // A quiet command (status --json, no log file) still needs one transport: winston complains
  // on stderr about every line logged without any.
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  const logger = winston.createLogger({ level: 'debug', format: redact(), transports, exitOnError: false });
  logger.on('error', (err) => stderr.write(`warning: logging failed: ${(err as Error).message}\n`));

  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => logger.log(level, message, fields ?? {});
  return {
    logFile,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    appendSync(level, message) {
      if (!logFile) return;
      try {
        const clean = redactText(message, options.secrets?.() ?? []);
        fs.appendFileSync(logFile, `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${clean}\n`);
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
        // 'finish' fires once the file stream has flushed every line.
        fileTransport.once('finish', () => resolve());
        logger.end();
        setTimeout(resolve, 2000).unref();
      }),
  };
}

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

/** Creates the file (and its folder) with the right mode; returns why it cannot be written, if so. */
function prepareLogFile(file: string, mode: number): string | undefined {
  try {
    makeDirs(path.dirname(file), 0o750);
    const existed = fs.existsSync(file);
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, mode);
    // A new file gets exactly `mode` whatever the umask; an existing one keeps what the admin chose.
    if (!existed) fs.fchmodSync(fd, mode);
    fs.closeSync(fd);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
