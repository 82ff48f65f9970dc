/**
 * The exit codes of pki-db-upgrade, in one table: `ExitCode` (errors.ts) is derived from it, the
 * --help text renders it at run time (src/app/cli-args.ts), and packaging/exit-codes.mjs (`make
 * docs`) writes it into the README's tables and the man page's EXIT STATUS, between
 * `<!-- exit-codes:MODE -->` markers; test/unit/exit-codes.test.ts fails when they differ.
 *
 * A meaning is per mode, since the two modes report differently: `direct` for a run on one
 * database named by --url and for the cluster and new commands, `instance` for instance mode (the
 * PKI instances of this machine, what the RPM runs). Meanings are markdown with `code` spans only
 * (the --help text drops the backticks), lower case and without a final full stop. `check` has a
 * table of its own (CHECK_EXIT_CODES): it reports a state, not how a run went.
 */

export type ExitCodeMode = 'direct' | 'instance' | 'check';

export interface ExitCodeRow {
  code: number;
  /** The key in `ExitCode` (ExitCode.UpgradeFailed), or the signal's name. */
  name: string;
  direct: string;
  instance: string;
}

/** The codes the tool itself returns, 0 to 6. */
export const EXIT_CODES = [
  {
    code: 0,
    name: 'Ok',
    direct: 'upgraded, or nothing to do',
    instance: 'upgraded, up to date, skipped by `auto_upgrade = false`, or no PKI instance on the machine',
  },
  {
    code: 1,
    name: 'UpgradeFailed',
    direct: 'an upgrade step failed: the database stays at the last completed version; rerun to resume',
    instance: 'a step failed, or the run was interrupted: rerun to resume',
  },
  {
    code: 2,
    name: 'UsageOrConfig',
    direct: 'usage or configuration error, bad tracking entries, wrong password, a server certificate that does not verify (its CA, host name or dates), or a database newer than this package',
    instance: 'configuration: CS.cfg, db-upgrade.conf, no password source, a server certificate that does not verify (its CA, host name or dates), rejected credentials, a client certificate (SslClientAuth) that cannot be read or that 389 DS refuses or maps to no entry; or a database newer than this package, left as it is (nothing pending)',
  },
  {
    code: 3,
    name: 'LockHeld',
    direct: 'another run holds the lock',
    instance: 'another run holds the instance lock (its pid is in the message)',
  },
  {
    code: 4,
    name: 'ServerUnreachable',
    direct: 'the 389 DS could not be reached',
    instance: 'the 389 DS could not be reached within `connect_timeout`; an upgrade is recorded as pending',
  },
  {
    code: 5,
    name: 'ClusterNotReady',
    direct:
      'replication is not ready for cluster-scope steps (not converged, agreement in error, another server upgrading): refused, nothing was changed',
    instance:
      "waiting for replication: the cluster-scope steps were refused (an agreement paused or in error, a server unreachable or not readable with these credentials, another server's step interrupted); nothing was changed and the upgrade is recorded as pending",
  },
  {
    code: 6,
    name: 'ReplicationPending',
    direct: 'applied on this server, but not yet on every server within the replication wait: the changes stay queued and replicate',
    instance: 'applied here, not yet on every server within the replication wait; it replicates by itself',
  },
] as const satisfies readonly ExitCodeRow[];

/**
 * A signal that ends a run: 128 + its number, the shell's convention (src/process/shutdown.ts
 * exits with these after its cleanups). One row in the documents.
 */
export const SIGNAL_EXIT_CODES = [
  { code: 129, name: 'SIGHUP' },
  { code: 130, name: 'SIGINT' },
  { code: 143, name: 'SIGTERM' },
] as const;

export const SIGNAL_MEANING: Record<ExitCodeMode, string> = {
  direct: 'stopped by SIGHUP / SIGINT / SIGTERM (`cluster upgrade` made the other suppliers writable again first)',
  instance: 'stopped by SIGHUP / SIGINT / SIGTERM (a restored password.conf was removed first)',
  check: 'stopped by SIGHUP / SIGINT / SIGTERM',
};

/**
 * `pki-db-upgrade check`: the state of the databases, read only. The states have codes of their
 * own (10 and up), so that a script cannot take one for the outcome of a run; 2 and 4 mean what
 * they mean for the other commands. With several databases the first of CHECK_PRECEDENCE present
 * decides.
 */
export const CHECK_EXIT_CODES = [
  { code: 0, name: 'UpToDate', meaning: 'up to date: this package has nothing to apply' },
  { code: 2, name: 'UsageOrConfig', meaning: 'usage or configuration error (CS.cfg, db-upgrade.conf, no password source, a server certificate that does not verify, rejected credentials or client certificate)' },
  { code: 4, name: 'CannotTell', meaning: 'cannot tell: the 389 DS could not be reached, or its history not read' },
  { code: 10, name: 'Pending', meaning: 'upgrade pending: a run would apply steps now' },
  { code: 11, name: 'HeldBack', meaning: 'held back: the pending steps wait until the other servers run a package that ships them' },
  { code: 12, name: 'DatabaseNewer', meaning: 'the database is newer than this package: a server with a newer package upgraded it' },
] as const;

export const CheckExitCode = Object.freeze(Object.fromEntries(CHECK_EXIT_CODES.map((r) => [r.name, r.code]))) as {
  readonly [R in (typeof CHECK_EXIT_CODES)[number] as R['name']]: R['code'];
};
export type CheckExitCodeValue = (typeof CHECK_EXIT_CODES)[number]['code'];

/** Which state decides when databases differ: the first of these present, else up to date. */
export const CHECK_PRECEDENCE: readonly CheckExitCodeValue[] = [2, 12, 4, 10, 11];

type ToolRow = (typeof EXIT_CODES)[number];
export type ExitCodeName = ToolRow['name'];
export type ExitCodeTable = { readonly [R in ToolRow as R['name']]: R['code'] };

export const ExitCode: ExitCodeTable = Object.freeze(Object.fromEntries(EXIT_CODES.map((r) => [r.name, r.code]))) as ExitCodeTable;
export type ExitCodeValue = ToolRow['code'];

export type SignalName = (typeof SIGNAL_EXIT_CODES)[number]['name'];
export const SignalExitCode = Object.freeze(Object.fromEntries(SIGNAL_EXIT_CODES.map((s) => [s.name, s.code]))) as {
  readonly [S in (typeof SIGNAL_EXIT_CODES)[number] as S['name']]: S['code'];
};

/** The rows of one mode as the documents show them: "0".."6", then "129 / 130 / 143". */
export function exitCodeRows(mode: ExitCodeMode): { codes: string; meaning: string }[] {
  return [
    ...(mode === 'check' ? CHECK_EXIT_CODES.map((r) => ({ codes: String(r.code), meaning: r.meaning })) : EXIT_CODES.map((r) => ({ codes: String(r.code), meaning: r[mode] }))),
    { codes: SIGNAL_EXIT_CODES.map((s) => s.code).join(' / '), meaning: SIGNAL_MEANING[mode] },
  ];
}
