/** Opens a session to a subsystem's database, trying the authentication candidates in order (authCandidates, ldapi-sockets.ts). */
import { ConfigError, CredentialsRejectedError } from '../core/errors';
import type { Logger } from '../core/logger';
import { readCaFile } from '../files/ca-file';
import { oneLineName, type TrustSettings } from '../ldap/certificate-trust';
import { clientTlsContext, type ClientCertificate } from './client-certificate';
import { LdaptsSession } from '../ldap/ldapts-session';
import { IDENTITY_ATTRIBUTES, serverIdFrom } from '../ldap/server-identity';
import { describeCandidate, type AuthCandidate } from './ldapi-sockets';
import type { InternalDbConfig } from '../config/cs-cfg';

export interface ConnectRequest {
  db: InternalDbConfig;
  candidates: AuthCandidate[];
  connectTimeoutSec: number;
  /** Bound on each operation after the bind. */
  operationTimeoutSec?: number;
  logger: Logger;
  startHint?: string;
  errorsLog?: string;
  /** Where ca_file and the host name are set, for the messages of a certificate that does not verify (LDAPS). */
  trust?: Omit<TrustSettings, 'caFile'>;
  /** Asked only when an SslClientAuth candidate is reached (client-certificate.ts). */
  clientCertificate?(candidate: Extract<AuthCandidate, { kind: 'client-cert' }>): Promise<ClientCertificate>;
  /** Asked only when a BasicAuth candidate is reached. */
  password(): Promise<string>;
  /** Where that password came from (never the password), for a rejected bind. */
  passwordSource?(): string | undefined;
}

/**
 * The session, the candidate it came from, and over LDAPI the server's name for the history
 * (server-identity.ts), from the cn=config read that checks the socket is this database's server.
 */
export async function connectDatabase(req: ConnectRequest): Promise<{ session: LdaptsSession; via: AuthCandidate; serverId?: string }> {
  const { db, logger } = req;
  const options = { connectTimeoutMs: req.connectTimeoutSec * 1000, operationTimeoutMs: (req.operationTimeoutSec ?? 60) * 1000, startHint: req.startHint, errorsLog: req.errorsLog };
  for (const c of req.candidates) {
    if (c.kind === 'ldapi-external') {
      let session: LdaptsSession | undefined;
      try {
        session = await LdaptsSession.open({ ...options, url: c.url, credentials: { kind: 'external' } });
        const config = await session.read('cn=config', IDENTITY_ATTRIBUTES);
        const ports = [config?.first('nsslapd-port'), config?.first('nsslapd-secureport')];
        if (ports.includes(String(db.port))) {
          logger.debug(`connected by ${describeCandidate(c)}`);
          return { session, via: c, serverId: serverIdFrom(config, session.url) };
        }
        logger.debug(`${describeCandidate(c)} serves ports ${ports.filter(Boolean).join('/')}, not ${db.port}: not this database's server`);
      } catch (err) {
        logger.debug(`${describeCandidate(c)} not usable: ${(err as Error).message}`);
      }
      await session?.close();
      continue;
    }
    const caSetting = req.trust?.caSetting ?? 'ca_file in db-upgrade.conf';
    const ca = c.secure && c.caFile ? readCaFile(c.caFile, caSetting) : undefined;
    const trust = req.trust && { ...req.trust, caFile: c.secure ? c.caFile : undefined };
    if (c.kind === 'client-cert') {
      if (!req.clientCertificate) continue;
      const cert = await req.clientCertificate(c);
      const subject = oneLineName(cert.certificate.subject);
      const session = await LdaptsSession.open({
        ...options,
        url: c.url,
        // One context for the run's connections (the bulk writer opens more).
        tlsOptions: { secureContext: clientTlsContext(cert, ca) },
        trust,
        credentials: { kind: 'certificate', subject, issuer: oneLineName(cert.certificate.issuer), source: cert.source },
      });
      logger.info(`connected to ${describeCandidate(c)}: 389 DS mapped ${subject} (from ${cert.source}) to ${session.mappedDN ?? 'an entry it did not name'}`);
      return { session, via: c };
    }
    const password = await req.password();
    let session: LdaptsSession;
    try {
      session = await LdaptsSession.open({ ...options, url: c.url, tlsOptions: ca ? { ca } : undefined, trust, credentials: { kind: 'simple', bindDN: c.bindDN, password } });
    } catch (err) {
      const source = req.passwordSource?.();
      if (!(err instanceof CredentialsRejectedError) || !source) throw err;
      throw new CredentialsRejectedError(
        `${err.message}; the password came from ${source}`,
        'correct the password there (or internaldb.ldapauth.bindDN in CS.cfg), then run pki-db-upgrade again',
      );
    }
    logger.debug(`connected to ${describeCandidate(c)}`);
    return { session, via: c };
  }
  throw new ConfigError(
    `no way to authenticate to ${db.baseDN} on ${db.host}:${db.port}: authtype ${db.authType} without internaldb.ldapauth.clientCertNickname needs the LDAPI socket of that 389 DS, used as root`,
    'run as root on the server of the database, set ldapi_socket in db-upgrade.conf, or name the client certificate in CS.cfg (internaldb.ldapauth.clientCertNickname)',
  );
}
