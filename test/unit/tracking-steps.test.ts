/** The history store's own steps (src/record/tracking-steps.ts): each carries its checksum as released. */
import { checksumOf, TRACKING_SETS, TRACKING_STEPS } from '../../src/record/tracking-steps';

describe("the history store's own steps", () => {
  it('each carry the checksum of the set of definitions they install', () => {
    expect(TRACKING_STEPS.map((s) => s.id)).toEqual(TRACKING_SETS.map((t) => t.stepId));
    for (const { stepId, set } of TRACKING_SETS) {
      expect(TRACKING_STEPS.find((s) => s.id === stepId)?.checksum).toBe(checksumOf(set));
    }
  });
});
