/** The CA index list compiled into the tool is Dogtag's ca/index.ldif, attribute for attribute. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CA_INDEXES } from '../../src/pki/ca-indexes';

it('matches ca/index.ldif of the Dogtag fixtures', () => {
  const ldif = readFileSync(path.join(__dirname, '../harness/fixtures/dogtag/ca/index.ldif'), 'utf8');
  const fromLdif = ldif
    .split(/\n\s*\n/)
    .filter((record) => /^objectClass: nsIndex$/im.test(record))
    .map((record) => ({
      attribute: /^cn: (.+)$/m.exec(record)![1].trim(),
      types: [...record.matchAll(/^nsindexType: (.+)$/gim)].map((m) => m[1].trim()).sort(),
    }));
  expect(fromLdif).toHaveLength(33);
  expect(CA_INDEXES.map((i) => ({ attribute: i.attribute, types: [...i.types].sort() }))).toEqual(fromLdif);
});
