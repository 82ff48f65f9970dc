/** A run as a named list of phases (src/core/phases.ts): results, failures and the restore phases. */
import { runPhases, type Phase } from '../../src/core/phases';

function recorder() {
  const ran: string[] = [];
  const later: string[] = [];
  const phase = (name: string, outcome: 'continue' | 'end' | 'throw', always = false): Phase<string[], string> => ({
    name,
    ...(always ? { always: true as const } : {}),
    run: async (log, failure) => {
      log.push(`${name}${failure ? ` (after: ${(failure.error as Error).message})` : ''}`);
      if (outcome === 'throw') throw new Error(`${name} failed`);
      return outcome === 'end' ? `result of ${name}` : undefined;
    },
  });
  const hooks = { onLaterError: (p: string, e: unknown) => void later.push(`${p}: ${(e as Error).message}`) };
  return { ran, later, phase, hooks };
}

describe('a run of named phases', () => {
  it('runs them in order until one returns a result; then only the restore phases run', async () => {
    const { ran, phase, hooks } = recorder();
    const result = await runPhases([phase('plan', 'continue'), phase('claim', 'end'), phase('upgrade', 'end'), phase('release', 'continue', true)], ran, hooks);
    expect(result).toBe('result of claim');
    expect(ran).toEqual(['plan', 'claim', 'release']);
  });

  it('after a failure runs the restore phases, given that failure, and throws the first error', async () => {
    const { ran, later, phase, hooks } = recorder();
    const run = runPhases([phase('freeze', 'throw'), phase('upgrade', 'end'), phase('thaw', 'throw', true), phase('release', 'continue', true)], ran, hooks);
    await expect(run).rejects.toThrow('freeze failed');
    expect(ran).toEqual(['freeze', 'thaw (after: freeze failed)', 'release (after: freeze failed)']);
    expect(later).toEqual(['thaw: thaw failed']);
  });

  it('a run whose phases all go on without a result is a programming error, said as such', async () => {
    const { ran, phase, hooks } = recorder();
    await expect(runPhases([phase('a', 'continue'), phase('b', 'continue')], ran, hooks)).rejects.toThrow('no phase of a, b produced a result');
  });
});
