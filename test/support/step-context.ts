/**
 * A StepContext on a real server, made by the composition root as the engine's is
 * (src/app/step-context.ts), for tests that run one step's upgrade() directly. Logged lines and
 * dry-run LDIF are kept for assertions.
 */
import { stepContextFor, type StepContextOptions } from '../../src/app/step-context';
import type { Logger } from '../../src/core/logger';
import type { DatabaseInfo, StepContext, StepDefinition } from '../../src/core/step';
import { DryRunSession } from '../../src/ldap/dry-run-session';
import { LdapIndexBuilds, MarkedDefinitions } from '../../src/apply/index-builds';
import type { IndexBuildResult } from '../../src/core/index-build';
import { LdaptsSession } from '../../src/ldap/ldapts-session';
import type { DsInstance } from '../harness/dirsrv';
import { loadPkiDatabase, type LoadOptions, type LoadResult } from '../harness/pki-database';
import { uniqueSuffix } from '../harness/test-env';

export interface TestStepContext {
  ctx: StepContext;
  /** "level: message" lines, in order. */
  lines: string[];
  /** LDIF recorded in dry-run. */
  ldif: string[];
  /** The run's last phase after its steps: builds the index definitions the backend owes, in one task. */
  buildIndexes(): Promise<IndexBuildResult>;
  /** What the steps marked, as the run's index builds get it. */
  marked: MarkedDefinitions;
  close(): Promise<void>;
}

export async function realStepContext(
  ds: DsInstance,
  database: DatabaseInfo,
  options: { dryRun?: boolean; writerConnections?: number; diskCheck?: StepContextOptions['diskCheck'] } = {},
): Promise<TestStepContext> {
  const dryRun = options.dryRun ?? false;
  const session = await LdaptsSession.open({ url: ds.url, credentials: { kind: 'simple', bindDN: ds.rootDN, password: ds.rootPassword } });
  const lines: string[] = [];
  const ldif: string[] = [];
  const logger: Logger = {
    debug: (m) => lines.push(`debug: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
  };
  const recorder = dryRun ? new DryRunSession(session, (text) => ldif.push(text)) : undefined;
  const marked = new MarkedDefinitions();
  const ctx = stepContextFor({ session, recorder, serverId: 'local', database, logger, writerConnections: options.writerConnections, marked, diskCheck: options.diskCheck });
  const buildIndexes = () => new LdapIndexBuilds({ ldap: recorder ?? session, backend: database.backend, dryRun, logger, marked, pollMs: 100 }).build();
  return { ctx, lines, ldif, buildIndexes, marked, close: () => session.close() };
}

/**
 * Runs one step's upgrade() on a real server, then the index builds that follow a run's steps
 * (as the run does), and returns what it logged and recorded.
 */
export async function runStep(
  ds: DsInstance,
  step: StepDefinition,
  database: DatabaseInfo,
  options: { dryRun?: boolean; diskCheck?: StepContextOptions['diskCheck'] } = {},
): Promise<TestStepContext> {
  const t = await realStepContext(ds, database, options);
  try {
    await step.upgrade(t.ctx);
    await t.buildIndexes();
  } finally {
    await t.close();
  }
  return t;
}

/** A CA database of the test's own (a fresh suffix) with `certificates` records. */
export async function caDatabase(
  ds: DsInstance,
  prefix: string,
  options: Omit<LoadOptions, 'suffix' | 'backendName'>,
): Promise<LoadResult & { backend: string }> {
  const { suffix, backendName } = uniqueSuffix(prefix);
  const loaded = await loadPkiDatabase(ds, { suffix, backendName, ...options });
  return { ...loaded, backend: backendName };
}
