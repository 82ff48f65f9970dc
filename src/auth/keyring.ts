/**
 * The kernel keyring, where nuxwdog keeps the PKI passwords (tag "<instanceId>/<key>" in root's
 * user keyring, as Dogtag's Keyring class reads them: `keyctl search @u user TAG`). The password
 * travels through keyctl's stdout, never through argv.
 */
import type childProcess from 'node:child_process';

export type KeyringLookup = { found: true; password: string } | { found: false; reason: string };

export function readKeyring(tag: string, keyctl = 'keyctl'): KeyringLookup {
  // Loaded when a password is looked up here (nuxwdog instances), not at every start.
  const { spawnSync }: typeof childProcess = require('node:child_process');
  const search = spawnSync(keyctl, ['search', '@u', 'user', tag], { encoding: 'utf8', timeout: 5000 });
  if (search.error) {
    const code = (search.error as NodeJS.ErrnoException).code;
    return { found: false, reason: code === 'ENOENT' ? 'keyctl is not installed' : `keyctl failed (${code ?? search.error.message})` };
  }
  if (search.status !== 0) return { found: false, reason: `no key "${tag}" in the user keyring` };
  const id = search.stdout.trim();
  if (!/^\d+$/.test(id)) return { found: false, reason: `keyctl search gave no key id for "${tag}"` };
  const pipe = spawnSync(keyctl, ['pipe', id], { timeout: 5000 });
  if (pipe.error || pipe.status !== 0) return { found: false, reason: `key "${tag}" exists but cannot be read (keyctl pipe failed)` };
  const password = pipe.stdout.toString('utf8').replace(/\r?\n$/, '');
  if (!password) return { found: false, reason: `key "${tag}" is empty` };
  return { found: true, password };
}
