import { DEFAULT_TOOL_CONFIG, loadToolConfig, parseToolConfig } from '../../src/config/tool-config';

describe('db-upgrade.conf', () => {
  it('a missing file gives the defaults: auto upgrade on, keyring on, 10 s connect timeout, no lock wait', () => {
    expect(loadToolConfig('/nonexistent/db-upgrade.conf')).toEqual({ ...DEFAULT_TOOL_CONFIG, warnings: [] });
    expect(DEFAULT_TOOL_CONFIG).toMatchObject({ autoUpgrade: true, useKeyring: true, connectTimeoutSec: 10, lockWaitSec: 0 });
  });

  it('reads every key', () => {
    const c = parseToolConfig(
      [
        '# admin settings',
        'auto_upgrade = false',
        'log_file = /var/log/pki/x/upgrade.log',
        'password_file = secret.pw',
        'use_keyring = no',
        'connect_timeout = 2.5',
        'lock_wait = 60',
        'ldapi_socket = /run/slapd-x.socket',
        'ca_file = /etc/ipa/ca.crt',
        'backup = Always',
      ].join('\n'),
      '/etc/pki/x/db-upgrade.conf',
    );
    expect(c).toMatchObject({
      file: '/etc/pki/x/db-upgrade.conf',
      autoUpgrade: false,
      logFile: '/var/log/pki/x/upgrade.log',
      passwordFile: '/etc/pki/x/secret.pw', // relative to the config file
      useKeyring: false,
      connectTimeoutSec: 2.5,
      lockWaitSec: 60,
      ldapiSocket: '/run/slapd-x.socket',
      caFile: '/etc/ipa/ca.crt',
      backup: 'always',
      warnings: [],
    });
  });

  it('a bad value is an error naming file and key; an unknown key or a section is a warning', () => {
    expect(() => parseToolConfig('auto_upgrade = sometimes\n', 'f.conf')).toThrow('f.conf: auto_upgrade = sometimes is not true or false');
    expect(() => parseToolConfig('connect_timeout = 0\n', 'f.conf')).toThrow('is not a positive number of seconds');
    expect(() => parseToolConfig('lock_wait = -1\n', 'f.conf')).toThrow('is not a number of seconds (0 or more)');
    expect(() => parseToolConfig('backup = weekly\n', 'f.conf')).toThrow('f.conf: backup = weekly is not always, before-data-steps or never');
    const c = parseToolConfig('autoupgrade = false\n[main]\nauto_upgrade = false\n', 'f.conf');
    expect(c.autoUpgrade).toBe(true);
    expect(c.warnings).toEqual([
      expect.stringContaining('unknown key "autoupgrade" ignored'),
      'f.conf: section [main] ignored (keys go at the top of the file)',
    ]);
  });
});
