/** How an ACL of cn=aclResources is brought to the value a release ships (src/pki/access-control.ts). */
import { decideAcl } from '../../src/pki/access-control';

const change = { from: 'certServer.x:read:allow (read) group="A":text', to: 'certServer.x:read:allow (read) group="A" || group="B":text' };
const other = 'certServer.y:read:allow (read) group="A":text';

describe('an ACL value shipped by an older release', () => {
  it('is replaced by deleting that value and adding the new one (merged value by value by replication)', () => {
    expect(decideAcl([other, change.from], change)).toEqual({
      action: 'update',
      changes: [
        { operation: 'delete', attribute: 'resourceACLS', values: [change.from] },
        { operation: 'add', attribute: 'resourceACLS', values: [change.to] },
      ],
    });
  });

  it('already replaced: nothing to do', () => {
    expect(decideAcl([change.to, other], change)).toEqual({ action: 'present' });
  });

  it('changed by an administrator: left as it is, and said', () => {
    expect(decideAcl(['certServer.x:read:allow (read) group="Mine":text', other], change)).toEqual({ action: 'customised', resource: 'certServer.x' });
  });

  it('removed by an administrator: not put back', () => {
    expect(decideAcl([other], change)).toEqual({ action: 'missing', resource: 'certServer.x' });
  });
});
