import { decideSubsystem, recogniseSubsystem } from '../../src/pki/subsystem';
import { FakeDirectory } from '../support/fake-directory';

const SUFFIX = 'o=pki-tomcat';

/** A database holding the suffix and the given containers under it (e.g. 'ou=certificateRepository,ou=ca'). */
function database(...containers: string[]) {
  const dir = new FakeDirectory(() => true);
  dir.add(SUFFIX, { objectClass: ['top', 'organization'], o: ['pki-tomcat'] });
  for (const c of containers) dir.add(`${c},${SUFFIX}`, { objectClass: ['top', 'organizationalUnit'] });
  return dir.session('s');
}

describe('the subsystem of a database', () => {
  it('is recognised from the container its create.ldif makes: the CA its certificate repository, the KRA its key repository', async () => {
    expect(await recogniseSubsystem(database('ou=ca', 'ou=certificateRepository,ou=ca'), SUFFIX)).toEqual({ subsystem: 'ca', basis: `it holds the certificate repository ou=certificateRepository,ou=ca,${SUFFIX}` });
    expect(await recogniseSubsystem(database('ou=kra', 'ou=keyRepository,ou=kra'), SUFFIX)).toEqual({ subsystem: 'kra', basis: `it holds the key repository ou=keyRepository,ou=kra,${SUFFIX}` });
    expect(await recogniseSubsystem(database('ou=people', 'ou=groups'), SUFFIX)).toBeUndefined();
  });

  it('in direct mode is what the content says, or unknown', async () => {
    expect(await decideSubsystem(database('ou=certificateRepository,ou=ca'), SUFFIX)).toMatchObject({ subsystem: 'ca' });
    expect(await decideSubsystem(database(), SUFFIX)).toEqual({ basis: 'not recognised from its content: no certificate repository, no key repository' });
  });

  it('in instance mode is the one the folder names when the content cannot tell (OCSP, TKS, TPS)', async () => {
    expect(await decideSubsystem(database(), SUFFIX, 'ocsp')).toEqual({ subsystem: 'ocsp', basis: 'named by the instance folder' });
    expect(await decideSubsystem(database('ou=kra', 'ou=keyRepository,ou=kra'), SUFFIX, 'kra')).toMatchObject({ subsystem: 'kra' });
  });

  it('is not taken from the folder when the content contradicts it: a "ca" without a certificate repository is unknown', async () => {
    expect(await decideSubsystem(database(), SUFFIX, 'ca')).toEqual({
      basis: `the instance folder names it ca, but it holds no certificate repository (ou=certificateRepository,ou=ca,${SUFFIX})`,
    });
    expect(await decideSubsystem(database('ou=certificateRepository,ou=ca'), SUFFIX, 'kra')).toEqual({
      subsystem: 'ca',
      basis: `it holds the certificate repository ou=certificateRepository,ou=ca,${SUFFIX}, although the instance folder names it kra`,
    });
  });
});
