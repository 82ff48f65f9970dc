/**
 * Reliability 4 — bad input. Malformed CS.cfg and password.conf (missing keys, garbage, binary
 * bytes, huge lines, a directory where the file belongs, a file the tool may not read), a wrong
 * password, an unknown instance, tracking entries edited by hand into a state the tool never
 * writes, and a database newer than the package. Each must give a specific error that names the
 * file or the entry and says what to do, exit 2, and write nothing to the database.
 *
 * Runs go in --mode posttrans, so the message checked is the one line dnf shows.
 *
 * Unreadable files: the tests run as root, for whom file modes do not stop reading. Two ways are
 * used instead: the tool is run as uid 65534 (setpriv) against a CS.cfg of mode 0600 owned by root,
 * and a directory is put where a file is expected (password.conf, the password_file of
 * db-upgrade.conf, --password-file, CS.cfg, db-upgrade.conf), which root cannot read either.
 *
 * The databases are empty suffixes on the shared server (not CA databases: the real upgrade
 * tightens certificateRecord in the server-wide cn=schema only on a CA database).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Attribute, Change } from 'ldapts';
import { createBackend } from '../harness/dirsrv';
import { standalone, uniqueSuffix, withLdap } from '../harness/test-env';
import { MAIN_BUNDLE } from '../support/bundle';
import { packageVersion } from '../../upgrades/registry.generated';
import { writeSnapshot } from './support/directory-export';
import { pkiTree, type Tree } from './support/environment';
import { ReliabilityGuard } from './support/guard';
import { seededRandom, suiteSeed } from './support/seeded-random';
import { ToolRunner, type ToolResult } from './support/tool-run';

const WRONG_PASSWORD = 'Wrong-Rel1ability.pw';
const HUGE = 16 * 1024 * 1024;
const random = seededRandom(suiteSeed() + 4);

let runner: ToolRunner;
let guard: ReliabilityGuard;
const ds = () => standalone();

beforeAll(() => {
  runner = new ToolRunner(MAIN_BUNDLE, 'badinput');
  guard = new ReliabilityGuard('4 bad input', runner, [standalone().rootPassword, WRONG_PASSWORD]);
});
afterEach(() => expect(guard.problems()).toEqual([]));
afterAll(() => guard.dispose());

interface Database {
  suffix: string;
  backend: string;
}

async function emptyDatabase(): Promise<Database> {
  const { suffix, backendName } = uniqueSuffix('relbad');
  await createBackend(ds(), suffix, backendName);
  return { suffix, backend: backendName };
}

function binaryBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random.next() * 256);
  return b;
}

const posttrans = (tree: Tree, ...more: string[]) => ['--root', tree.root, '--mode', 'posttrans', ...more];

/**
 * Runs the tool on `tree` and checks what every bad input must give: exit 2, one line for dnf
 * holding `expected` and a hint (" → "), quickly, and no write to the database.
 */
async function expectRefused(tree: Tree, db: Database, expected: string | RegExp, options: { args?: string[]; user?: { uid: number; gid: number } } = {}): Promise<ToolResult> {
  const before = await writeSnapshot(ds(), db.suffix, db.backend);
  const result = await runner.run(options.args ?? posttrans(tree), { expose: [tree.root], user: options.user });
  const output = (result.stdout + result.stderr).trim();
  expect({ code: result.code, output }).toEqual({ code: 2, output: expect.stringMatching(typeof expected === 'string' ? escape(expected) : expected) });
  const lines = output.split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(' → ');
  expect(output.length).toBeLessThan(4000); // a huge input is not echoed back
  expect(result.ms).toBeLessThan(15_000);
  expect(await writeSnapshot(ds(), db.suffix, db.backend)).toBe(before);
  return result;
}

function escape(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

const csCfgOf = (tree: Tree) => path.join(tree.instanceDir, 'ca', 'CS.cfg');

describe('CS.cfg', () => {
  const cases: [string, (text: string) => string | Buffer, (file: string) => string][] = [
    ['a required key missing', (t) => t.replace(/^internaldb\.basedn=.*\n/m, ''), (f) => `${f} has no internaldb.basedn → this subsystem is not configured`],
    ['garbage', () => 'this is not a configuration file\n{"internaldb": true}\n<xml/>\n', (f) => `${f} has no internaldb.ldapconn.port`],
    ['binary bytes', () => binaryBytes(8192), (f) => `${f} has no internaldb.ldapconn.port`],
    ['a huge line (16 MB port value)', (t) => t.replace(/^internaldb\.ldapconn\.port=.*$/m, `internaldb.ldapconn.port=${'9'.repeat(HUGE)}`), (f) => `${f}: internaldb.ldapconn.port "999999`],
    ['a port that is not a number', (t) => t.replace(/^internaldb\.ldapconn\.port=.*$/m, 'internaldb.ldapconn.port=ldap'), (f) => `${f}: internaldb.ldapconn.port "ldap" is not a port number → fix CS.cfg`],
    ['an unknown authtype', (t) => t.replace(/^internaldb\.ldapauth\.authtype=.*$/m, 'internaldb.ldapauth.authtype=Kerberos'), (f) => `${f}: internaldb.ldapauth.authtype "Kerberos" is not BasicAuth or SslClientAuth`],
  ];
  it.each(cases)('with %s: exit 2 naming the file and the key', async (_what, edit, expected) => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix);
    fs.writeFileSync(csCfgOf(tree), edit(fs.readFileSync(csCfgOf(tree), 'utf8')));
    await expectRefused(tree, db, expected(csCfgOf(tree)));
  });

  it('of one instance broken, in %posttrans over every instance: that one is named (exit 2), the others are still upgraded', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix);
    const broken = path.join(tree.root, 'etc/pki/pki-broken');
    fs.mkdirSync(path.join(broken, 'ca'), { recursive: true });
    fs.writeFileSync(path.join(broken, 'ca/CS.cfg'), 'garbage\n');
    guard.allow(tree, { testFiles: [path.join(broken, 'ca/CS.cfg')] });
    const result = await runner.run(posttrans(tree), { expose: [tree.root] });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`pki-db-upgrade: pki-broken: ${path.join(broken, 'ca/CS.cfg')} has no internaldb.ldapconn.port → this subsystem is not configured (pkispawn not finished?); fix CS.cfg or remove the subsystem folder`);
    expect(result.stdout.trim()).toMatch(new RegExp(`^pki-db-upgrade: ${tree.name}: ca upgraded from \\(untracked\\) to ${packageVersion.replace(/\./g, '\\.')}`));
  });

  it('a directory where CS.cfg belongs: exit 2 saying it is a directory', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix);
    fs.rmSync(csCfgOf(tree));
    fs.mkdirSync(csCfgOf(tree));
    await expectRefused(tree, db, `cannot read ${csCfgOf(tree)} (EISDIR: it is a directory) → `);
  });

  it('not readable by the user running the tool (uid 65534 via setpriv, CS.cfg 0600 root): exit 2 naming the file and saying to run as root', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix);
    for (const dir of [tree.root, path.join(tree.root, 'etc'), path.join(tree.root, 'etc/pki'), tree.instanceDir, path.dirname(csCfgOf(tree))]) fs.chmodSync(dir, 0o755);
    fs.chmodSync(csCfgOf(tree), 0o600);
    await expectRefused(tree, db, `cannot read ${csCfgOf(tree)} (EACCES) → run as root`, { user: { uid: 65534, gid: 65534 } });
  });
});

describe('password.conf (the only password source)', () => {
  const noPassword = (file: string) => `no database password "internaldb" for instance`;
  const cases: [string, string | Buffer, (file: string) => string][] = [
    ['the internaldb key missing', 'internal=nss-db-password\nreplicationdb=1234\n', (f) => `${noPassword(f)}`],
    ['garbage', 'password: maybe\n[internaldb]\n= =\n', (f) => `${noPassword(f)}`],
    ['binary bytes', binaryBytes(4096), (f) => `${noPassword(f)}`],
    ['a huge line', `internal=${'x'.repeat(HUGE)}\n`, (f) => `${noPassword(f)}`],
  ];
  it.each(cases)('with %s: exit 2 naming password.conf and every source tried', async (_what, content, expected) => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix, { passwordSource: false });
    fs.writeFileSync(tree.passwordConf, content, { mode: 0o600 });
    guard.track(tree);
    const result = await expectRefused(tree, db, expected(tree.passwordConf));
    expect(result.stderr).toContain(`${tree.passwordConf} has no internaldb= line, and no password source had it (keyring: disabled by use_keyring = false; password_file: not set in db-upgrade.conf; terminal prompt: not interactive)`);
  });

  it('a directory where password.conf belongs: exit 2 saying it cannot be read and why', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix, { passwordSource: false });
    fs.mkdirSync(tree.passwordConf);
    guard.track(tree);
    await expectRefused(tree, db, `cannot read ${tree.passwordConf} (EISDIR: it is a directory) → `);
  });

  it('a wrong password: exit 2, the credentials rejected, naming where the password came from; the password not shown', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix, { passwordSource: false });
    fs.writeFileSync(tree.passwordConf, `internaldb=${WRONG_PASSWORD}\n`, { mode: 0o600 });
    guard.track(tree);
    await expectRefused(tree, db, `389 DS at ldap://127.0.0.1:${ds().port} rejected the credentials of cn=Directory Manager (invalid credentials); the password came from ${tree.passwordConf} (internaldb=)`);
  });
});

describe('other password sources and the tool configuration', () => {
  it('password_file of db-upgrade.conf is a directory: exit 2 naming it', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix);
    fs.rmSync(tree.passwordSource);
    fs.mkdirSync(tree.passwordSource, { mode: 0o700 });
    await expectRefused(tree, db, `cannot read the password file ${tree.passwordSource} named in db-upgrade.conf (EISDIR: it is a directory) → fix password_file in db-upgrade.conf`);
  });

  it('--password-file names a directory: exit 2 naming it', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix, { passwordSource: false });
    const dir = path.join(tree.root, 'pw-dir');
    fs.mkdirSync(dir);
    await expectRefused(tree, db, `cannot read the password file ${dir} (EISDIR: it is a directory) → check the path given to --password-file`, { args: posttrans(tree, '--password-file', dir) });
  });

  it('db-upgrade.conf is a directory: exit 2 naming it', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix);
    fs.rmSync(tree.toolConfig);
    fs.mkdirSync(tree.toolConfig);
    await expectRefused(tree, db, `cannot read ${tree.toolConfig} (EISDIR: it is a directory) → `);
  });

  it('an unknown instance: exit 2 naming the folder looked for and the instances found', async () => {
    const db = await emptyDatabase();
    const tree = pkiTree(guard, ds(), db.suffix);
    await expectRefused(tree, db, `no PKI instance "pki-nope": ${path.join(tree.root, 'etc/pki/pki-nope')} does not exist → instances found: ${tree.name}`, {
      args: posttrans(tree, '--instance', 'pki-nope'),
    });
  });
});

describe('tracking entries edited by hand, and a database newer than the package', () => {
  let db: Database;
  let tree: Tree;
  const history = (step: string) => `cn=${step},cn=history,cn=dbUpgrade,${db.suffix}`;

  beforeAll(async () => {
    db = await emptyDatabase();
    tree = pkiTree(guard, ds(), db.suffix);
    const result = await runner.run(posttrans(tree), { expose: [tree.root] });
    expect(result.stdout).toContain(`upgraded from (untracked) to ${packageVersion}`);
  });

  type Edit = { dn: () => string; attribute: string; value?: string };
  // The database is an empty suffix (not a CA's): only the steps for every subsystem are recorded
  // there (10.0.0, 10.2.0, 10.3.0); each case puts its entry back.
  const cases: [string, Edit, (dn: string) => string][] = [
    ['an outcome the tool never writes', { dn: () => history('10.2.0/01-AuthoritySchema'), attribute: 'pkiDbUpgradeOutcome', value: 'half-done' }, (dn) => `${dn}: pkiDbUpgradeOutcome "half-done" is not one of started, done, failed`],
    ['an unknown scope', { dn: () => history('10.3.0/01-CertProfileSchema'), attribute: 'pkiDbUpgradeScope', value: 'global' }, (dn) => `${dn}: pkiDbUpgradeScope "global" is neither cluster nor server`],
    ['a step version that is not a version', { dn: () => history('10.2.0/01-AuthoritySchema'), attribute: 'pkiDbUpgradeVersion', value: '10.x' }, (dn) => `${dn}: pkiDbUpgradeVersion "10.x" is not a version`],
    ['a done step without its end time', { dn: () => history('10.3.0/01-CertProfileSchema'), attribute: 'pkiDbUpgradeEndTime' }, (dn) => `${dn}: a done step has no pkiDbUpgradeEndTime`],
    ['a step without the server that applied it', { dn: () => history('10.0.0/01-TrackingSchema'), attribute: 'pkiDbUpgradeServer' }, (dn) => `${dn}: pkiDbUpgradeServer is missing`],
    ['a database version that is not a version', { dn: () => `cn=dbUpgrade,${db.suffix}`, attribute: 'pkiDbUpgradeVersion', value: 'eleven' }, (dn) => `${dn}: pkiDbUpgradeVersion "eleven" is not a version`],
  ];
  it.each(cases)('%s: exit 2 naming the entry and what to do; nothing written', async (_what, edit, expected) => {
    const dn = edit.dn();
    const saved = await withLdap(ds(), async (c) => (await c.search(dn, { scope: 'base', attributes: [edit.attribute] })).searchEntries[0][edit.attribute]);
    const change = (operation: 'replace' | 'delete', values: string[]) =>
      withLdap(ds(), (c) => c.modify(dn, [new Change({ operation, modification: new Attribute({ type: edit.attribute, values }) })]));
    await change(edit.value === undefined ? 'delete' : 'replace', edit.value === undefined ? [] : [edit.value]);
    try {
      const result = await expectRefused(tree, db, `${expected(dn)} → an entry of the upgrade history was changed by hand: restore it from a backup, or correct or delete that entry`);
      expect(result.stderr).toContain('then rerun');
    } finally {
      await change('replace', (Array.isArray(saved) ? saved : [saved]).map(String));
    }
  });

  it('a database version newer than the package: exit 2, refusing to touch it, saying to update the packages; nothing written', async () => {
    const dn = `cn=dbUpgrade,${db.suffix}`;
    const set = (version: string) => withLdap(ds(), (c) => c.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'pkiDbUpgradeVersion', values: [version] }) })]));
    await set('99.0.0');
    try {
      await expectRefused(tree, db, `the database is at version 99.0.0, newer than this package (${packageVersion}); refusing to touch it → a server with a newer PKI package upgraded it: update the packages on this server`);
    } finally {
      await set(packageVersion);
    }
  });

  it('a step of a newer release recorded done: exit 2 naming it; nothing written', async () => {
    const dn = history('12.0.0/01-Future');
    await withLdap(ds(), (c) =>
      c.add(dn, {
        objectClass: ['top', 'pkiDbUpgradeStep'],
        cn: '12.0.0/01-Future',
        pkiDbUpgradeStepId: '12.0.0/01-Future',
        pkiDbUpgradeOutcome: 'done',
        pkiDbUpgradeVersion: '12.0.0',
        pkiDbUpgradeScope: 'cluster',
        pkiDbUpgradeServer: 'elsewhere:389',
        pkiDbUpgradeStartTime: '20300101000000Z',
        pkiDbUpgradeEndTime: '20300101000001Z',
      }),
    );
    try {
      await expectRefused(tree, db, `step 12.0.0/01-Future (version 12.0.0) was applied by elsewhere:389, newer than this package (${packageVersion}); refusing to touch the database → update the packages on this server`);
    } finally {
      await withLdap(ds(), (c) => c.del(dn));
    }
  });

  it('after the entries are put back, a run has nothing to do', async () => {
    const result = await runner.run(posttrans(tree), { expose: [tree.root] });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`ca up to date at ${packageVersion}`);
  });
});
