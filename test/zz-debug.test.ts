import { Attribute, Change } from 'ldapts';
import { promises as fsp } from 'node:fs';
import { withLdap } from './harness/test-env';
import { collect, MAIN_BUNDLE, startCli } from './support/bundle';
import { removeFakePkis } from './support/fake-pki';
import { freshMesh, pkiTreeFor, posttrans, schemaErrors } from './support/mesh';

it('debug kill', async () => {
  const mesh = await freshMesh(4, { certificates: 3000, withoutIssuerNameRatio: 1 });
  try {
    for (const ds of mesh.servers) await withLdap(ds, (c) => c.modify('cn=config', new Change({ operation: 'replace', modification: new Attribute({ type: 'nsslapd-errorlog-level', values: ['8192'] }) })));
    const trees = mesh.servers.map((ds) => pkiTreeFor(ds, mesh.suffix));
    const child = startCli(MAIN_BUNDLE, ['--root', trees[0].root, '--mode', 'posttrans']);
    const done = collect(child, 300_000);
    for (;;) { const t = await fsp.readFile(trees[0].logFile, 'utf8').catch(() => ''); if (/entries to update/.test(t)) break; await new Promise((r) => setTimeout(r, 20)); }
    child.kill('SIGKILL'); await done;
    console.log('killed at', new Date().toISOString());
    for (const t of trees) { const r = await posttrans(t); console.log(new Date().toISOString(), r.code, r.stdout, r.stderr); }
    await new Promise((r) => setTimeout(r, 2000));
    for (const ds of mesh.servers) {
      console.log(ds.url, (await schemaErrors(mesh, ds)).join('\n'));
      await fsp.copyFile(ds.errorLog, `/tmp/x/kerr-${ds.port}.log`);
    }
  } finally {
    await mesh.remove();
    removeFakePkis();
  }
});
