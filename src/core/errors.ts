/**
 * Typed errors. Every error the tool reports says what happened and what to do next, and carries
 * its process exit code (the table of exit-codes.ts, which the README and the man page show), so
 * the CLI never has to guess.
 */
import { ExitCode, type ExitCodeValue } from './exit-codes';

export { ExitCode, type ExitCodeValue };

export abstract class PkiDbUpgradeError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  /** What the administrator should do next; printed after the message. */
  readonly hint?: string;

  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }

  /** One text for consoles and logs: the fact, then the next step. */
  describe(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}

/** Bad command line, configuration or input file. */
export class ConfigError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.UsageOrConfig;
}

/** A path root would write through was planted or may be changed by another user (docs/threat-model.md). */
export class UnsafePathError extends ConfigError {}

/** A password would go to a server, or over a connection, it may not go to (docs/threat-model.md). */
export class SecretDestinationError extends ConfigError {}

/** Why a server's TLS certificate did not verify; each has its own message and hint. */
export type CertificateProblem = 'untrusted-ca' | 'host-name' | 'expired' | 'not-yet-valid' | 'invalid';

/**
 * The 389 DS's TLS certificate did not verify (LDAPS or StartTLS): nothing was sent over that
 * connection. A setting to fix (the CA trusted, the host name, the server's certificate), not an
 * outage: exit 2, as any configuration error.
 */
export class ServerCertificateError extends ConfigError {
  constructor(
    readonly problem: CertificateProblem,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }
}

/**
 * SslClientAuth: the client certificate could not be had (its NSS database, nickname, token
 * password, PEM files) or the 389 DS refused it (not trusted there, or mapped to no entry).
 */
export class ClientCertificateError extends ConfigError {}

/** The server rejected the bind DN and password (invalid credentials, 49). */
export class CredentialsRejectedError extends ConfigError {}

/** The database is at a version this package does not know: never touch it. */
export class DowngradeError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.UsageOrConfig;
  constructor(
    message: string,
    hint: string,
    /**
     * The changes in the database this package does not ship and that are recorded as not
     * backward compatible: a server on this package cannot run on it (start mode stops on them).
     */
    readonly incompatible: readonly string[] = [],
  ) {
    super(message, hint);
  }
}

/** The tracking entries in the database are not in a state this tool wrote. */
export class TrackingStateError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.UsageOrConfig;
}

/** An upgrade step failed; the history records it and the version is not advanced past it. */
export class StepFailedError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.UpgradeFailed;
  constructor(
    readonly stepId: string,
    message: string,
    hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }
}

/** The directory answered, but refused or failed an operation the tool needs outside a step. */
export class DirectoryError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.UpgradeFailed;
}

/** Another run holds the lock. */
export class LockHeldError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.LockHeld;
}

/** The 389 DS could not be reached (refused, timed out, DNS). */
export class ServerUnreachableError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.ServerUnreachable;
}

/**
 * Replication is not in a state where cluster-scope changes are safe (an agreement paused or in
 * error, a replica lagging or unreachable, another server's upgrade interrupted): nothing changed.
 */
export class ClusterNotReadyError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.ClusterNotReady;
}

/** This run's cluster claim was lost while it held it: it stopped before writing more. */
export class ClaimLostError extends ClusterNotReadyError {}

/**
 * The upgrade is applied on this server, but it has not reached every other server within the
 * replication wait: nothing is left to run here; replication delivers the rest.
 */
export class ReplicationPendingError extends PkiDbUpgradeError {
  readonly exitCode = ExitCode.ReplicationPending;
}

export function errorMessage(err: unknown): string {
  if (err instanceof PkiDbUpgradeError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
