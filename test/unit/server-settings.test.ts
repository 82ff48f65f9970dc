/** When nsslapd-maxbersize is raised to Dogtag's 200 MiB (src/pki/server-settings.ts). */
import { maxBerSizeTooSmall, MIN_MAX_BER_SIZE } from '../../src/pki/server-settings';

describe('nsslapd-maxbersize', () => {
  it('is raised when unset, 0 (both: 389 DS\'s 2 MiB) or smaller than 200 MiB', () => {
    expect([undefined, '0', '2097152', String(MIN_MAX_BER_SIZE - 1)].map(maxBerSizeTooSmall)).toEqual([true, true, true, true]);
  });

  it('is never lowered: 200 MiB or more, or negative (no limit), is left as it is', () => {
    expect([String(MIN_MAX_BER_SIZE), '524288000', '-1', 'junk'].map(maxBerSizeTooSmall)).toEqual([false, false, false, false]);
  });
});
