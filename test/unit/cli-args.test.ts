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
    expect(() => parseCli(['--mode', 'rpm'])).toThrow('--mode must be interactive, posttrans or start, not "rpm"');
    expect(() => parseCli(['--wait', 'soon'])).toThrow('--wait must be a number of seconds');
    expect(() => parseCli(['--url', 'ldap://127.0.0.1:389', '--instance', 'x'])).toThrow('belong to instance mode');
  });

  it('keeps direct mode: --url with its own options', () => {
    expect(parseCli(['--url', 'ldap://127.0.0.1:389', '--base-dn', 'o=a', '--connect-timeout', '3'])).toMatchObject({ url: 'ldap://127.0.0.1:389', connectTimeoutSec: 3 });
    // Direct runs are locked too (per server and base DN), so they may wait for the lock.
    expect(parseCli(['--url', 'ldap://127.0.0.1:389', '--base-dn', 'o=a', '--wait', '5'])).toMatchObject({ waitSec: 5 });
  });

  it('takes --ca-file in direct mode only: instance mode trusts ca_file of root\'s own file', () => {
    expect(parseCli(['--url', 'ldaps://127.0.0.1:636', '--base-dn', 'o=a', '--ca-file', '/etc/ipa/ca.crt'])).toMatchObject({ caFile: '/etc/ipa/ca.crt' });
    expect(() => parseCli(['--instance', 'pki-tomcat', '--ca-file', '/etc/ipa/ca.crt'])).toThrow('--ca-file belongs to direct mode (--url)');
  });
});

describe('command line: mark-done and forget', () => {
  it('take the step and --reason, with --subsystem and --force', () => {
    expect(parseCli(['mark-done', '11.6.0/01-CAIndexes', '--reason', ' built by hand ', '--instance', 'pki-tomcat', '--subsystem', 'ca'])).toMatchObject({
      command: 'mark-done',
      instance: 'pki-tomcat',
      recovery: { action: 'mark-done', stepId: '11.6.0/01-CAIndexes', reason: 'built by hand', subsystem: 'ca' },
    });
    expect(parseCli(['forget', '10.3.3/01-IssuerNameBackfill', '--reason', 'restored', '--force']).recovery).toEqual({ action: 'forget', stepId: '10.3.3/01-IssuerNameBackfill', reason: 'restored', subsystem: undefined });
  });

  it('refuse a missing or malformed step, a missing reason, and their options elsewhere', () => {
    expect(() => parseCli(['mark-done', '--reason', 'x'])).toThrow('mark-done needs the step, as VERSION/NN-Name');
    expect(() => parseCli(['forget', 'CAIndexes', '--reason', 'x'])).toThrow('"CAIndexes" is not a step id');
    expect(() => parseCli(['forget', '11.6.0/01-CAIndexes'])).toThrow('forget needs --reason TEXT');
    expect(() => parseCli(['forget', '11.6.0/01-CAIndexes', '--reason', '  '])).toThrow('forget needs --reason TEXT');
    expect(() => parseCli(['run', '--reason', 'x'])).toThrow('--reason and --subsystem belong to mark-done and forget');
    expect(() => parseCli(['forget', '11.6.0/01-CAIndexes', '--reason', 'x', '--mode', 'posttrans'])).toThrow('--mode and --wait belong to run');
    expect(() => parseCli(['mark-done', '11.6.0/01-CAIndexes', 'more', '--reason', 'x'])).toThrow('unexpected argument "more"');
  });
});

describe('command line: start mode', () => {
  it('is a run mode of instance mode', () => {
    expect(parseCli(['run', '--mode', 'start', '--instance', 'pki-tomcat'])).toMatchObject({ command: 'run', mode: 'start', instance: 'pki-tomcat' });
  });
});
