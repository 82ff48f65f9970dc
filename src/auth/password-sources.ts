/**
 * Where the database password comes from when password.conf does not hold it (nuxwdog, FreeIPA),
 * tried in this order, first found wins:
 *   1. --password-file FILE        given on the command line: the administrator's explicit choice
 *   2. kernel keyring              <instanceId>/<key> (nuxwdog), unless use_keyring = false
 *   3. password_file in db-upgrade.conf   a root-only file (owner root, no group/other access)
 *   4. a prompt on the terminal     only in interactive mode with a TTY on stdin
 * No source ever puts the password in argv, a log line or an error message.
 */
import { ConfigError } from '../core/errors';
import { readRootOnlyFile } from '../files/file-trust';
import { parseProperties } from '../config/cs-cfg';
import { readKeyring, type KeyringLookup } from './keyring';
import { readPasswordFile } from './password-file';
import { promptPassword } from './tty-prompt';

export type PasswordSourceKind = 'password-file option' | 'keyring' | 'configured password file' | 'terminal prompt';

export interface PasswordRequest {
  instanceId: string;
  /** The password.conf key (CS.cfg bindPWPrompt), e.g. internaldb. */
  key: string;
  passwordFileOption?: string;
  useKeyring: boolean;
  configuredPasswordFile?: string;
  /** A person may be asked (interactive mode and stdin is a TTY). */
  mayPrompt: boolean;
}

export interface FoundPassword {
  password: string;
  source: PasswordSourceKind;
  /** For the log: where exactly (file path, keyring tag); never the password. */
  detail: string;
}

export interface PasswordSourceDeps {
  readKeyring(tag: string): KeyringLookup;
  readOptionFile(file: string): string;
  readConfiguredFile(file: string, key: string): string;
  prompt(question: string): Promise<string>;
}

export const realPasswordSources: PasswordSourceDeps = {
  readKeyring: (tag) => readKeyring(tag),
  readOptionFile: readPasswordFile,
  readConfiguredFile: readRootOnlyPasswordFile,
  prompt: promptPassword,
};

/** Tries each source in order; `tried` lists what was looked at (for the error when none had it). */
export async function findPassword(
  req: PasswordRequest,
  deps: PasswordSourceDeps = realPasswordSources,
): Promise<{ found?: FoundPassword; tried: string[] }> {
  const tried: string[] = [];
  if (req.passwordFileOption) {
    return { found: { password: deps.readOptionFile(req.passwordFileOption), source: 'password-file option', detail: req.passwordFileOption }, tried };
  }
  const tag = `${req.instanceId}/${req.key}`;
  if (req.useKeyring) {
    const k = deps.readKeyring(tag);
    if (k.found) return { found: { password: k.password, source: 'keyring', detail: tag }, tried };
    tried.push(`keyring: ${k.reason}`);
  } else {
    tried.push('keyring: disabled by use_keyring = false');
  }
  if (req.configuredPasswordFile) {
    const password = deps.readConfiguredFile(req.configuredPasswordFile, req.key);
    return { found: { password, source: 'configured password file', detail: req.configuredPasswordFile }, tried };
  }
  tried.push('password_file: not set in db-upgrade.conf');
  if (req.mayPrompt) {
    const password = await deps.prompt(`Password of the ${req.instanceId} database (${req.key}): `);
    if (password) return { found: { password, source: 'terminal prompt', detail: 'tty' }, tried };
    tried.push('terminal prompt: empty answer');
  } else {
    tried.push('terminal prompt: not interactive');
  }
  return { tried };
}

/**
 * db-upgrade.conf's password_file: must belong to root (or to the user running the tool) and be
 * unreadable by group and others, or it is refused (readRootOnlyFile). It holds either
 * password.conf-style lines (the line "<key>=..." is used) or just the password on its first line.
 */
export function readRootOnlyPasswordFile(file: string, key: string): string {
  const text = readRootOnlyFile(file, { what: 'the password file', key: 'password_file', in: 'db-upgrade.conf', secret: true }).toString('utf8');
  const keyed = parseProperties(text).get(key);
  const password = keyed ?? text.split(/\r?\n/)[0];
  if (!password) throw new ConfigError(`the password file ${file} holds no password`, `put "${key}=PASSWORD" or just the password in it`);
  return password;
}
