/**
 * A server certificate that did not verify, said so that the administrator knows which of the
 * three things to fix: the CA trusted here, the host name connected to, or the server's
 * certificate itself (expired, not valid yet). node (OpenSSL) verifies; this only names its
 * verdict, from node's error code and the certificate the server showed.
 */
import type { X509Certificate } from 'node:crypto';
import { ServerCertificateError, type CertificateProblem } from '../core/errors';

/** Where this connection's trust comes from, for the hints. */
export interface TrustSettings {
  /** The CA file trusted; without one, node's built-in CAs. */
  caFile?: string;
  /** Where a CA is named, e.g. "ca_file in /etc/pki-db-upgrade/pki-tomcat.conf" or "--ca-file". */
  caSetting: string;
  /** Where the host name connected to comes from, e.g. "internaldb.ldapconn.host in CS.cfg" or "the host of --url". */
  hostSetting: string;
}

export const DEFAULT_TRUST: TrustSettings = {
  caSetting: 'ca_file (instance mode: in /etc/pki-db-upgrade/<instance>.conf) or --ca-file (direct mode)',
  hostSetting: 'the host name of the URL',
};

/** node's codes for a certificate that does not verify (OpenSSL's X509_V_ERR_* names, and node's own for the host name). */
const PROBLEMS: Record<string, CertificateProblem> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted-ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted-ca',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted-ca',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted-ca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted-ca',
  CERT_UNTRUSTED: 'untrusted-ca',
  ERR_TLS_CERT_ALTNAME_INVALID: 'host-name',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not-yet-valid',
  CERT_SIGNATURE_FAILURE: 'invalid',
  INVALID_CA: 'invalid',
  INVALID_PURPOSE: 'invalid',
  CERT_REJECTED: 'invalid',
};

/** Where the 389 DS keeps its certificates (Dogtag's and FreeIPA's alike). */
const NSS_DB = 'the NSS database of /etc/dirsrv/slapd-NAME';

/**
 * The typed error for a TLS verification failure, or undefined when `err` is not one. `peer` is
 * the certificate the server showed (when node let us see it), `host` the name connected to.
 */
export function certificateError(
  err: unknown,
  context: { url: string; host: string; peer?: X509Certificate; trust?: TrustSettings; now?: Date },
): ServerCertificateError | undefined {
  const code = (err as { code?: unknown }).code;
  const problem = typeof code === 'string' ? PROBLEMS[code] : undefined;
  if (!problem) return undefined;
  const { url, host, peer } = context;
  const trust = context.trust ?? DEFAULT_TRUST;
  const of = `the certificate of 389 DS at ${url}`;
  const options = { cause: err };
  switch (problem) {
    case 'untrusted-ca': {
      const issuer = peer ? `its issuer, ${oneLineName(peer.issuer)},` : 'the CA that issued it';
      const where = trust.caFile ? `is not a CA of ${trust.caFile}` : "is not among node's built-in CAs, and no CA file is given";
      return new ServerCertificateError(
        problem,
        `${of} is not trusted: ${issuer} ${where} (${code})`,
        `name the PEM certificate of the CA that issued it in ${trust.caSetting} (on the 389 DS host, certutil -L -d /etc/dirsrv/slapd-NAME lists the certificates of its NSS database, and certutil -L -d /etc/dirsrv/slapd-NAME -n NICKNAME -a prints one as PEM)`,
        options,
      );
    }
    case 'host-name': {
      const names = peer?.subjectAltName ?? (peer ? oneLineName(peer.subject) : 'other names');
      return new ServerCertificateError(
        problem,
        `${of} is not for ${host}, the name connected to: it names ${names}`,
        `connect by a name the certificate lists (${trust.hostSetting}), or give the 389 DS a certificate whose subjectAltName lists ${host}`,
        options,
      );
    }
    case 'expired': {
      const now = context.now ?? new Date();
      const until = peer ? new Date(peer.validTo) : undefined;
      // OpenSSL says "expired" for any certificate of the chain: the server's may still be valid.
      const message =
        until && until > now
          ? `the certificate chain of 389 DS at ${url} holds an expired CA certificate (the server's own is valid until ${isoTime(until)})`
          : `${of} has expired${until ? `: it was valid until ${isoTime(until)}` : ''}`;
      return new ServerCertificateError(
        problem,
        message,
        `renew the 389 DS server certificate (in ${NSS_DB}) and restart the 389 DS, then run pki-db-upgrade again; if that date is not past, this host's clock is wrong: correct it`,
        options,
      );
    }
    case 'not-yet-valid':
      return new ServerCertificateError(
        problem,
        `${of} is not valid yet${peer ? `: it is valid from ${isoTime(new Date(peer.validFrom))}` : ''}`,
        "check the clock of this host (and of the host that issued the certificate), then run pki-db-upgrade again",
        options,
      );
    case 'invalid':
      return new ServerCertificateError(
        problem,
        `${of} does not verify (${code}: ${(err as Error).message})`,
        `check the 389 DS server certificate and its CA in ${NSS_DB} (certutil -V -u V -d /etc/dirsrv/slapd-NAME -n NICKNAME verifies it for a TLS server)`,
        options,
      );
  }
}

/** node writes a name one RDN per line, least specific first: "O=EXAMPLE\nCN=CA" → "CN=CA,O=EXAMPLE". */
export function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).reverse().join(',');
}

function isoTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
