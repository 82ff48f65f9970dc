/**
 * Cleanups that must run however the process ends: normal return, thrown error, process.exit,
 * uncaught exception, or SIGINT/SIGTERM/SIGHUP (e.g. dnf interrupted, `timeout` firing). They are
 * synchronous because a signal or 'exit' handler cannot wait for promises. SIGKILL cannot be
 * caught: what it leaves behind is recognised and removed by the next run (see password-conf.ts).
 */
import { SignalExitCode, type SignalName } from '../core/exit-codes';

/** The signals handled, with the exit code of each (128 + its number: the table of exit-codes.ts). */
type HandledSignal = SignalName;

type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
let installed = false;
let onSignalNotice: ((signal: HandledSignal, exitCode: number) => void) | undefined;
let onSignalAsync: ((signal: HandledSignal) => Promise<void>) | undefined;

function runAll(): void {
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

function onSignal(signal: HandledSignal): void {
  // Conventional shell status for "killed by signal N"; 'exit' listeners (lock release) still run.
  const exitCode = SignalExitCode[signal];
  try {
    onSignalNotice?.(signal, exitCode);
  } catch {
    /* the notice is best effort */
  }
  // A run that must undo something over the network first (cluster upgrade: thaw the others)
  // gets to finish that; a second signal meanwhile ends the process at once.
  const undo = onSignalAsync;
  onSignalAsync = undefined;
  if (undo) {
    void undo(signal)
      .catch(() => undefined)
      .finally(() => {
        runAll();
        process.exit(exitCode);
      });
    return;
  }
  runAll();
  process.exit(exitCode);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of Object.keys(SignalExitCode) as HandledSignal[]) process.on(signal, () => onSignal(signal));
}

/** Registers a cleanup; the returned function runs it now (once) and unregisters it. */
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
 * Awaited before the cleanups and the exit when a signal ends the run: for what cannot be undone
 * synchronously (writes to other servers). Unset with undefined once the run is over.
 */
export function setSignalUndo(fn: ((signal: HandledSignal) => Promise<void>) | undefined): void {
  install();
  onSignalAsync = fn;
}

/** Called (synchronously) before the cleanups when a signal ends the run: e.g. to record it. */
export function setSignalNotice(fn: ((signal: HandledSignal, exitCode: number) => void) | undefined): void {
  install();
  onSignalNotice = fn;
}
