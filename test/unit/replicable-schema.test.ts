import { replicableReplacement } from '../../src/apply/replicable-schema';
import { parseDefinition } from '../../src/apply/schema-definition';

const OLD = "( certificateRecord-oid NAME 'certificateRecord' DESC 'CMS defined class' SUP top STRUCTURAL MUST cn MAY ( serialno $ issuerName $ userCertificate ) X-ORIGIN 'user defined' )";
const STRICT = "( certificateRecord-oid NAME 'certificateRecord' DESC 'CMS defined class' SUP top STRUCTURAL MUST ( cn $ issuerName ) MAY ( serialno $ userCertificate ) X-ORIGIN 'user defined' )";

const fields = (text: string) => {
  const d = parseDefinition(text);
  return { must: d.fields.get('MUST'), may: d.fields.get('MAY') };
};

describe('a replacement 389 DS replicates', () => {
  it('keeps in MAY an attribute that moves from MAY to MUST, so the new definition allows all the old one did', () => {
    const written = replicableReplacement(OLD, STRICT);
    expect(fields(written)).toEqual({ must: ['cn', 'issuerName'], may: ['serialno', 'userCertificate', 'issuerName'] });
    // Everything else is the wanted text as written.
    expect(written).toContain("DESC 'CMS defined class' SUP top STRUCTURAL");
    expect(written).toMatch(/X-ORIGIN 'user defined' \)$/);
  });

  it('is stable: over the definition it wrote, it writes the same again', () => {
    const written = replicableReplacement(OLD, STRICT);
    expect(fields(replicableReplacement(written, STRICT))).toEqual(fields(written));
  });

  it('adds a MAY list where the wanted definition has none', () => {
    const old = "( x-oid NAME 'x' SUP top STRUCTURAL MUST cn MAY sn )";
    const wanted = "( x-oid NAME 'x' SUP top STRUCTURAL MUST ( cn $ sn ) X-ORIGIN 'pki' )";
    expect(fields(replicableReplacement(old, wanted))).toEqual({ must: ['cn', 'sn'], may: ['sn'] });
  });

  it('never narrows: an attribute the present definition allows and the wanted one leaves out stays in MAY', () => {
    const narrower = "( certificateRecord-oid NAME 'certificateRecord' SUP top STRUCTURAL MUST cn MAY serialno )";
    expect(fields(replicableReplacement(OLD, narrower))).toEqual({ must: ['cn'], may: ['serialno', 'issuerName', 'userCertificate'] });
    // So ensuring the older definition over the wider one is nothing to write.
    const written = replicableReplacement(OLD, narrower);
    expect(parseDefinition(written).fields.get('MAY')?.sort()).toEqual(parseDefinition(OLD).fields.get('MAY')?.sort());
    const dropped = "( x-oid NAME 'x' SUP top STRUCTURAL MUST cn )";
    expect(fields(replicableReplacement("( x-oid NAME 'x' SUP top STRUCTURAL MUST ( cn $ sn ) )", dropped))).toEqual({ must: ['cn'], may: ['sn'] });
  });

  it('leaves additions, relaxations and attribute types as they are', () => {
    const wider = "( certificateRecord-oid NAME 'certificateRecord' SUP top STRUCTURAL MUST cn MAY ( serialno $ issuerName $ userCertificate $ metaInfo ) )";
    expect(replicableReplacement(OLD, wider)).toBe(wider);
    const at = "( issuerName-oid NAME 'issuerName' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )";
    expect(replicableReplacement("( issuerName-oid NAME 'issuerName' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )", at)).toBe(at);
  });

  it('does not take a keyword inside a quoted DESC for the MAY list', () => {
    const old = "( y-oid NAME 'y' DESC 'MAY ( a ) is text' SUP top STRUCTURAL MUST cn MAY a )";
    const wanted = "( y-oid NAME 'y' DESC 'MAY ( a ) is text' SUP top STRUCTURAL MUST ( cn $ a ) )";
    const written = replicableReplacement(old, wanted);
    expect(written).toContain("DESC 'MAY ( a ) is text'");
    expect(fields(written)).toEqual({ must: ['cn', 'a'], may: ['a'] });
  });
});
