import { compareVersions, isVersion } from '../../src/core/version';

describe('release versions', () => {
  it('compare numerically, not as text', () => {
    expect(compareVersions('10.10.0', '10.9.0')).toBeGreaterThan(0);
    expect(compareVersions('10.2.0', '10.10.0')).toBeLessThan(0);
  });
  it('treat missing components as zero', () => {
    expect(compareVersions('11.6', '11.6.0')).toBe(0);
  });
  it('reject what is not a version', () => {
    expect(isVersion('11.6.0')).toBe(true);
    expect(isVersion('11.6.0-beta')).toBe(false);
    expect(() => compareVersions('x', '1')).toThrow(/not a release version/);
  });
});
