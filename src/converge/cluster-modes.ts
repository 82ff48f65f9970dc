/**
 * The two ways a replicated database is upgraded, as entry points: the automated run (`run`,
 * %posttrans on every server) and `cluster upgrade` (an administrator, from one server, with its
 * dry-run). Both are the phases of cluster-run.ts under a policy of cluster-policy.ts, and both
 * can be aborted from a signal handler (thaw what they froze, withdraw their claim).
 */
import type { ClusterContext, ClusterRunResult } from './cluster-context';
import { AUTOMATED, manualPolicy } from './cluster-policy';
import { ClusterRun } from './cluster-run';


/** A cluster run, and its abort for a signal (thaws what it froze, withdraws its claim). */
export interface ClusterRunHandle {
  run(): Promise<ClusterRunResult>;
  abort(): Promise<void>;
}

/** The automated mode: safe to run on every server at once. */
export function automatedRun(ctx: ClusterContext): ClusterRunHandle {
  const run = new ClusterRun(ctx, AUTOMATED);
  return { run: () => run.run(), abort: () => run.cleanUp() };
}

/** `cluster upgrade`: freeze, upgrade, thaw, wait for convergence. Call abort() from a signal handler. */
export class ClusterUpgrade {
  private readonly inner: ClusterRun;

  constructor(ctx: ClusterContext, options: { force: boolean }) {
    this.inner = new ClusterRun(ctx, manualPolicy(options));
  }

  run(): Promise<ClusterRunResult> {
    return this.inner.run();
  }

  /** Thaws what this run froze and releases its claim (for SIGINT/SIGTERM). */
  abort(): Promise<void> {
    return this.inner.cleanUp();
  }

  /** Prints what the run would do (freeze and thaw LDIF per server, then the engine's dry-run). */
  rehearse(emit: (text: string) => void): Promise<ClusterRunResult> {
    return this.inner.rehearse(emit);
  }
}
