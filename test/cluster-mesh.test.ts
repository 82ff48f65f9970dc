/**
 * The cluster flows on three real suppliers (full mesh, three loopback hosts), with the shipped
 * upgrades on a CA database created by an old release. Each flow gets a fresh mesh (cn=schema is
 * per server) and ends with the checks of support/mesh.ts on every server.
 */
import type { DsInstance } from './harness/dirsrv';
import { tool } from './support/cluster';
import { freshMesh, meshProblems, type Mesh } from './support/mesh';

let mesh: Mesh | undefined;
afterEach(async () => {
  await mesh?.remove();
  mesh = undefined;
});

const names = (m: Mesh) => m.servers.map((ds: DsInstance) => `localhost:${ds.port}`);

describe('three suppliers', () => {
  it('cluster upgrade: the dry-run shows what the run does; the schema is in force on every server, with no conflict', async () => {
    mesh = await freshMesh(0);
    const [a, b, c] = mesh.servers;

    const first = await tool(mesh.args(a, 'cluster', 'upgrade'));
    expect({ code: first.code, log: first.stderr }).toEqual({ code: 0, log: expect.stringMatching(/held back/) });
    // The others run their own server-scope steps and record their package.
    const onB = await tool(mesh.args(b, 'run'));
    const onC = await tool(mesh.args(c, 'run'));
    expect([onB.code, onC.code]).toEqual([0, 0]);

    const second = await tool(mesh.args(a, 'cluster', 'upgrade'));
    expect({ code: second.code, log: second.stderr }).toEqual({ code: 0, log: expect.stringMatching(/nothing to do/) });
    expect(await meshProblems(mesh, { requireIssuerName: true })).toEqual([]);
    expect(names(mesh)).toHaveLength(3);
  });
});
