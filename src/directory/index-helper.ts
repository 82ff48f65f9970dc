/**
 * Index definitions of one backend (cn=config: local to each 389 DS, so index steps are server
 * scope) and the index task that builds them over existing entries.
 */
import type { LdapSession, Modification } from '../core/directory';
import type { IndexHelper, IndexSpec } from '../core/step';
import { escapeRdnValue } from '../ldap/filter';

export interface IndexHelperOptions {
  backend: string;
  dryRun: boolean;
  /** Polling interval of the index task. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class LdapIndexHelper implements IndexHelper {
  constructor(
    private readonly ldap: LdapSession,
    private readonly options: IndexHelperOptions,
  ) {}

  private get container(): string {
    return `cn=index,cn=${escapeRdnValue(this.options.backend)},cn=ldbm database,cn=plugins,cn=config`;
  }

  async ensure(indexes: IndexSpec[]): Promise<string[]> {
    const changed: string[] = [];
    for (const spec of indexes) {
      const dn = `cn=${escapeRdnValue(spec.attribute)},${this.container}`;
      const existing = await this.ldap.read(dn, ['nsIndexType', 'nsMatchingRule']);
      if (!existing) {
        const attributes: Record<string, string | string[]> = {
          objectClass: ['top', 'nsIndex'],
          cn: spec.attribute,
          nsSystemIndex: 'false',
          nsIndexType: spec.types,
        };
        if (spec.matchingRules?.length) attributes.nsMatchingRule = spec.matchingRules;
        await this.ldap.add(dn, attributes);
        changed.push(spec.attribute);
        continue;
      }
      const haveTypes = new Set(existing.values('nsIndexType').map((t) => t.toLowerCase()));
      const haveRules = new Set(existing.values('nsMatchingRule').map((t) => t.toLowerCase()));
      const mods: Modification[] = [];
      const missingTypes = spec.types.filter((t) => !haveTypes.has(t.toLowerCase()));
      const missingRules = (spec.matchingRules ?? []).filter((r) => !haveRules.has(r.toLowerCase()));
      if (missingTypes.length) mods.push({ operation: 'add', attribute: 'nsIndexType', values: missingTypes });
      if (missingRules.length) mods.push({ operation: 'add', attribute: 'nsMatchingRule', values: missingRules });
      if (mods.length) {
        await this.ldap.modify(dn, mods);
        changed.push(spec.attribute);
      }
    }
    return changed;
  }

  async reindex(attributes: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    if (attributes.length === 0) return;
    const sleep = this.options.sleep ?? defaultSleep;
    const now = this.options.now ?? Date.now;
    const name = `pki-db-upgrade-${now()}-${process.pid}`;
    const dn = `cn=${name},cn=index,cn=tasks,cn=config`;
    await this.ldap.add(dn, {
      objectClass: ['top', 'extensibleObject'],
      cn: name,
      nsInstance: this.options.backend,
      nsIndexAttribute: attributes,
    });
    if (this.options.dryRun) return;

    const deadline = now() + (options.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const task = await this.ldap.read(dn, ['nsTaskExitCode', 'nsTaskStatus', 'nsTaskLog']);
      const exit = task?.first('nsTaskExitCode');
      if (exit !== undefined) {
        if (exit !== '0') {
          throw new Error(`index task ${name} for ${attributes.join(', ')} failed with exit code ${exit}: ${task?.first('nsTaskStatus') ?? ''}`);
        }
        return;
      }
      if (!task) throw new Error(`index task ${dn} disappeared before reporting its result`);
      if (now() > deadline) {
        throw new Error(`index task ${name} did not finish in time; it may still be running: check ${dn} (nsTaskStatus)`);
      }
      await sleep(this.options.pollMs ?? 250);
    }
  }
}
