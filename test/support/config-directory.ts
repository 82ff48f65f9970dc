/**
 * An in-memory cn=config for the index builds' logic (src/apply/index-builds.ts): entries, the few
 * search filters the builds send (marks, vlvIndex children, this tool's tasks), modify with 389 DS's
 * answers to a missing value (16) and to duplicate values (20), and index tasks that finish at
 * once. Its clock is two timestamps: 389 DS's start and now. What 389 DS does with the definitions
 * is tested on the real server (test/upgrade-steps-own-server.test.ts, test/vlv.test.ts).
 */
import { DirectoryEntry, LdapResultError, ResultCode, type AttributeMap, type LdapSession, type Modification, type SearchOptions } from '../../src/core/directory';
import { PENDING_BUILD } from '../../src/apply/index-marks';

export class ConfigDirectory {
  readonly entries = new Map<string, { dn: string; attributes: Record<string, string[]> }>();
  /** Writes in order: "add DN", "modify DN", "delete DN". */
  readonly writes: string[] = [];
  /** undefined: cn=monitor shows no startTime (an ACI keeps it from the bind DN). */
  startTime: string | undefined = '20260101000000Z';
  now = '20260101000010Z';

  set(dn: string, attributes: Record<string, string[]>): void {
    this.entries.set(dn.toLowerCase(), { dn, attributes: { ...attributes } });
  }

  values(dn: string, attribute: string): string[] {
    const e = this.entries.get(dn.toLowerCase());
    return Object.entries(e?.attributes ?? {}).find(([k]) => k.toLowerCase() === attribute.toLowerCase())?.[1] ?? [];
  }

  /** The index tasks started, by the VLV indexes each was to build. */
  tasks(): string[][] {
    return [...this.entries.values()].filter((e) => e.dn.toLowerCase().endsWith('cn=index,cn=tasks,cn=config') && e.dn.toLowerCase() !== 'cn=index,cn=tasks,cn=config').map((e) => [...(e.attributes.nsIndexAttribute ?? []), ...(e.attributes.nsIndexVLVAttribute ?? [])]);
  }

  session(): LdapSession {
    const dir = this;
    const entry = (e: { dn: string; attributes: Record<string, string[]> }) => new DirectoryEntry(e.dn, e.attributes);
    const has = (e: { attributes: Record<string, string[]> }, attribute: string, value: string) =>
      Object.entries(e.attributes).some(([k, v]) => k.toLowerCase() === attribute.toLowerCase() && v.some((x) => x.toLowerCase() === value.toLowerCase()));
    return {
      url: 'ldap://config-directory',
      async read(dn: string) {
        if (dn === 'cn=monitor') return new DirectoryEntry(dn, { ...(dir.startTime ? { startTime: dir.startTime } : {}), currentTime: dir.now });
        const e = dir.entries.get(dn.toLowerCase());
        return e ? entry(e) : undefined;
      },
      async search(base: string, options?: SearchOptions) {
        const filter = options?.filter ?? '';
        return [...dir.entries.values()]
          .filter((e) => {
            const dn = e.dn.toLowerCase();
            const b = base.toLowerCase();
            if (!dn.endsWith(`,${b}`)) return false;
            if (options?.scope === 'one' && dn.slice(0, -b.length - 1).includes(',')) return false;
            if (filter.startsWith('(description=')) return has(e, 'description', PENDING_BUILD);
            if (filter === '(objectClass=vlvIndex)') return has(e, 'objectClass', 'vlvIndex');
            if (filter.includes('nsTaskExitCode=0')) return has(e, 'nsTaskExitCode', '0');
            if (filter.includes('!(nsTaskExitCode=*)')) return false; // tasks end at once
            return true;
          })
          .map(entry);
      },
      async add(dn: string, attributes: AttributeMap) {
        if (dir.entries.has(dn.toLowerCase())) throw new LdapResultError(ResultCode.EntryAlreadyExists, 'add', dn, 'Already exists');
        const written: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(attributes)) {
          const list = (Array.isArray(v) ? v : [v]).map(String);
          if (new Set(list.map((x) => x.toLowerCase())).size !== list.length) throw new LdapResultError(20, 'add', dn, `duplicate values of ${k}`);
          written[k] = list;
        }
        if (dn.toLowerCase().endsWith(',cn=index,cn=tasks,cn=config')) Object.assign(written, { nsTaskExitCode: ['0'], nsTaskStatus: ['Finished indexing.'], createTimestamp: [dir.now] });
        else written.modifyTimestamp = [dir.now];
        dir.set(dn, written);
        dir.writes.push(`add ${dn}`);
      },
      async modify(dn: string, changes: Modification[]) {
        const e = dir.entries.get(dn.toLowerCase());
        if (!e) throw new LdapResultError(ResultCode.NoSuchObject, 'modify', dn, 'No such object');
        const next = { ...e.attributes };
        for (const c of changes) {
          const key = Object.keys(next).find((k) => k.toLowerCase() === c.attribute.toLowerCase()) ?? c.attribute;
          const values = (c.values ?? []).map(String);
          const current = next[key] ?? [];
          if (c.operation === 'replace') next[key] = values;
          else if (c.operation === 'add') next[key] = [...current, ...values];
          else {
            if (values.some((v) => !current.some((x) => x.toLowerCase() === v.toLowerCase()))) throw new LdapResultError(ResultCode.NoSuchAttribute, 'modify', dn, 'No such attribute');
            next[key] = current.filter((x) => !values.some((v) => v.toLowerCase() === x.toLowerCase()));
          }
        }
        next.modifyTimestamp = [dir.now];
        dir.set(e.dn, next);
        dir.writes.push(`modify ${dn}`);
      },
      async delete(dn: string) {
        dir.entries.delete(dn.toLowerCase());
        dir.writes.push(`delete ${dn}`);
      },
    } as unknown as LdapSession;
  }
}
