/** Builders of registered steps for tests that need a registry of their own. */
import type { RegisteredStep, StepContext, StepScope, Subsystem } from '../../src/core/step';

export function step(
  id: string,
  options: {
    scope?: StepScope;
    upgrade?: (ctx: StepContext) => Promise<void>;
    checksum?: string;
    formerChecksums?: string[];
    bookkeeping?: true;
    backwardCompatible?: boolean;
    appliesTo?: Subsystem[];
  } = {},
): RegisteredStep {
  const [version, file] = id.split('/');
  const m = /^(\d+)-(\w+)$/.exec(file);
  if (!m) throw new Error(`bad test step id ${id}`);
  return {
    id,
    version,
    index: Number(m[1]),
    name: m[2],
    description: `test step ${m[2]}`,
    scope: options.scope ?? 'cluster',
    bookkeeping: options.bookkeeping,
    backwardCompatible: options.backwardCompatible,
    appliesTo: options.appliesTo,
    checksum: options.checksum ?? `sum-${id}`,
    formerChecksums: options.formerChecksums,
    upgrade: options.upgrade ?? (async () => undefined),
  };
}

/** A registry with a bookkeeping step standing for the history store's own (src/record/tracking-steps.ts). */
export function registry(...rest: RegisteredStep[]): RegisteredStep[] {
  return [step('1.0.0/01-Tracking', { bookkeeping: true }), ...rest];
}
