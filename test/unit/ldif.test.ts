import { ldifAdd, ldifModify } from '../../src/ldap/ldif';

describe('LDIF output of dry-run', () => {
  it('writes plain values as text and folds long lines', () => {
    const text = ldifAdd('cn=x,o=test', { cn: 'x', description: 'd'.repeat(100) });
    expect(text).toContain('changetype: add\ncn: x\n');
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(text.replace(/\n /g, '')).toContain(`description: ${'d'.repeat(100)}`);
  });
  it('base64-encodes binary values and unsafe strings', () => {
    const text = ldifModify('cn=x,o=test', [
      { operation: 'add', attribute: 'userCertificate;binary', values: [Buffer.from([0x30, 0x82, 0x00])] },
      { operation: 'replace', attribute: 'description', values: [' leading space', 'é'] },
    ]);
    expect(text).toContain('userCertificate;binary:: MIIA');
    expect(text).toContain(`description:: ${Buffer.from(' leading space').toString('base64')}`);
    expect(text).toContain(`description:: ${Buffer.from('é').toString('base64')}`);
    expect(text).toMatch(/-\n$/);
  });
});
