/**
 * Release versions of the PKI database ("10.5.0", "11.6.1"): dotted numbers compared numerically,
 * so that 10.10.0 sorts after 10.9.0.
 */
export type Version = string;

const VERSION_PATTERN = /^\d+(\.\d+){0,3}$/;

export function isVersion(text: string): boolean {
  return VERSION_PATTERN.test(text);
}

export function parseVersion(text: string): number[] {
  if (!isVersion(text)) throw new Error(`not a release version: "${text}" (expected e.g. 11.6.0)`);
  return text.split('.').map(Number);
}

/** Negative when a < b, zero when equal (1.0 equals 1.0.0), positive when a > b. */
export function compareVersions(a: Version, b: Version): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
