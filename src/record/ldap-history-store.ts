/**
 * The history kept in the directory itself, under cn=dbUpgrade,<suffix>, so that it replicates and
 * every server sees what any server did:
 *
 *   cn=dbUpgrade,<suffix>                      pkiDbUpgradeVersion: the cluster's database version
 *     cn=history                               cluster-scope step records, cn=<step id>
 *     cn=servers
 *       cn=<host:port>                         package version of that server, last run
 *         cn=<step id>                         server-scope step records of that server
 *     cn=audit                                 what mark-done and forget changed, one entry each
 *
 * Releases up to 11.6.0 read the same tree: they ignore the audit entries and the attributes they
 * do not know, so what is added here never stops them (an unknown outcome value would).
 */
import { hasResultCode, ResultCode, type DirectoryEntry, type LdapSession, type Modification } from '../core/directory';
import { ConfigError, TrackingStateError } from '../core/errors';
import { emptyHistory, type AuditEvent, type HistoryState, type HistoryStore, type Outcome, type ServerRecord, type StepRecord } from '../core/history-store';
import { isVersion } from '../core/version';
import { ensureEntry } from '../ldap/ensure-entry';
import { escapeRdnValue } from '../ldap/filter';
import { parseGeneralizedTime, toGeneralizedTime } from '../ldap/generalized-time';
import { trackingDNs } from '../ldap/tracking-schema';
import { definitionsOn } from '../apply/schema-helper';
import { classNamesOf, setInForce, TRACKING_SETS } from './tracking-steps';

const OUTCOMES: Outcome[] = ['started', 'done', 'failed'];
const HOW_TO_FIX =
  'an entry of the upgrade history was changed by hand: restore it from a backup, or correct or delete that entry (a deleted step record makes the step run again), then rerun';

export class LdapHistoryStore implements HistoryStore {
  private readonly dns;

  constructor(
    private readonly ldap: LdapSession,
    private readonly suffix: string,
  ) {
    this.dns = trackingDNs(suffix);
  }

  async load(): Promise<HistoryState> {
    const state = emptyHistory();
    let entries: DirectoryEntry[] = [];
    try {
      entries = await this.ldap.search(this.dns.root, { scope: 'sub' });
    } catch (err) {
      if (!hasResultCode(err, ResultCode.NoSuchObject)) throw err;
    }
    // Nothing found: no cn=dbUpgrade yet, or one the bind DN may not read (389 DS shows it
    // nothing): both look like a database this tool never upgraded. Only then is the suffix
    // looked at: a history found says it is there, one read less for every run after the first.
    if (entries.length === 0) {
      await this.requireSuffix();
      return state;
    }
    const rootDN = normalizeDN(this.dns.root);
    const version = entries.find((e) => normalizeDN(e.dn) === rootDN)?.first('pkiDbUpgradeVersion');
    if (version !== undefined && !isVersion(version)) {
      throw new TrackingStateError(`${this.dns.root}: pkiDbUpgradeVersion "${version}" is not a version`, HOW_TO_FIX);
    }
    state.databaseVersion = version;

    const containers = new Set<string>();
    for (const entry of entries) {
      if (isObjectClass(entry, 'pkiDbUpgradeContainer')) {
        containers.add(normalizeDN(entry.dn));
      } else if (isObjectClass(entry, 'pkiDbUpgradeServerInfo')) {
        const record = parseServer(entry);
        state.serverInfo.set(record.server, record);
      } else if (isObjectClass(entry, 'pkiDbUpgradeAuditEvent')) {
        state.audit.push(parseAudit(entry));
      } else if (isObjectClass(entry, 'pkiDbUpgradeStep')) {
        const record = parseStep(entry);
        if (record.scope === 'cluster') {
          state.cluster.set(record.stepId, record);
        } else {
          const perServer = state.servers.get(record.server) ?? new Map<string, StepRecord>();
          perServer.set(record.stepId, record);
          state.servers.set(record.server, perServer);
        }
      }
    }
    state.audit.sort((a, b) => a.time.getTime() - b.time.getTime());
    // The containers are created together once the tracking schema exists; ready means all three.
    state.ready = [this.dns.root, this.dns.history, this.dns.servers].every((dn) => containers.has(normalizeDN(dn)));
    return state;
  }

  private async requireSuffix(): Promise<void> {
    if (await this.ldap.read(this.suffix, ['1.1'])) return;
    // 389 DS answers "no such entry" also when the bind DN may not read it.
    const who = this.ldap.boundAs ? `, or ${this.ldap.boundAs} may not read it` : '';
    throw new ConfigError(
      `the base DN ${this.suffix} does not exist on ${this.ldap.url}${who}`,
      'check internaldb.basedn in CS.cfg (or --base-dn): it must name the PKI subsystem database; and that internaldb.ldapauth.bindDN may read it',
    );
  }

  /**
   * The history's own steps recorded done whose set this server's cn=schema does not hold. Asked
   * only when a run has something to write: 389 DS builds cn=schema for each read, which costs a
   * run with nothing to do most of its time.
   */
  async lostSchema(state: HistoryState): Promise<string[]> {
    if (!state.ready) return [];
    const done = TRACKING_SETS.filter(({ stepId }) => state.cluster.get(stepId)?.outcome === 'done');
    if (done.length === 0) return [];
    const objectClasses = await definitionsOn(this.ldap, 'objectClasses', done.flatMap(({ set }) => classNamesOf(set)));
    return done.filter(({ set }) => !setInForce(set, objectClasses)).map(({ stepId }) => stepId);
  }

  async initialize(): Promise<void> {
    for (const [dn, cn] of [
      [this.dns.root, 'dbUpgrade'],
      [this.dns.history, 'history'],
      [this.dns.servers, 'servers'],
    ]) {
      await ensureEntry(this.ldap, dn, {
        objectClass: ['top', 'pkiDbUpgradeContainer'],
        cn,
        description: 'PKI database upgrade tracking (pki-db-upgrade)',
      });
    }
  }

  async write(record: StepRecord): Promise<void> {
    const attributes: Record<string, string> = {
      pkiDbUpgradeStepId: record.stepId,
      pkiDbUpgradeOutcome: record.outcome,
      description: record.description,
      pkiDbUpgradeVersion: record.version,
      pkiDbUpgradeScope: record.scope,
      pkiDbUpgradeChecksum: record.checksum,
      pkiDbUpgradeServer: record.server,
      pkiDbUpgradePackageVersion: record.packageVersion,
      pkiDbUpgradeStartTime: toGeneralizedTime(record.startTime),
    };
    if (record.endTime) attributes.pkiDbUpgradeEndTime = toGeneralizedTime(record.endTime);
    if (record.durationMs !== undefined) attributes.pkiDbUpgradeDuration = String(record.durationMs);
    if (record.error) attributes.pkiDbUpgradeError = record.error.slice(0, 4000);
    // Only where they apply, so that records of steps before the second tracking set need only the first.
    if (record.backwardCompatible === false) attributes.pkiDbUpgradeBackwardCompatible = 'FALSE';
    if (record.markedBy) {
      attributes.pkiDbUpgradeActor = record.markedBy.actor;
      attributes.pkiDbUpgradeReason = record.markedBy.reason.slice(0, 4000);
    }

    const dn = this.stepDN(record);
    if (record.scope === 'server') await this.ensureServerEntry(record.server);
    const replaced: Modification[] = Object.entries(attributes).map(([attribute, value]) => ({ operation: 'replace', attribute, values: [value] }));
    // A re-run record must not keep the previous attempt's end or error.
    for (const stale of ['pkiDbUpgradeEndTime', 'pkiDbUpgradeDuration', 'pkiDbUpgradeError']) {
      if (!(stale in attributes)) replaced.push({ operation: 'replace', attribute: stale, values: [] });
    }
    try {
      await this.ldap.modify(dn, replaced);
    } catch (err) {
      if (!hasResultCode(err, ResultCode.NoSuchObject)) throw err;
      await this.ldap.add(dn, { objectClass: ['top', 'pkiDbUpgradeStep'], cn: record.stepId, ...attributes });
    }
  }

  async setDatabaseVersion(version: string): Promise<void> {
    await this.ldap.modify(this.dns.root, [{ operation: 'replace', attribute: 'pkiDbUpgradeVersion', values: [version] }]);
  }

  async writeServer(record: ServerRecord): Promise<void> {
    await this.ensureServerEntry(record.server);
    const changes: Modification[] = [];
    if (record.packageVersion) changes.push({ operation: 'replace', attribute: 'pkiDbUpgradePackageVersion', values: [record.packageVersion] });
    if (record.lastRun) changes.push({ operation: 'replace', attribute: 'pkiDbUpgradeLastRun', values: [toGeneralizedTime(record.lastRun)] });
    if (changes.length > 0) await this.ldap.modify(this.serverDN(record.server), changes);
  }

  async remove(record: StepRecord): Promise<void> {
    await this.ldap.delete(this.stepDN(record));
  }

  async writeAudit(event: AuditEvent): Promise<void> {
    await ensureEntry(this.ldap, this.dns.audit, { objectClass: ['top', 'pkiDbUpgradeContainer'], cn: 'audit', description: 'Changes made by hand to the upgrade history (pki-db-upgrade mark-done, forget)' });
    // Time to the millisecond, then the step and the server: two commands never share a name.
    const cn = `${toGeneralizedTime(event.time)} ${event.action} ${event.stepId} ${event.server}`;
    await this.ldap.add(`cn=${escapeRdnValue(cn)},${this.dns.audit}`, {
      objectClass: ['top', 'pkiDbUpgradeAuditEvent'],
      cn,
      pkiDbUpgradeAction: event.action,
      pkiDbUpgradeAuditTime: toGeneralizedTime(event.time),
      pkiDbUpgradeStepId: event.stepId,
      pkiDbUpgradeScope: event.scope,
      pkiDbUpgradeServer: event.server,
      pkiDbUpgradeActor: event.actor,
      pkiDbUpgradeReason: event.reason.slice(0, 4000),
      description: event.detail.slice(0, 4000),
    });
  }

  private stepDN(record: StepRecord): string {
    const rdn = `cn=${escapeRdnValue(record.stepId)}`;
    return record.scope === 'cluster' ? `${rdn},${this.dns.history}` : `${rdn},${this.serverDN(record.server)}`;
  }

  private serverDN(server: string): string {
    return `cn=${escapeRdnValue(server)},${this.dns.servers}`;
  }

  private async ensureServerEntry(server: string): Promise<void> {
    await ensureEntry(this.ldap, this.serverDN(server), {
      objectClass: ['top', 'pkiDbUpgradeServerInfo'],
      cn: server,
      pkiDbUpgradeServer: server,
    });
  }
}

/** Good enough for DNs this store builds itself: case and spaces after commas. */
function normalizeDN(dn: string): string {
  return dn.replace(/,\s+/g, ',').toLowerCase();
}

function isObjectClass(entry: DirectoryEntry, name: string): boolean {
  return entry.values('objectClass').some((oc) => oc.toLowerCase() === name.toLowerCase());
}

function required(entry: DirectoryEntry, attribute: string): string {
  const value = entry.first(attribute);
  if (value === undefined || value === '') {
    throw new TrackingStateError(`${entry.dn}: ${attribute} is missing`, HOW_TO_FIX);
  }
  return value;
}

function time(entry: DirectoryEntry, attribute: string): Date | undefined {
  const value = entry.first(attribute);
  if (value === undefined) return undefined;
  const date = parseGeneralizedTime(value);
  if (!date) throw new TrackingStateError(`${entry.dn}: ${attribute} "${value}" is not a time`, HOW_TO_FIX);
  return date;
}

function parseStep(entry: DirectoryEntry): StepRecord {
  const outcome = required(entry, 'pkiDbUpgradeOutcome') as Outcome;
  if (!OUTCOMES.includes(outcome)) {
    throw new TrackingStateError(`${entry.dn}: pkiDbUpgradeOutcome "${outcome}" is not one of ${OUTCOMES.join(', ')}`, HOW_TO_FIX);
  }
  const scope = required(entry, 'pkiDbUpgradeScope');
  if (scope !== 'cluster' && scope !== 'server') {
    throw new TrackingStateError(`${entry.dn}: pkiDbUpgradeScope "${scope}" is neither cluster nor server`, HOW_TO_FIX);
  }
  const version = required(entry, 'pkiDbUpgradeVersion');
  if (!isVersion(version)) throw new TrackingStateError(`${entry.dn}: pkiDbUpgradeVersion "${version}" is not a version`, HOW_TO_FIX);
  const startTime = time(entry, 'pkiDbUpgradeStartTime');
  if (!startTime) throw new TrackingStateError(`${entry.dn}: pkiDbUpgradeStartTime is missing`, HOW_TO_FIX);
  const endTime = time(entry, 'pkiDbUpgradeEndTime');
  if (outcome === 'done' && !endTime) throw new TrackingStateError(`${entry.dn}: a done step has no pkiDbUpgradeEndTime`, HOW_TO_FIX);
  const duration = entry.first('pkiDbUpgradeDuration');
  return {
    stepId: required(entry, 'pkiDbUpgradeStepId'),
    version,
    scope,
    description: entry.first('description') ?? '',
    checksum: entry.first('pkiDbUpgradeChecksum') ?? '',
    server: required(entry, 'pkiDbUpgradeServer'),
    packageVersion: entry.first('pkiDbUpgradePackageVersion') ?? '',
    startTime,
    endTime,
    durationMs: duration === undefined ? undefined : Number(duration),
    outcome,
    error: entry.first('pkiDbUpgradeError'),
    backwardCompatible: entry.first('pkiDbUpgradeBackwardCompatible')?.toUpperCase() === 'FALSE' ? false : undefined,
    markedBy: markedBy(entry),
  };
}

function markedBy(entry: DirectoryEntry): StepRecord['markedBy'] {
  const actor = entry.first('pkiDbUpgradeActor');
  return actor === undefined ? undefined : { actor, reason: entry.first('pkiDbUpgradeReason') ?? '' };
}

function parseAudit(entry: DirectoryEntry): AuditEvent {
  const action = required(entry, 'pkiDbUpgradeAction');
  if (action !== 'mark-done' && action !== 'forget') throw new TrackingStateError(`${entry.dn}: pkiDbUpgradeAction "${action}" is neither mark-done nor forget`, HOW_TO_FIX);
  const scope = entry.first('pkiDbUpgradeScope') === 'server' ? 'server' : 'cluster';
  return {
    action,
    time: time(entry, 'pkiDbUpgradeAuditTime') ?? new Date(0),
    stepId: entry.first('pkiDbUpgradeStepId') ?? '',
    scope,
    server: entry.first('pkiDbUpgradeServer') ?? '',
    actor: entry.first('pkiDbUpgradeActor') ?? '',
    reason: entry.first('pkiDbUpgradeReason') ?? '',
    detail: entry.first('description') ?? '',
  };
}

function parseServer(entry: DirectoryEntry): ServerRecord {
  return {
    server: entry.first('pkiDbUpgradeServer') ?? required(entry, 'cn'),
    packageVersion: entry.first('pkiDbUpgradePackageVersion'),
    lastRun: time(entry, 'pkiDbUpgradeLastRun'),
  };
}
