/**
 * The database passwords of one instance during one run: from password.conf when it has them,
 * else from the password sources (password-sources.ts), restoring password.conf for the length
 * of the run when it does not exist (and the command may restore it).
 *
 * Where a password may go depends on who could read it already (docs/threat-model.md): one the
 * PKI user can read (its password.conf, a file it may read) may go to the server CS.cfg names; one
 * it cannot (root's keyring, a root-only file, the prompt) is never written into password.conf,
 * which that user could keep through a hard link, and goes only to a server root named.
 */
import fs from 'node:fs';
import { readableBy, type Owner } from '../files/file-trust';
import { ConfigError, SecretDestinationError } from '../core/errors';
import type { Logger } from '../core/logger';
import { findPassword, realPasswordSources, type PasswordSourceDeps } from './password-sources';
import { readPasswordConf, restorePasswordConf, type RestoredPasswordConf } from './password-conf';

export interface InstancePasswordOptions {
  instanceId: string;
  passwordConf: string;
  owner: Owner;
  /** host:port named in root-owned configuration (trusted_servers). */
  trustedServers: readonly string[];
  stateDir: string;
  passwordFileOption?: string;
  useKeyring: boolean;
  configuredPasswordFile?: string;
  mayPrompt: boolean;
  /** Restore a missing password.conf while the run lasts (run, dry-run; not status). */
  restore: boolean;
  logger: Logger;
  deps?: PasswordSourceDeps;
}

export class InstancePasswords {
  private readonly known = new Map<string, string>();
  /** Keys whose password the PKI user could not read where it was found. */
  private readonly rootOnly = new Set<string>();
  /** Where each password came from, for messages (never the password itself). */
  private readonly sources = new Map<string, string>();
  private restored?: RestoredPasswordConf;

  constructor(private readonly options: InstancePasswordOptions) {}

  /** Every password read so far, for log redaction. */
  secrets(): string[] {
    return [...this.known.values()];
  }

  async get(key: string): Promise<string> {
    const cached = this.known.get(key);
    if (cached !== undefined) return cached;
    const o = this.options;
    const conf = readPasswordConf(o.passwordConf, key, o.owner);
    if (conf.password !== undefined) {
      this.known.set(key, conf.password);
      this.sources.set(key, `${o.passwordConf} (${key}=)`);
      o.logger.info(`database password "${key}" read from ${o.passwordConf}`);
      return conf.password;
    }
    const { found, tried } = await findPassword(
      {
        instanceId: o.instanceId,
        key,
        passwordFileOption: o.passwordFileOption,
        useKeyring: o.useKeyring,
        configuredPasswordFile: o.configuredPasswordFile,
        mayPrompt: o.mayPrompt,
      },
      o.deps ?? realPasswordSources,
    );
    if (!found) {
      throw new ConfigError(
        `no database password "${key}" for instance ${o.instanceId}: ${o.passwordConf} ${conf.exists ? `has no ${key}= line` : 'does not exist'}, ` +
          `and no password source had it (${tried.join('; ')})`,
        `store it in the keyring as ${o.instanceId}/${key} (nuxwdog), set password_file in db-upgrade.conf, or pass --password-file FILE`,
      );
    }
    this.known.set(key, found.password);
    this.sources.set(key, `the ${found.source} (${found.detail})`);
    o.logger.info(`database password "${key}" taken from the ${found.source} (${found.detail})`);
    const pkiUserMayRead = found.source === 'password-file option' || found.source === 'configured password file' ? fileReadableBy(found.detail, o.owner) : o.owner.uid === 0;
    if (!pkiUserMayRead) {
      this.rootOnly.add(key);
      if (!conf.exists && o.restore) {
        o.logger.info(`${o.passwordConf} not restored: the PKI user (uid ${o.owner.uid}) cannot read the ${found.source}, and could keep a restored copy`);
      }
    } else if (!conf.exists && o.restore && !this.restored) {
      this.restored = restorePasswordConf({ file: o.passwordConf, key, password: found.password, owner: o.owner, stateDir: o.stateDir });
      if (this.restored) {
        o.logger.info(
          `restored ${o.passwordConf} for this run (mode 0600, owner ${o.owner.uid}:${o.owner.gid}); it is removed when the run ends`,
        );
      } else {
        o.logger.warn(`${o.passwordConf} appeared while restoring it; left untouched, using the password in memory`);
      }
    }
    return found.password;
  }

  /**
   * Refuses to send the password of `key` (already read) to `server` (host:port) unless the PKI
   * user could read it anyway, or root chose that server: CS.cfg root's alone (`namedByRoot`), or
   * the server listed in trusted_servers.
   */
  checkDestination(key: string, server: string, namedBy: { file: string; rootControlled: boolean }): void {
    if (!this.rootOnly.has(key) || namedBy.rootControlled) return;
    if (this.options.trustedServers.includes(server.toLowerCase())) return;
    throw new SecretDestinationError(
      `the password "${key}" from ${this.sources.get(key)} is not sent to ${server}: that server is named by ${namedBy.file}, which the PKI user (uid ${this.options.owner.uid}) can change`,
      `if ${server} is the instance's 389 DS, add "trusted_servers = ${server}" to /etc/pki-db-upgrade/${this.options.instanceId}.conf (root's), or run as root on that server (LDAPI)`,
    );
  }

  /** Where the password of `key` came from, once read: a file and key, the keyring tag, the prompt. */
  sourceOf(key: string): string | undefined {
    return this.sources.get(key);
  }

  /** Removes a restored password.conf (also done by itself on exit and on signals). */
  release(): void {
    if (!this.restored) return;
    this.restored.remove();
    this.options.logger.info(`removed the restored ${this.restored.file}`);
    this.restored = undefined;
  }
}

function fileReadableBy(file: string, owner: Owner): boolean {
  try {
    return readableBy(fs.statSync(file), owner);
  } catch {
    return false;
  }
}
