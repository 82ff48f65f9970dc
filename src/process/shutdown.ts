/**
 * The one owner of how the process ends. However it ends (normal return, thrown error,
 * process.exit, uncaught exception, SIGINT/SIGTERM/SIGHUP from dnf or `timeout`), the registered
 * cleanups run, synchronously, since an 'exit' handler cannot wait (a restored password.conf
 * removed, the lock released). A signal first runs the abort phase: the registered aborts, which
 * may wait on the network (thaw the other servers, withdraw the cluster claim), together bounded by
 * ABORT_DEADLINE_MS; then the notices (the status file, the closing log line, which comes last);
 * a second signal skips what is left of the aborts. SIGKILL cannot be caught: what it leaves behind is recognised and removed by
 * the next run (password-conf.ts, instance-lock.ts).
 */
import { SignalExitCode, type SignalName } from '../core/exit-codes';

/** How long the aborts of a signalled run may take before the process exits anyway. */
export const ABORT_DEADLINE_MS = 20_000;
let abortDeadlineMs = ABORT_DEADLINE_MS;

/** For tests of the deadline itself. */
export function setAbortDeadline(ms: number): void {
  abortDeadlineMs = ms;
}

type Cleanup = () => void;
type Abort = (signal: SignalName) => Promise<void>;
type Notice = (signal: SignalName, exitCode: number) => void;

const cleanups = new Set<Cleanup>();
const aborts = new Set<Abort>();
const notices = new Set<Notice>();
let installed = false;
let stopping = false;

function runCleanups(): void {
  // Newest first: later resources may depend on earlier ones (e.g. a file inside a locked folder).
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      /* a failing cleanup must not stop the others */
    }
  }
}

function exitNow(exitCode: number): never {
  runCleanups();
  process.exit(exitCode);
}

function onSignal(signal: SignalName): void {
  // Conventional shell status for "killed by signal N".
  const exitCode = SignalExitCode[signal];
  if (stopping) finish(signal, exitCode);
  stopping = true;
  const pending = [...aborts].reverse();
  aborts.clear();
  if (pending.length === 0) finish(signal, exitCode);
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, abortDeadlineMs).unref());
  const all = Promise.all(pending.map((abort) => abort(signal).catch(() => undefined)));
  void Promise.race([all, deadline]).finally(() => finish(signal, exitCode));
}

/** The notices (once: the closing line comes last), then the cleanups and the exit. */
function finish(signal: SignalName, exitCode: number): never {
  for (const notice of [...notices]) {
    notices.delete(notice);
    try {
      notice(signal, exitCode);
    } catch {
      /* a notice is best effort */
    }
  }
  return exitNow(exitCode);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const signal of Object.keys(SignalExitCode) as SignalName[]) process.on(signal, () => onSignal(signal));
}

/** Registers a cleanup for every way out; the returned function runs it now (once) and unregisters it. */
export function onProcessExit(fn: Cleanup): () => void {
  install();
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    fn();
  };
  cleanups.add(once);
  return () => {
    cleanups.delete(once);
    once();
  };
}

/**
 * Registers what a signal must undo before the process exits, over the network if need be
 * (bounded by ABORT_DEADLINE_MS). The returned function unregisters it once the work is over.
 */
export function onSignalAbort(fn: Abort): () => void {
  install();
  aborts.add(fn);
  return () => void aborts.delete(fn);
}

/** Registers what a signal must record first, synchronously (the closing log line). Returns the unregister function. */
export function onSignalNotice(fn: Notice): () => void {
  install();
  notices.add(fn);
  return () => void notices.delete(fn);
}
