/**
 * A run as a named list of phases (as FreeIPA's upgrade is a list of named steps): each phase may
 * end the run with a result; the first result or error skips the phases after it, except those
 * marked `always` (the restore phases: thaw, release, close), which run on every way out and are
 * given the run's failure, if any. The first error is the run's; a later one in an `always` phase is
 * reported to `onLaterError` and does not hide it.
 */
/** The first error of a run, boxed: whatever was thrown. */
export interface Failure {
  error: unknown;
}

export interface Phase<S, R> {
  name: string;
  always?: true;
  run(state: S, failure: Failure | undefined): Promise<R | void>;
}

export async function runPhases<S, R>(phases: readonly Phase<S, R>[], state: S, hooks: { onPhase?: (name: string) => void; onLaterError: (phase: string, error: unknown) => void }): Promise<R> {
  let result: R | void = undefined;
  let failure: Failure | undefined;
  for (const phase of phases) {
    if ((result !== undefined || failure) && !phase.always) continue;
    hooks.onPhase?.(phase.name);
    try {
      const ended = await phase.run(state, failure);
      if (result === undefined && !failure) result = ended;
    } catch (error) {
      if (!failure) failure = { error };
      else hooks.onLaterError(phase.name, error);
    }
  }
  if (failure) throw failure.error;
  if (result === undefined) throw new Error(`no phase of ${phases.map((p) => p.name).join(', ')} produced a result`);
  return result;
}
