/**
 * A StepContext on a real server, made by the composition root as the engine's is
 * (src/app/step-context.ts), for tests that run one step's upgrade() directly. Logged lines and
 * dry-run LDIF are kept for assertions.
 */
import { stepContextFor, type StepContextOptions } from '../../src/app/step-context';
import type { Logger } from '../../src/core/logger';
import type { DatabaseInfo, StepContext, StepDefinition } from '../../src/core/step';
import { DryRunSession } from '../../src/ldap/dry-run-session';
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
  const ctx = stepContextFor({ session, recorder, serverId: 'local', database, logger, writerConnections: options.writerConnections, indexPollMs: 100, diskCheck: options.diskCheck });
  return { ctx, lines, ldif, close: () => session.close() };
}

/** Runs one step's upgrade() on a real server and returns what it logged and recorded. */
export async function runStep(
  ds: DsInstance,
  step: StepDefinition,
  database: DatabaseInfo,
  options: { dryRun?: boolean; diskCheck?: StepContextOptions['diskCheck'] } = {},
): Promise<TestStepContext> {
  const t = await realStepContext(ds, database, options);
  try {
    await step.upgrade(t.ctx);
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
