/** Reading the environment of 389 DS's packaged unit drop-ins, to start test servers the same way. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseUnitEnvironment, serviceEnvironment } from '../harness/service-environment';

describe('parseUnitEnvironment', () => {
  it('reads KEY=VALUE words, quoted or not, and skips comments', () => {
    const unit = [
      '[Service]',
      '#Environment=MALLOC_CONF=prof:true',
      'Environment=LD_PRELOAD=/usr/lib/dirsrv/lib/libjemalloc.so.2',
      'Environment="A=one two" B=3',
    ].join('\n');
    expect(parseUnitEnvironment(unit)).toEqual({ LD_PRELOAD: '/usr/lib/dirsrv/lib/libjemalloc.so.2', A: 'one two', B: '3' });
  });

  it('lets a later assignment win and an empty one reset the list', () => {
    expect(parseUnitEnvironment('Environment=A=1\nEnvironment=A=2')).toEqual({ A: '2' });
    expect(parseUnitEnvironment('Environment=A=1\nEnvironment=\nEnvironment=B=2')).toEqual({ B: '2' });
  });
});

describe('serviceEnvironment', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'unit-env-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the LD_PRELOAD of the drop-ins when the library exists', () => {
    const lib = path.join(dir, 'libfake.so');
    writeFileSync(lib, '');
    writeFileSync(path.join(dir, 'custom.conf'), `[Service]\nEnvironment=LD_PRELOAD=${lib}\n`);
    expect(serviceEnvironment([path.join(dir, 'missing'), dir])).toEqual({ LD_PRELOAD: lib });
  });

  it('reads the drop-ins in name order as one unit: a later file can reset what an earlier one set', () => {
    const lib = path.join(dir, 'libfake.so');
    writeFileSync(lib, '');
    writeFileSync(path.join(dir, 'custom.conf'), `Environment=LD_PRELOAD=${lib}\n`);
    writeFileSync(path.join(dir, 'zz-local.conf'), 'Environment=\n');
    expect(serviceEnvironment([dir])).toEqual({});
  });

  it('gives nothing when the preloaded library is not installed, rather than a server that fails to start', () => {
    writeFileSync(path.join(dir, 'custom.conf'), `Environment=LD_PRELOAD=${path.join(dir, 'absent.so')}\n`);
    expect(serviceEnvironment([dir])).toEqual({});
  });
});
