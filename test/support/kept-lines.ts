/** A Logger for tests that keeps each line as "level: message", to state what a run said. */
import type { Logger } from '../../src/core/logger';

export function keptLines(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, logger: { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') } };
}
