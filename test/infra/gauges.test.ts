// Alarms that stay red while the problem lasts (#20): the reputation gauges come from every scheduled
// timeout-monitor run (test/integration/feedback/state-gauges.test.ts shows the run emitting them with no
// receipts), so their alarms treat missing data as missing (keep the state) rather than OK, and each
// runbook's "confirm" step says what clears them. The channel DLQ alarms watch the monitor's DeadLetterDepth
// gauge (the same test shows a full, idle DLQ's depth emitted), not SQS's metric, which stops for an idle queue.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/constructs/service-function.ts';
import { QUEUE_METRICS, stageNamespace } from '../../shared/infra/metrics.ts';
import { CHANNELS, JOB_DESCRIPTIONS } from '../../shared/infra/resources.ts';
import { props, resourcesOfType, synth } from './synth.ts';

const { json } = synth(
  { enabledChannels: 'email', sesFromAddress: 'notifications@example.com' },
  { routes: null },
);
const DLQ_ALARMS = CHANNELS.map((c) => `${c}-dlq`);
const GAUGE_ALARMS = ['email-sending-paused', 'email-bounce-rate', 'email-complaint-rate', ...DLQ_ALARMS];
const alarmNamed = (id: string) =>
  resourcesOfType(json, 'AWS::CloudWatch::Alarm').find(
    ([, a]) => props(a).AlarmName === `session-recovery-dev-${id}`,
  );
const runbooks = readFileSync(path.join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');

describe('state gauge alarms', () => {
  it('cannot go OK because their gauge went quiet', () => {
    for (const id of GAUGE_ALARMS) {
      const alarm = alarmNamed(id);
      expect(alarm, id).toBeDefined();
      expect(props(alarm![1]).TreatMissingData, id).toBe('missing');
    }
  });

  it("watch each channel DLQ through the monitor's depth gauge, one period per monitor run", () => {
    for (const channel of CHANNELS) {
      const alarm = props(alarmNamed(`${channel}-dlq`)![1]);
      expect(alarm, channel).toMatchObject({
        Namespace: stageNamespace('SessionRecovery', 'dev'),
        MetricName: QUEUE_METRICS.deadLetterDepth,
        Statistic: 'Maximum',
        Period: JOB_DESCRIPTIONS['timeout-monitor'].rateMinutes * 60,
        Threshold: 1,
        TreatMissingData: 'missing',
      });
      expect(alarm.Dimensions).toContainEqual({ Name: 'channel', Value: channel });
    }
  });

  it("let the monitor read each channel DLQ's attributes and nothing else of those DLQs", () => {
    const [, policy] = resourcesOfType(json, 'AWS::IAM::Policy').find(([id]) => /TimeoutMonitor/.test(id))!;
    const onChannelDlqs = props<{
      PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
    }>(policy).PolicyDocument.Statement.filter((st) =>
      /ChannelDeadLetterQueue/.test(JSON.stringify(st.Resource)),
    );
    expect(onChannelDlqs).toHaveLength(1);
    expect([onChannelDlqs[0]!.Action].flat()).toEqual(['sqs:GetQueueAttributes']);
    const resources = [onChannelDlqs[0]!.Resource].flat().map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(CHANNELS.length);
    for (const channel of CHANNELS)
      expect(
        resources.some((r) =>
          r.includes(`${channel[0]!.toUpperCase()}${channel.slice(1)}ChannelDeadLetterQueue`),
        ),
        channel,
      ).toBe(true);
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
