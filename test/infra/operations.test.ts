// Alarms and the runbook: every alarm pages the on-call topic, a sweep that stops running pages within three
// minutes, every DLQ and every channel's error rate is watched, and docs/runbooks.md has a section for every
// alarm the template contains.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/constructs/service-function.ts';
import {
  JOB_METRICS,
  MONITOR_METRICS,
  QUEUE_METRICS,
  SENDER_METRICS,
  SERVICE_NAME,
  SWEEP_METRICS,
} from '../../shared/infra/metrics.ts';
import { CHANNELS, JOBS } from '../../shared/infra/resources.ts';
import { ALL_CHANNELS_CONTEXT, props, refOf, resourcesOfType, serviceFunctions, synth } from './synth.ts';

const PREFIX = 'session-recovery-dev';
const ROUTES = [{ method: 'GET', path: '/v1/health/readyz', access: 'read' }] as const;
const { template, json } = synth(ALL_CHANNELS_CONTEXT, { routes: ROUTES });
const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm');
const [topicId] = resourcesOfType(json, 'AWS::SNS::Topic')[0]!;

const alarmNamed = (suffix: string) => {
  const found = alarms.find(([, a]) => props(a).AlarmName === `${PREFIX}-${suffix}`);
  if (!found) throw new Error(`no alarm ${PREFIX}-${suffix}`);
  return props<Record<string, unknown>>(found[1]);
};

describe('on-call topic', () => {
  it('is one TLS-only topic with the subscriptions from context', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://pager.example.com/sns',
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('is the ALARM and OK action of every alarm', () => {
    expect(alarms.length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms) {
      const p = props<{ AlarmActions: unknown[]; OKActions: unknown[] }>(alarm);
      expect(p.AlarmActions.map(refOf), id).toEqual([topicId]);
      expect(p.OKActions.map(refOf), id).toEqual([topicId]);
    }
  });
});

describe('alarms', () => {
  it('pages when the sweep heartbeat is missing for 3 minutes, treating missing data as breaching', () => {
    const sweep = alarmNamed('recovery-sweep-heartbeat-missing');
    expect(sweep).toMatchObject({
      MetricName: JOB_METRICS.heartbeat,
      Namespace: 'SessionRecovery/dev',
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    expect(Number(sweep.Period) * Number(sweep.EvaluationPeriods)).toBeLessThanOrEqual(180);
    expect(sweep.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'service', Value: SERVICE_NAME },
        { Name: 'job', Value: 'recovery-sweep' },
      ]),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${PREFIX}-timeout-monitor-heartbeat-missing`,
      TreatMissingData: 'breaching',
    });
  });

  it('pages on consecutive failures of each job lasting 5 minutes', () => {
    for (const job of JOBS) {
      const alarm = alarmNamed(`${job}-failing`);
      expect(alarm).toMatchObject({
        MetricName: JOB_METRICS.consecutiveFailures,
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(Number(alarm.Period) * Number(alarm.EvaluationPeriods)).toBe(300);
    }
  });

  it('pages on any message in any DLQ', () => {
    const dlqs = resourcesOfType(json, 'AWS::SQS::Queue').filter(([, q]) =>
      String(props(q).QueueName).endsWith('-dlq'),
    );
    // One per channel and job, receipts' (#13) and the product events' (#14).
    expect(dlqs).toHaveLength(CHANNELS.length + JOBS.length + 2);
    // A channel DLQ's alarm watches the monitor's DeadLetterDepth gauge (#20; test/infra/gauges.test.ts).
    const channelDlq = (name: string) => CHANNELS.some((c) => name === `${PREFIX}-${c}-dlq`);
    for (const channel of CHANNELS)
      expect(alarmNamed(`${channel}-dlq`), channel).toMatchObject({
        MetricName: QUEUE_METRICS.deadLetterDepth,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
    for (const [dlqId] of dlqs.filter(([, q]) => !channelDlq(String(props(q).QueueName)))) {
      const watching = alarms.filter(([, a]) => {
        const p = props<{ MetricName?: string; Dimensions?: { Value: unknown }[] }>(a);
        return (
          p.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          p.Dimensions?.some((d) => JSON.stringify(d.Value).includes(dlqId))
        );
      });
      expect(watching, dlqId).toHaveLength(1);
      expect(props(watching[0]![1])).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
    }
  });

  it('watches the error rate of every channel on its Sent and Failed metrics', () => {
    for (const channel of CHANNELS) {
      const alarm = alarmNamed(`${channel}-error-rate`);
      const metrics = alarm.Metrics as {
        MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] } };
      }[];
      const names = metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : [])).sort();
      expect(names, channel).toEqual([SENDER_METRICS.failed, SENDER_METRICS.sent].sort());
      for (const m of metrics.filter((x) => x.MetricStat))
        expect(m.MetricStat!.Metric.Dimensions).toContainEqual({ Name: 'channel', Value: channel });
      expect(alarm.Threshold).toBe(20);
    }
  });

  it('pages on stuck sessions, throttles of any function and API 5xx', () => {
    expect(alarmNamed('stuck-sessions')).toMatchObject({
      MetricName: MONITOR_METRICS.stuckSessions,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    // Every function's throttles page: ten through lambda-throttles' metric math, ingest (#14) on its own.
    const throttles = alarmNamed('lambda-throttles').Metrics as { MetricStat?: unknown }[];
    expect(throttles.filter((m) => m.MetricStat)).toHaveLength(serviceFunctions(json).length - 1);
    expect(alarmNamed('ingest-throttles')).toMatchObject({ MetricName: 'Throttles', Threshold: 0 });
    expect(alarmNamed('api-5xx')).toMatchObject({
      MetricName: '5XXError',
      Statistic: 'Average',
      Threshold: 0.05,
    });
  });

  it('shows sweep, monitor, delivery and API figures on one dashboard', () => {
    const [, dashboard] = resourcesOfType(json, 'AWS::CloudWatch::Dashboard')[0]!;
    const body = JSON.stringify(props(dashboard).DashboardBody);
    for (const text of [
      'recovery-sweep',
      'timeout-monitor',
      JOB_METRICS.dispatched,
      MONITOR_METRICS.stuckSessions,
      SENDER_METRICS.sent,
      'ApproximateNumberOfMessagesVisible',
      '5XXError',
    ])
      expect(body).toContain(text);
  });

  it('pages when an attempt waits in the outbox past the lease and two sweeps, and on sweep errors three runs running', () => {
    // Issue #10: a lost queue or a lost sqs:SendMessage grant kept sessions from every reminder, unpaged.
    expect(alarmNamed('outbox-stuck')).toMatchObject({
      MetricName: SWEEP_METRICS.outboxOldestAgeSeconds,
      Statistic: 'Maximum',
      Threshold: 60 + 2 * 60,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarmNamed('recovery-sweep-errors')).toMatchObject({
      MetricName: JOB_METRICS.errors,
      Threshold: 0,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
  });

  it('pages per channel on an old queue backlog and on any misconfigured send', () => {
    for (const channel of CHANNELS) {
      expect(alarmNamed(`${channel}-queue-age`), channel).toMatchObject({
        MetricName: 'ApproximateAgeOfOldestMessage',
        Namespace: 'AWS/SQS',
        Threshold: 15 * 60,
        EvaluationPeriods: 2,
      });
      expect(alarmNamed(`${channel}-misconfigured`), channel).toMatchObject({
        MetricName: SENDER_METRICS.misconfigured,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('reads heartbeats against the deployed rate, and a disabled schedule has no heartbeat alarm', () => {
    // Prepare: the sweep every 10 minutes, the monitor's schedule off.
    const other = synth(
      { ...ALL_CHANNELS_CONTEXT, sweepRateMinutes: '10', monitorScheduleEnabled: 'false' },
      { routes: ROUTES },
    );
    const names = resourcesOfType(other.json, 'AWS::CloudWatch::Alarm').map(([, a]) =>
      String(props(a).AlarmName),
    );
    const sweep = resourcesOfType(other.json, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => props<Record<string, unknown>>(a))
      .find((a) => a.AlarmName === `${PREFIX}-recovery-sweep-heartbeat-missing`);
    // Assess: 3 periods of 10 minutes; readiness reads the same (SWEEP_RATE_SECONDS, 3 periods).
    expect(Number(sweep?.Period) * Number(sweep?.EvaluationPeriods)).toBe(1800);
    expect(names).not.toContain(`${PREFIX}-timeout-monitor-heartbeat-missing`);
    other.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SWEEP_RATE_SECONDS: '600',
          MONITOR_SCHEDULE_ENABLED: 'false',
          OUTCOME_WAIT_SECONDS: '3600',
          DISPATCH_LEASE_SECONDS: '60',
        }),
      },
    });
  });
});

describe('runbooks', () => {
  const runbook = readFileSync(path.join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');
  /** `## <id>` sections of docs/runbooks.md, by id. */
  const sections = new Map(
    runbook
      .split(/^## /m)
      .slice(1)
      .map((section) => [section.slice(0, section.indexOf('\n')).trim(), section] as const),
  );

  it('has a section for every alarm in the template, linked from the alarm description', () => {
    for (const [id, alarm] of alarms) {
      const p = props<{ AlarmName: string; AlarmDescription: string }>(alarm);
      expect(p.AlarmName, id).toMatch(new RegExp(`^${PREFIX}-`));
      const runbookId = p.AlarmName.slice(PREFIX.length + 1);
      expect(p.AlarmDescription, id).toContain(`docs/runbooks.md#${runbookId}`);
      expect(sections.has(runbookId), `docs/runbooks.md has no "## ${runbookId}"`).toBe(true);
    }
  });

  it('says in every section what to check, what to do (an API route or ops command) and how to confirm', () => {
    for (const [id, section] of sections) {
      if (id === 'Before you start' || id === 'Commands and routes') continue;
      expect(section, id).toMatch(/^### What to check$/m);
      expect(section, id).toMatch(/^### What to do$/m);
      expect(section, id).toMatch(/^### Confirm it is fixed$/m);
      const todo = section.slice(
        section.indexOf('### What to do'),
        section.indexOf('### Confirm it is fixed'),
      );
      expect(todo, id).toMatch(/npx session-recovery [a-z-]+|(GET|POST|PATCH|DELETE) \/v1\//);
    }
  });
});
