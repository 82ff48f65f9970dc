import { emptyHistory, type StepRecord } from '../../src/core/history-store';
import { planUpgrade } from '../../src/core/planner';
import { formatHistory, formatStatus, statusReport } from '../../src/report/run-report';
import { registry, step } from '../support/steps';

const SERVER = 'ds1:389';
const steps = registry(step('1.1.0/01-Schema'), step('1.2.0/01-CaOnly', { appliesTo: ['ca'] }));

describe('status and history of a database some steps do not apply to', () => {
  const done: StepRecord = {
    stepId: '1.0.0/01-Tracking', version: '1.0.0', scope: 'cluster', description: 'test step Tracking', checksum: 'x', server: SERVER,
    packageVersion: '2.0.0', startTime: new Date(0), endTime: new Date(1000), durationMs: 1000, outcome: 'done',
  };

  it('status names the subsystem and lists the steps left out, apart from the pending ones', () => {
    const plan = planUpgrade({ steps, state: emptyHistory(), packageVersion: '2.0.0', serverId: SERVER, subsystem: 'kra' });
    const report = statusReport('o=x on ldap://ds1:389', plan, emptyHistory());
    expect(report).toMatchObject({
      subsystem: 'kra',
      pending: [{ id: '1.0.0/01-Tracking' }, { id: '1.1.0/01-Schema' }],
      notApplicable: [{ id: '1.2.0/01-CaOnly', scope: 'cluster', appliesTo: ['ca'], description: 'test step CaOnly' }],
    });
    const text = formatStatus(report);
    expect(text).toContain('Subsystem:   kra\n');
    expect(text).toMatch(/\nNot applicable: 1 step\(s\) for other subsystems: not run on this database, not recorded\n {2}1\.2\.0\/01-CaOnly +cluster +for ca +test step CaOnly\n/);
  });

  it('status says when the subsystem is unknown', () => {
    const plan = planUpgrade({ steps, state: emptyHistory(), packageVersion: '2.0.0', serverId: SERVER });
    expect(formatStatus(statusReport('t', plan, emptyHistory()))).toContain('Subsystem:   unknown (steps for particular subsystems are left out)\n');
  });

  it('history lists the records, then the steps left out (which have none)', () => {
    const plan = planUpgrade({ steps, state: emptyHistory(), packageVersion: '2.0.0', serverId: SERVER, subsystem: 'tks' });
    const text = formatHistory([done], plan.notApplicable);
    expect(text.split('\n')).toEqual([
      expect.stringMatching(/^STARTED \(UTC\) +OUTCOME +STEP/),
      expect.stringMatching(/^1970-01-01 00:00:00 +done +1\.0\.0\/01-Tracking +cluster +ds1:389 +1\.00 s$/),
      'Not applicable: 1 step(s) for other subsystems: not run on this database, not recorded',
      expect.stringMatching(/^ {2}1\.2\.0\/01-CaOnly +cluster +for ca +test step CaOnly$/),
      '',
    ]);
    expect(formatHistory([], plan.notApplicable)).toMatch(/^No upgrade step has been recorded in this database\.\nNot applicable: 1 step/);
    expect(formatHistory([done])).not.toContain('Not applicable');
  });
});

describe('history of what was changed by hand', () => {
  it('lists each audit entry on one line, whatever its reason holds', () => {
    const text = formatHistory([], [], [
      { action: 'forget', time: new Date(0), stepId: '1.1.0/01-Schema', scope: 'cluster', server: SERVER, actor: 'alice as root@pki1', reason: 'restored\nfrom backup', detail: 'record deleted; it said: done' },
    ]);
    expect(text.split('\n')).toEqual([
      'No upgrade step has been recorded in this database.',
      'Changed by hand (pki-db-upgrade mark-done, forget):',
      '  1970-01-01 00:00:00  forget 1.1.0/01-Schema by alice as root@pki1 on ds1:389: "restored\\nfrom backup" (record deleted; it said: done)',
      '',
    ]);
  });
});
