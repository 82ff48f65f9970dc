/** Loopback ports for tests: one the system picks, and one nothing listens on. */
import net from 'node:net';

/**
 * Listens on a port the system picks: a fixed port can be taken by any client's ephemeral port
 * (32768-60999 covers the test port ranges), which made a fixed-port version flaky.
 */
export function listenOnLoopback(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** A loopback port nothing listens on (the connection is refused, as with a stopped 389 DS). */
export async function closedLoopbackPort(): Promise<number> {
  const probe = net.createServer();
  const port = await listenOnLoopback(probe);
  await new Promise((r) => probe.close(r));
  return port;
}

