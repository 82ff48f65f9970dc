import { parseCli } from '../../src/app/cli-args';

describe('command line: instance mode options', () => {
  it('instance mode is the default (no --url): interactive, every instance', () => {
    expect(parseCli([])).toMatchObject({ command: 'run', mode: 'interactive', instance: undefined, url: undefined, waitSec: undefined });
  });

  it('reads --instance, --mode, --wait, --root, --config', () => {
    expect(parseCli(['status', '--instance', 'pki-tomcat', '--mode', 'posttrans', '--wait', '30', '--root', '/tmp/r', '--config', '/c.conf'])).toMatchObject({
      command: 'status',
      instance: 'pki-tomcat',
      mode: 'posttrans',
      waitSec: 30,
      root: '/tmp/r',
      configFile: '/c.conf',
    });
  });

  it('refuses a bad mode or wait, and instance options together with --url', () => {
    expect(() => parseCli(['--mode', 'rpm'])).toThrow('--mode must be interactive or posttrans, not "rpm"');
    expect(() => parseCli(['--wait', 'soon'])).toThrow('--wait must be a number of seconds');
    expect(() => parseCli(['--url', 'ldap://127.0.0.1:389', '--instance', 'x'])).toThrow('belong to instance mode');
  });

  it('keeps direct mode: --url with its own options', () => {
    expect(parseCli(['--url', 'ldap://127.0.0.1:389', '--base-dn', 'o=a', '--connect-timeout', '3'])).toMatchObject({ url: 'ldap://127.0.0.1:389', connectTimeoutSec: 3 });
    // Direct runs are locked too (per server and base DN), so they may wait for the lock.
    expect(parseCli(['--url', 'ldap://127.0.0.1:389', '--base-dn', 'o=a', '--wait', '5'])).toMatchObject({ waitSec: 5 });
  });
});
