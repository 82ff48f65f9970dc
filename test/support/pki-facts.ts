/**
 * What the CA steps need to know of the PKI instance (src/pki/instance-facts.ts), for tests that
 * do not test it: the CA signing certificate a fake CA instance's CS.cfg holds, and the same facts
 * as direct-mode options.
 */
import { CertificateAuthority, DistinguishedName } from '../harness/certificates';
import { INSTANCE_ID } from '../harness/pki-database';

/** The issuer DN the CA steps see: the subject of fakeCaSigningCert(). */
export const FAKE_CA_ISSUER_DN = 'CN=CA Signing Certificate,OU=fake-pki,O=EXAMPLE';

let certificate: Buffer | undefined;

/** ca.signing.cert of a fake CA instance that names no certificate of its own (made once). */
export function fakeCaSigningCert(): Buffer {
  certificate ??= new CertificateAuthority({ name: new DistinguishedName([['CN', 'CA Signing Certificate'], ['OU', 'fake-pki'], ['O', 'EXAMPLE']]) }).certificate;
  return certificate;
}

/** Direct mode: the instance id and CA issuer DN, as an administrator passes them. */
export const DIRECT_CA_FACTS: readonly string[] = ['--instance-id', INSTANCE_ID, '--ca-issuer-dn', FAKE_CA_ISSUER_DN];
