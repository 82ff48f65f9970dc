/**
 * Start mode (`run --mode start`, the drop-in's ExecStartPre) against the real 389 DS: a pending
 * upgrade completes before the PKI server starts; only a database holding a change this package
 * does not ship that is not backward compatible stops the start; everything else starts with one
 * line of warning; and the unit's start timeout is extended through the real systemd-notify.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { standalone } from './harness/test-env';
import { historyOf, registryOf, tool } from './support/cluster';
import { createFakePki, instanceOnServer, passwordFromConfigFile, readStatus, removeFakePkis, writeToolConfig } from './support/fake-pki';
import { closedLoopbackPort } from './support/ports';
import { tempDir } from './support/temp-dir';

afterAll(() => removeFakePkis());

const start = (pki: { root: string; name: string }) => ['run', '--mode', 'start', '--instance', pki.name, '--root', pki.root];

describe('run --mode start', () => {
  it('completes a pending upgrade, with one line for the journal', async () => {
    const { pki, suffix } = await instanceOnServer(standalone(), 'stup');
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Schema', scope: 'cluster' }]);
    const r = await tool(start(pki), registry);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^pki-db-upgrade: ${pki.name}: ca upgraded from \\(untracked\\) to 2\\.0\\.0 \\(3 step\\(s\\), [\\d.]+ s\\); backup taken first: \\S+\\.ldif\\n$`));
    expect((await historyOf(standalone(), suffix)).databaseVersion).toBe('2.0.0');
    expect(readStatus(pki).lastRun).toMatchObject({ mode: 'start', result: 'upgraded', exitCode: 0 });
    expect(fs.readFileSync(pki.logFile, 'utf8')).toMatch(/start of the PKI server: may go on\n.*==== finished/);
  });

  it('lets a server on an older package start on a newer database whose changes are backward compatible, with a warning', async () => {
    const { pki } = await instanceOnServer(standalone(), 'stnew');
    expect((await tool(['run', '--root', pki.root], registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Compatible', scope: 'cluster' }]))).code).toBe(0);
    const older = await tool(start(pki), registryOf('1.1.0', new Map(), []));
    expect(older).toMatchObject({ code: 0, stdout: '' });
    expect(older.stderr).toMatch(new RegExp(`^pki-db-upgrade: ${pki.name}: starting anyway \\(exit 2 left for later\\): ca: the database is at version 2\\.0\\.0, newer than this package \\(1\\.1\\.0\\); refusing to touch it`));
    expect(readStatus(pki).lastRun).toMatchObject({ mode: 'start', result: 'database-newer', exitCode: 2 });
  });

  it('stops the start (exit 2) when the database holds a change this package does not ship that is not backward compatible, naming it', async () => {
    const ds = standalone();
    const { pki } = await instanceOnServer(ds, 'ststop');
    const newer = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Strict', scope: 'cluster', backwardCompatible: false }]);
    expect((await tool(['run', '--root', pki.root], newer)).code).toBe(0);
    const older = await tool(start(pki), registryOf('1.1.0', new Map(), []));
    expect(older.code).toBe(2);
    expect(older.stderr).toBe(
      `pki-db-upgrade: ${pki.name}: not starting: the database holds changes this package does not ship and that are not backward compatible ` +
        `(ca: 2.0.0/01-Strict (applied by localhost:${ds.port}, package 2.0.0)); update the PKI packages on this server (dnf update pki-*), then start it; see ${pki.logFile}\n`,
    );
    // The same package, or a newer one, knows the change: it starts.
    expect((await tool(start(pki), newer)).code).toBe(0);

    // Opted out of unattended upgrades (auto_upgrade = false): nothing is upgraded, but what
    // decides the start is still looked at.
    passwordFromConfigFile(pki, ds, { auto_upgrade: false });
    const optedOut = await tool(start(pki), registryOf('1.1.0', new Map(), []));
    expect(optedOut.code).toBe(2);
    expect(optedOut.stderr).toMatch(/not starting: the database holds changes this package does not ship and that are not backward compatible \(ca: 2\.0\.0\/01-Strict/);
    const knows = await tool(start(pki), newer);
    expect(knows.code).toBe(0);
    expect(knows.stdout).toMatch(/skipped: auto_upgrade = false/);
  });

  it('starts anyway, with a warning, when the 389 DS is down, no password is found, or the instance is unknown', async () => {
    const ds = standalone();
    const down = createFakePki({ port: await closedLoopbackPort(), baseDN: 'o=nowhere' });
    passwordFromConfigFile(down, ds, { connect_timeout: 2 });
    const r = await tool(start(down), registryOf('2.0.0', new Map(), []));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^pki-db-upgrade: ${down.name}: starting anyway \\(exit 4 left for later\\): ca: .*upgrade pending`));

    const broken = createFakePki({ port: ds.port, baseDN: 'o=x' }); // no password.conf, no other source
    writeToolConfig(broken, { ldapi_socket: '/nonexistent/slapd.socket', use_keyring: false });
    const b = await tool(start(broken), registryOf('2.0.0', new Map(), []));
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(new RegExp(`^pki-db-upgrade: ${broken.name}: starting anyway \\(exit 2 left for later\\): ca: no database password "internaldb"`));

    expect((await tool(['run', '--mode', 'start', '--instance', 'no-such-instance', '--root', broken.root], registryOf('2.0.0', new Map(), []))).code).toBe(0);
  });

  it("extends the unit's start timeout through the notify socket while it works (the real systemd-notify, as this process)", async () => {
    const { pki } = await instanceOnServer(standalone(), 'stnotify');
    const socket = path.join(tempDir('pkidbu-notify-'), 'notify');
    const receiver = await notifyReceiver(socket);
    const registry = registryOf('2.0.0', new Map(), [{ id: '2.0.0/01-Slow', scope: 'cluster', upgrade: () => new Promise((r) => setTimeout(r, 500)) }]);
    process.env.NOTIFY_SOCKET = socket;
    let r;
    try {
      r = await tool(start(pki), registry);
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
    expect(r.code).toBe(0);
    const received = await receiver.messages();
    expect(received[0]).toEqual({ pid: process.pid, message: 'EXTEND_TIMEOUT_USEC=60000000' });
    // Without the socket (a run by hand, or a unit without NotifyAccess) nothing is sent.
    const quiet = await notifyReceiver(socket + '2');
    expect((await tool(start(pki), registry)).code).toBe(0);
    expect(await quiet.messages()).toEqual([]);
  });
});

/**
 * A unix datagram socket as systemd's notify socket is, reporting each message with the sender's
 * pid from its credentials (Node has no unix datagram sockets: python3 reads them).
 */
async function notifyReceiver(socket: string): Promise<{ messages(): Promise<{ pid: number; message: string }[]> }> {
  const script = [
    'import socket, struct, sys, json',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)',
    "print('ready', flush=True)",
    's.settimeout(1.5)',
    'while True:',
    '    try:',
    '        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))',
    '    except socket.timeout:',
    '        break',
    '    pid = next((struct.unpack("iII", d[:12])[0] for l, t, d in anc if l == socket.SOL_SOCKET and t == socket.SCM_CREDENTIALS), 0)',
    '    print(json.dumps({"pid": pid, "message": msg.decode()}), flush=True)',
  ].join('\n');
  const child: ChildProcess = spawn('python3', ['-c', script, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  while (!out.startsWith('ready')) {
    if (child.exitCode !== null) throw new Error('the notify receiver (python3) did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    async messages() {
      await exited; // it ends 1.5 s after the last message
      return out.split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l));
    },
  };
}
