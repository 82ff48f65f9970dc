/**
 * Keeping systemd's start timeout from expiring (src/process/start-timeout.ts): what is sent, how
 * long, and that a failure to send does not stop the run. The real systemd-notify on a real socket:
 * test/start-mode.test.ts.
 */
import { silentLogger, type Logger } from '../../src/core/logger';
import { StartTimeoutExtender } from '../../src/process/start-timeout';
import { ManualClock } from '../support/manual-clock';
import { keptLines } from '../support/kept-lines';

function recording(fail = false) {
  const sent: string[] = [];
  return { sent, notify: async (message: string, socket: string) => {
    if (fail) throw new Error('systemd-notify: not found');
    sent.push(`${socket} ${message}`);
  } };
}


describe("systemd's start timeout", () => {
  it('is extended by 60 s at once and at every ask, until the bound, then left to systemd', async () => {
    const clock = new ManualClock();
    const { sent, notify } = recording();
    const { logger, lines } = keptLines();
    const extender = new StartTimeoutExtender({ notifySocket: '/run/systemd/notify', clock, logger, notify, untilMs: 60_000 });
    extender.start();
    await extender.ask();
    clock.ms += 59_000;
    await extender.ask();
    clock.ms += 1_000;
    await extender.ask();
    await extender.ask();
    extender.stop();
    expect(sent).toEqual(Array(3).fill('/run/systemd/notify EXTEND_TIMEOUT_USEC=60000000'));
    expect(lines.filter((l) => l.startsWith('warn'))).toEqual(["warn: still running after 60 s: no longer extending systemd's start timeout"]);
  });

  it('is not touched without a notify socket (not under systemd, or a unit without NotifyAccess)', async () => {
    const { sent, notify } = recording();
    const extender = new StartTimeoutExtender({ clock: new ManualClock(), logger: silentLogger, notify });
    extender.start();
    await extender.ask();
    extender.stop();
    expect(sent).toEqual([]);
  });

  it('says once that it could not be extended, and the run goes on', async () => {
    const { notify } = recording(true);
    const { logger, lines } = keptLines();
    const extender = new StartTimeoutExtender({ notifySocket: '/run/systemd/notify', clock: new ManualClock(), logger, notify });
    await extender.ask();
    await extender.ask();
    expect(lines).toEqual(["warn: could not extend systemd's start timeout: systemd-notify: not found"]);
  });
});
