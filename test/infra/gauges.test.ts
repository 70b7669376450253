// Alarms that stay red while the problem lasts (#20): the reputation gauges come from every scheduled
// timeout-monitor run (test/integration/feedback/state-gauges.test.ts shows the run emitting them with no
// receipts), so their alarms treat missing data as missing (keep the state) rather than OK, and each
// runbook's "confirm" step says what clears them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/constructs/service-function.ts';
import { props, resourcesOfType, synth } from './synth.ts';

const { json } = synth(
  { enabledChannels: 'email', sesFromAddress: 'notifications@example.com' },
  { routes: null },
);
const GAUGE_ALARMS = ['email-sending-paused', 'email-bounce-rate', 'email-complaint-rate'];
const runbooks = readFileSync(path.join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');

describe('state gauge alarms', () => {
  it('cannot go OK because their gauge went quiet', () => {
    for (const id of GAUGE_ALARMS) {
      const alarm = resourcesOfType(json, 'AWS::CloudWatch::Alarm').find(
        ([, a]) => props(a).AlarmName === `session-recovery-dev-${id}`,
      );
      expect(alarm, id).toBeDefined();
      expect(props(alarm![1]).TreatMissingData, id).toBe('missing');
    }
  });

  it('have runbooks whose confirm step names the monitor run that emits the gauge', () => {
    for (const id of GAUGE_ALARMS) {
      const section = runbooks.split(`\n## ${id}\n`)[1]?.split(/\n## /)[0] ?? '';
      const confirm = section.split('### Confirm it is fixed')[1] ?? '';
      expect(confirm, id).toMatch(/timeout-monitor\s+run/);
      expect(confirm, id).toMatch(/[Mm]issing\s+data\s+keeps\s+the\s+alarm/);
      expect(confirm, id).not.toMatch(/emitted\s+after each bounce or complaint/);
    }
  });
});
