/**
 * Wording for files the tool cannot read or whose values make no sense, shared by every reader of
 * configuration (CS.cfg, password.conf, db-upgrade.conf, password files), so that each says the
 * same things the same way: which file, why (the errno code, spelled out when it is not obvious),
 * and what to do.
 */

/** "EACCES", or "EISDIR: it is a directory": why reading failed. */
export function readErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EISDIR') return 'EISDIR: it is a directory';
  return code ?? (err as Error).message;
}

/** What to do about a read failure; `otherwise` for causes without a specific remedy. */
export function readErrorHint(err: unknown, file: string, otherwise: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'run as root';
  if (code === 'EISDIR') return `${file} must be a file: remove or rename the directory, then put the file there`;
  return otherwise;
}

/** A value as shown in a message: a garbage value of megabytes is cut, not echoed. */
export function shortValue(value: string, max = 80): string {
  return value.length > max ? `${value.slice(0, max)}... (${value.length} characters)` : value;
}

/** The same, in quotes. */
export function quoteValue(value: string, max = 80): string {
  return value.length > max ? `"${value.slice(0, max)}..." (${value.length} characters)` : `"${value}"`;
}
