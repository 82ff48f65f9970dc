/**
 * The tool's own settings for one instance: /etc/pki/<instance>/db-upgrade.conf (INI, top-level
 * keys). A missing file means every default. A bad value is a configuration error (exit 2); an
 * unknown key is reported as a warning, so a typo does not pass silently.
 *
 * The file lives in the PKI user's folder. The keys that could steer root (ROOT_ONLY_KEYS: where
 * the log goes, which file holds a secret, which socket or CA to trust, where a root-held password
 * may be sent) are honoured only when the file is root's alone: owned by root, not writable by
 * group or others, one link. Otherwise they are ignored with a warning (docs/threat-model.md).
 */
import path from 'node:path';
import ini from 'ini';
import { ConfigError } from '../core/errors';
import { isRootControlled, modeText, readConfigFile } from '../files/file-trust';
import { untrustedFolderOf } from '../files/safe-append';
import { shortValue } from '../files/read-error';
import { BACKUP_POLICIES, type BackupPolicy } from '../core/backup';

export interface ToolConfig {
  /** The file read, or undefined when there was none. */
  file?: string;
  /** false: %posttrans (--mode=posttrans) leaves the database alone; manual runs still work. */
  autoUpgrade: boolean;
  /** The file that set auto_upgrade, for the message. */
  autoUpgradeFile?: string;
  logFile?: string;
  /** Root-only file holding the database password (source 3 of password-sources.ts). */
  passwordFile?: string;
  /** Look in the kernel keyring (nuxwdog) for <instanceId>/<key>. */
  useKeyring: boolean;
  connectTimeoutSec: number;
  /** How long a run waits for another run's lock before exit 3 (--wait overrides). */
  lockWaitSec: number;
  /** The 389 DS LDAPI socket; default: the /run/slapd-*.socket that serves the CS.cfg port. */
  ldapiSocket?: string;
  /** CA certificate(s), PEM, that signed the 389 DS server certificate (LDAPS). */
  caFile?: string;
  /**
   * SslClientAuth: a client certificate and its unencrypted key (PEM, root's), used instead of the
   * one in the instance's NSS database; the file that set them, for the messages.
   */
  clientCertFile?: string;
  clientKeyFile?: string;
  clientCertSetting?: string;
  /** host:port of the servers a password from a root-only source may be sent to. */
  trustedServers: string[];
  /** Bound on every LDAP operation after the bind, in seconds. */
  operationTimeoutSec: number;
  /** When a run exports the database first (src/apply/database-backup.ts). */
  backup: BackupPolicy;
  /**
   * `automatic`: every run builds the indexes its steps defined; `manual`: the %posttrans and
   * start runs leave them to a run by hand (an index build keeps the backend read-only while it
   * runs: docs/operating.md, "Index builds"). The file that set it, for the messages.
   */
  indexBuilds: IndexBuildsPolicy;
  indexBuildsFile?: string;
  warnings: string[];
}

export const INDEX_BUILDS_POLICIES = ['automatic', 'manual'] as const;
export type IndexBuildsPolicy = (typeof INDEX_BUILDS_POLICIES)[number];

export const TOOL_CONFIG_KEYS = [
  'auto_upgrade',
  'log_file',
  'password_file',
  'use_keyring',
  'connect_timeout',
  'lock_wait',
  'ldapi_socket',
  'ca_file',
  'client_cert_file',
  'client_key_file',
  'trusted_servers',
  'operation_timeout',
  'backup',
  'index_builds',
] as const;

const MAX_SECONDS = 86_400;

/** Honoured only from a file root alone can change. */
export const ROOT_ONLY_KEYS = ['log_file', 'password_file', 'ldapi_socket', 'ca_file', 'client_cert_file', 'client_key_file', 'trusted_servers'] as const;

export const DEFAULT_TOOL_CONFIG: ToolConfig = {
  autoUpgrade: true,
  useKeyring: true,
  connectTimeoutSec: 10,
  lockWaitSec: 0,
  trustedServers: [],
  operationTimeoutSec: 60,
  backup: 'before-data-steps',
  indexBuilds: 'automatic',
  warnings: [],
};

/**
 * `untrusted`: why the file is not root's alone (its root-only keys are then ignored). `base`: the
 * settings this file's keys override (another file read before it).
 */
export function parseToolConfig(text: string, file: string, untrusted?: string, base: ToolConfig = DEFAULT_TOOL_CONFIG): ToolConfig {
  const raw = ini.parse(text) as Record<string, unknown>;
  const config: ToolConfig = { ...base, file, warnings: [...base.warnings], trustedServers: [...base.trustedServers] };
  const bad = (key: string, value: unknown, expected: string) =>
    new ConfigError(`${file}: ${key} = ${shortValue(String(value))} is not ${expected}`, `fix ${key} in ${file}`);
  const bool = (key: string, value: unknown): boolean => {
    // ini turns "true"/"false" into booleans; accept the usual spellings as well.
    if (typeof value === 'boolean') return value;
    const v = String(value).trim().toLowerCase();
    if (['yes', 'on', '1', 'true'].includes(v)) return true;
    if (['no', 'off', '0', 'false'].includes(v)) return false;
    throw bad(key, value, 'true or false');
  };
  const seconds = (key: string, value: unknown, allowZero: boolean): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw bad(key, value, allowZero ? 'a number of seconds (0 or more)' : 'a positive number of seconds');
    // Larger values overflow Node's timers (which then fire at once); no wait should be that long.
    if (n > MAX_SECONDS) throw bad(key, value, `at most ${MAX_SECONDS} seconds`);
    return n;
  };
  const filePath = (key: string, value: unknown): string => {
    const v = String(value).trim();
    if (!v || typeof value === 'boolean') throw bad(key, value, 'a path');
    return path.isAbsolute(v) ? v : path.resolve(path.dirname(file), v);
  };
  const hostPorts = (key: string, value: unknown): string[] => {
    const list = String(value).split(/[\s,]+/).filter(Boolean);
    for (const hp of list) if (!/^(\[[0-9a-f:.]+\]|[^:\s\[\]]+):\d{1,5}$/i.test(hp)) throw bad(key, value, 'a list of host:port');
    return list.map((hp) => hp.toLowerCase());
  };
  for (const [key, value] of Object.entries(raw)) {
    if (untrusted && (ROOT_ONLY_KEYS as readonly string[]).includes(key)) {
      config.warnings.push(`${file}: ${key} ignored: ${untrusted}; only a file root alone controls may set it (e.g. /etc/pki-db-upgrade/<instance>.conf)`);
      continue;
    }
    switch (key) {
      case 'auto_upgrade':
        config.autoUpgrade = bool(key, value);
        config.autoUpgradeFile = file;
        break;
      case 'use_keyring':
        config.useKeyring = bool(key, value);
        break;
      case 'log_file':
        config.logFile = filePath(key, value);
        break;
      case 'password_file':
        config.passwordFile = filePath(key, value);
        break;
      case 'ldapi_socket':
        config.ldapiSocket = filePath(key, value);
        break;
      case 'ca_file':
        config.caFile = filePath(key, value);
        break;
      case 'client_cert_file':
      case 'client_key_file':
        config[key === 'client_cert_file' ? 'clientCertFile' : 'clientKeyFile'] = filePath(key, value);
        config.clientCertSetting = file;
        break;
      case 'trusted_servers':
        config.trustedServers = hostPorts(key, value);
        break;
      case 'operation_timeout':
        config.operationTimeoutSec = seconds(key, value, false);
        break;
      case 'connect_timeout':
        config.connectTimeoutSec = seconds(key, value, false);
        break;
      case 'lock_wait':
        config.lockWaitSec = seconds(key, value, true);
        break;
      case 'backup': {
        const policy = String(value).trim().toLowerCase();
        if (!(BACKUP_POLICIES as readonly string[]).includes(policy)) throw bad(key, value, BACKUP_POLICIES.join(', ').replace(/, (?=[^,]*$)/, ' or '));
        config.backup = policy as BackupPolicy;
        break;
      }
      case 'index_builds': {
        // Not root-only: deferring a build changes when searches get faster, never what root does.
        const policy = String(value).trim().toLowerCase();
        if (!(INDEX_BUILDS_POLICIES as readonly string[]).includes(policy)) throw bad(key, value, INDEX_BUILDS_POLICIES.join(' or '));
        config.indexBuilds = policy as IndexBuildsPolicy;
        config.indexBuildsFile = file;
        break;
      }
      default:
        config.warnings.push(
          typeof value === 'object'
            ? `${file}: section [${shortValue(key)}] ignored (keys go at the top of the file)`
            : `${file}: unknown key "${shortValue(key)}" ignored (known: ${TOOL_CONFIG_KEYS.join(', ')})`,
        );
    }
  }
  return config;
}

/**
 * Reads the file (never through a link); a missing file gives `base` (the defaults). Its root-only
 * keys count only when root alone decided both its content and its name: the file root's, one
 * link, and every folder above it root's (in the PKI user's folder, that user could rename any
 * root-owned file it finds there, e.g. the log, to db-upgrade.conf).
 */
export function loadToolConfig(file: string, base: ToolConfig = DEFAULT_TOOL_CONFIG): ToolConfig {
  let opened;
  try {
    opened = readConfigFile(file);
  } catch (err) {
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') return { ...base, warnings: [...base.warnings], trustedServers: [...base.trustedServers] };
    throw err;
  }
  const st = opened.stat;
  const folder = untrustedFolderOf(file);
  const untrusted = !isRootControlled(st)
    ? `the file belongs to uid ${st.uid} with mode ${modeText(st)}`
    : st.nlink !== 1
      ? `the file has ${st.nlink} hard links`
      : folder
        ? `${folder}`
        : undefined;
  return parseToolConfig(opened.text, file, untrusted, base);
}
