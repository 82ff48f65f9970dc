import { defineStep } from '../../src/core/step';
import { ensureEntry } from '../../src/ldap/ensure-entry';
import { CS_USERS_DN, CS_USERS_ENTRY, maxBerSizeTooSmall, MIN_MAX_BER_SIZE } from '../../src/pki/server-settings';

// Dogtag 11.5 sets two things on the 389 DS it uses (server/config.ldif): requests up to 200 MiB
// (nsslapd-maxbersize; 389 DS's 2 MiB default is less than a large CRL), and the container
// ou=csusers,cn=config of the replication managers of clones. A server set up by an older release
// has neither. cn=config is each server's own: this runs on every server, for whichever of its
// databases comes first; then there is nothing left to do. A larger limit is never lowered.
export default defineStep({
  description: 'Let 389 DS accept requests of 200 MiB (nsslapd-maxbersize) and add ou=csusers,cn=config, as server/config.ldif (11.5) does',
  scope: 'server',
  async upgrade(ctx) {
    const current = (await ctx.ldap.read('cn=config', ['nsslapd-maxbersize']))?.first('nsslapd-maxbersize');
    if (maxBerSizeTooSmall(current)) {
      await ctx.ldap.modify('cn=config', [{ operation: 'replace', attribute: 'nsslapd-maxbersize', values: [String(MIN_MAX_BER_SIZE)] }]);
      ctx.logger.info(`nsslapd-maxbersize raised from ${current ?? 'the default (2 MiB)'} to ${MIN_MAX_BER_SIZE}`);
    }
    const csusers = await ensureEntry(ctx.ldap, CS_USERS_DN, CS_USERS_ENTRY);
    if (csusers.action === 'added') ctx.logger.info(`${CS_USERS_DN} added`);
  },
});
