/** LDAP GeneralizedTime (RFC 4517) in UTC with milliseconds: 20261125093012.345Z */
export function toGeneralizedTime(date: Date): string {
  const iso = date.toISOString(); // 2026-11-25T09:30:12.345Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 23)}Z`;
}

export function parseGeneralizedTime(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d{1,3})\d*)?Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  const date = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, frac ? Number(frac.padEnd(3, '0')) : 0));
  return Number.isNaN(date.getTime()) ? undefined : date;
}
