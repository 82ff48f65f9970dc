/**
 * Keeps systemd's start timeout of the PKI server's unit from expiring while the start-mode run
 * works (a long index build before Tomcat starts): EXTEND_TIMEOUT_USEC on the unit's notify socket
 * (sd_notify(3)), sent again and again, each time for a while from now. Past its own bound it
 * stops asking, and systemd's timeout applies again: a hung run cannot hold the start forever.
 *
 * Node cannot send on a unix datagram socket, so systemd-notify sends it. Run as root, it sends
 * with its parent's pid, this process's: the unit's control process (ExecStartPre), which the
 * drop-in's NotifyAccess=exec lets through (packaging/systemd/pki-db-upgrade.conf).
 */
import type childProcess from 'node:child_process';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';

export interface StartTimeoutOptions {
  /** $NOTIFY_SOCKET: set by systemd for a unit with NotifyAccess=; absent, nothing is sent. */
  notifySocket?: string;
  clock: Clock;
  logger: Logger;
  /** How often to ask (default 20 s). */
  everyMs?: number;
  /** How far from now each time (default 60 s: three asks missed before systemd's timeout runs out). */
  extendByMs?: number;
  /** Stop asking after this long (default 30 min, as the %posttrans time limit). */
  untilMs?: number;
  /** Sends one message (default: systemd-notify). */
  notify?: (message: string, notifySocket: string) => Promise<void>;
}

export class StartTimeoutExtender {
  private timer?: NodeJS.Timeout;
  private startedMs = 0;
  private warned = false;
  /** Past the bound: no more asks. */
  private over = false;
  private readonly everyMs: number;
  private readonly extendByMs: number;
  private readonly untilMs: number;
  private readonly notify: (message: string, notifySocket: string) => Promise<void>;

  constructor(private readonly options: StartTimeoutOptions) {
    this.everyMs = options.everyMs ?? 20_000;
    this.extendByMs = options.extendByMs ?? 60_000;
    this.untilMs = options.untilMs ?? 30 * 60_000;
    this.notify = options.notify ?? systemdNotify;
    this.startedMs = options.clock.monotonicMs();
  }

  /** Asks now, then every `everyMs`; does nothing without a notify socket. */
  start(): void {
    if (!this.options.notifySocket) return;
    this.startedMs = this.options.clock.monotonicMs();
    this.options.logger.debug(`keeping systemd's start timeout from expiring (EXTEND_TIMEOUT_USEC every ${this.everyMs / 1000} s, for up to ${this.untilMs / 1000} s)`);
    void this.ask();
    // unref: a pending ask must not keep the process alive once the run is over.
    this.timer = setInterval(() => void this.ask(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One ask; past the bound, the last (stop). Exposed for tests. */
  async ask(): Promise<void> {
    const socket = this.options.notifySocket;
    if (!socket || this.over) return;
    if (this.options.clock.monotonicMs() - this.startedMs >= this.untilMs) {
      this.options.logger.warn(`still running after ${this.untilMs / 1000} s: no longer extending systemd's start timeout`);
      this.over = true;
      this.stop();
      return;
    }
    try {
      await this.notify(`EXTEND_TIMEOUT_USEC=${this.extendByMs * 1000}`, socket);
    } catch (err) {
      // Without it systemd's own TimeoutStartSec applies: say so once, and go on.
      if (!this.warned) this.options.logger.warn(`could not extend systemd's start timeout: ${(err as Error).message}`);
      this.warned = true;
    }
  }
}

function systemdNotify(message: string, notifySocket: string): Promise<void> {
  // Loaded when systemd is told something (a long start), not at every start.
  const { execFile }: typeof childProcess = require('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('systemd-notify', [message], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: notifySocket }, timeout: 5_000 }, (err) => (err ? reject(err) : resolve()));
  });
}
