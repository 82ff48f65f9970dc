/** In-memory HistoryStore for unit tests of the engine: same contract as the LDAP one. */
import { emptyHistory, type AuditEvent, type HistoryState, type HistoryStore, type ServerRecord, type StepRecord } from '../../src/core/history-store';

export class MemoryHistoryStore implements HistoryStore {
  state: HistoryState = emptyHistory();
  writes: string[] = [];
  /** How many times the history was read. */
  loads = 0;

  async load(): Promise<HistoryState> {
    this.loads++;
    const s = this.state;
    return {
      ready: s.ready,
      databaseVersion: s.databaseVersion,
      cluster: new Map([...s.cluster].map(([k, v]) => [k, { ...v }])),
      servers: new Map([...s.servers].map(([k, v]) => [k, new Map([...v].map(([id, r]) => [id, { ...r }]))])),
      serverInfo: new Map([...s.serverInfo].map(([k, v]) => [k, { ...v }])),
      audit: s.audit.map((e) => ({ ...e })),
      schemaLost: [...s.schemaLost],
    };
  }

  async initialize(): Promise<void> {
    this.writes.push('initialize');
    this.state.ready = true;
  }

  async write(record: StepRecord): Promise<void> {
    this.writes.push(`${record.stepId}:${record.outcome}`);
    if (record.scope === 'cluster') this.state.cluster.set(record.stepId, { ...record });
    else {
      const m = this.state.servers.get(record.server) ?? new Map();
      m.set(record.stepId, { ...record });
      this.state.servers.set(record.server, m);
    }
  }

  async setDatabaseVersion(version: string): Promise<void> {
    this.writes.push(`version:${version}`);
    this.state.databaseVersion = version;
  }

  async writeServer(record: ServerRecord): Promise<void> {
    this.writes.push(`server:${record.server}`);
    this.state.serverInfo.set(record.server, { ...record });
  }

  async remove(record: StepRecord): Promise<void> {
    this.writes.push(`${record.stepId}:removed`);
    if (record.scope === 'cluster') this.state.cluster.delete(record.stepId);
    else this.state.servers.get(record.server)?.delete(record.stepId);
  }

  async writeAudit(event: AuditEvent): Promise<void> {
    this.writes.push(`audit:${event.action}:${event.stepId}`);
    this.state.audit.push({ ...event });
  }
}
