/**
 * The run's logger: short human lines on the console (stderr), everything with timestamps and
 * fields in the log file. A log file that cannot be written never stops an upgrade: the lines go
 * to stderr instead, with one warning saying so.
 */
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import type { Logger } from '../core/logger';

export interface RunLoggerOptions {
  /** Console verbosity: 'debug', 'info', 'warn', or 'silent'. */
  consoleLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  logFile?: string;
  /** Mode of a newly created log file (0640: readable by the admin group, not by everyone). */
  fileMode?: number;
  stderr?: NodeJS.WritableStream;
}

export interface RunLogger extends Logger {
  /** Where the full log went (undefined when only the console). */
  readonly logFile?: string;
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
        format: winston.format.printf(({ level, message }) => (level === 'info' ? `${message}` : `${level}: ${message}`)),
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
  const logger = winston.createLogger({ level: 'debug', transports, exitOnError: false });
  logger.on('error', (err) => stderr.write(`warning: logging failed: ${(err as Error).message}\n`));

  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => logger.log(level, message, fields ?? {});
  return {
    logFile,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
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

function fileFormat() {
  return winston.format.combine(
    winston.format.timestamp(),
    winston.format.printf(({ timestamp, level, message, ...fields }) => {
      const extra = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
      return `${timestamp} ${level.toUpperCase().padEnd(5)} ${message}${extra}`;
    }),
  );
}

/** Creates the file (and its folder) with the right mode; returns why it cannot be written, if so. */
function prepareLogFile(file: string, mode: number): string | undefined {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, mode);
    fs.closeSync(fd);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
