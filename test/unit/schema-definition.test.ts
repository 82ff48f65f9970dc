import { parseDefinition, sameDefinition } from '../../src/apply/schema-definition';

describe('schema definitions', () => {
  it('parse names and lists', () => {
    const d = parseDefinition("( x-oid NAME 'x' DESC 'a (b) c' SUP top STRUCTURAL MUST ( cn $ sn ) MAY description X-ORIGIN 'me' )");
    expect(d.names).toEqual(['x']);
    expect(d.fields.get('MUST')).toEqual(['cn', 'sn']);
    expect(d.fields.get('DESC')).toEqual(['a (b) c']);
  });
  it('are the same when only description, origin, spacing or list order differ', () => {
    const a = parseDefinition("( x-oid NAME 'x' DESC 'one' SUP top STRUCTURAL MUST ( cn $ sn ) X-ORIGIN 'user defined' )");
    const b = parseDefinition("(x-oid NAME 'x' DESC 'two' SUP top STRUCTURAL MUST (sn $ cn) X-ORIGIN ( 'pki' 'user defined' ))");
    expect(sameDefinition(a, b)).toBe(true);
  });
  it('differ when the syntax or the required attributes change', () => {
    const a = parseDefinition("( k-oid NAME 'k' SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )");
    const b = parseDefinition("( k-oid NAME 'k' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )");
    expect(sameDefinition(a, b)).toBe(false);
  });
});

it('reads "$" as a separator with or without spaces around it', () => {
  // As Dogtag's schema.ldif writes pkiSubsystem's MAY list.
  const def = parseDefinition("( p-oid NAME 'p' SUP top STRUCTURAL MAY ( a $ b $c ) )");
  expect(def.fields.get('MAY')).toEqual(['a', 'b', 'c']);
  expect(sameDefinition(def, parseDefinition("( p-oid NAME 'p' SUP top STRUCTURAL MAY ( a $ b $ c ) )"))).toBe(true);
});
