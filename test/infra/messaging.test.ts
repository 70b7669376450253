// Channel queues, their consumers and the job schedules: every queue has a dead-letter path and refuses
// plain HTTP, visibility covers six consumer timeouts, consumers report partial batch failures, and every
// scheduled invocation that fails lands in a DLQ.
import { Capture, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CHANNEL_QUEUES, JOB_DESCRIPTIONS, JOBS } from '../../shared/infra/resources.ts';
import { ALL_CHANNELS_CONTEXT, props, refOf, resourcesOfType, synth } from './synth.ts';

const { template, json } = synth(ALL_CHANNELS_CONTEXT);
const queues = resourcesOfType(json, 'AWS::SQS::Queue');

/** Queues something dead-letters into: redrive targets, rule DLQs, async-invoke failure destinations. */
function deadLetterTargets(): Set<string> {
  const targets = new Set<string>();
  for (const [, q] of queues) {
    const redrive = props<{ RedrivePolicy?: { deadLetterTargetArn: unknown } }>(q).RedrivePolicy;
    const id = refOf(redrive?.deadLetterTargetArn);
    if (id) targets.add(id);
  }
  for (const [, rule] of resourcesOfType(json, 'AWS::Events::Rule')) {
    for (const target of props<{ Targets: { DeadLetterConfig?: { Arn: unknown } }[] }>(rule).Targets) {
      const id = refOf(target.DeadLetterConfig?.Arn);
      if (id) targets.add(id);
    }
  }
  for (const [, config] of resourcesOfType(json, 'AWS::Lambda::EventInvokeConfig')) {
    const id = refOf(
      props<{ DestinationConfig?: { OnFailure?: { Destination: unknown } } }>(config).DestinationConfig
        ?.OnFailure?.Destination,
    );
    if (id) targets.add(id);
  }
  return targets;
}

describe('queues', () => {
  it('has one queue and one DLQ per channel plus one DLQ per job, one for the receipts, and the events queues', () => {
    // #14: the checkout timer queue and the events DLQ.
    template.resourceCountIs('AWS::SQS::Queue', CHANNEL_QUEUES.length * 2 + JOBS.length + 1 + 2);
  });

  it('gives every queue a DLQ unless it is one', () => {
    // Prepare
    const dlqs = deadLetterTargets();
    // Act
    const withoutDeadLetterPath = queues
      .filter(([id, q]) => !dlqs.has(id) && props(q).RedrivePolicy === undefined)
      .map(([id]) => id);
    // Assess
    expect(dlqs.size).toBe(CHANNEL_QUEUES.length + JOBS.length + 2);
    expect(withoutDeadLetterPath).toEqual([]);
  });

  it('uses each channel description for maxReceiveCount and names', () => {
    for (const queue of CHANNEL_QUEUES) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `session-recovery-dev-${queue.queueId}`,
        RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: queue.maxReceiveCount },
      });
    }
  });

  it('encrypts every queue and denies every non-TLS request to it', () => {
    const policies = resourcesOfType(json, 'AWS::SQS::QueuePolicy');
    for (const [id, queue] of queues) {
      expect(props(queue).SqsManagedSseEnabled, id).toBe(true);
      const sslOnly = policies.some(([, policy]) => {
        const p = props<{ Queues: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } }>(
          policy,
        );
        return (
          p.Queues.some((q) => refOf(q) === id) &&
          p.PolicyDocument.Statement.some(
            (s) =>
              s.Effect === 'Deny' &&
              JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
          )
        );
      });
      expect(sslOnly, `${id} has an SSL-only policy`).toBe(true);
    }
  });

  it('lets only its own channel queue redrive into a channel DLQ (console redrive)', () => {
    const source = new Capture();
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'session-recovery-dev-email-dlq',
      RedriveAllowPolicy: { redrivePermission: 'byQueue', sourceQueueArns: [source] },
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    expect(JSON.stringify(source.asObject())).toContain(':session-recovery-dev-email"');
  });
});

describe('consumers', () => {
  const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping');

  it('has one mapping per channel and one for the checkout timers, each reporting batch item failures with bounded concurrency', () => {
    expect(mappings).toHaveLength(CHANNEL_QUEUES.length + 1);
    template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
      BatchSize: Match.anyValue(),
    });
  });

  it('keeps every consumed queue visible for at least 6 × its consumer timeout', () => {
    for (const [id, mapping] of mappings) {
      const p = props<{ EventSourceArn: unknown; FunctionName: unknown }>(mapping);
      const queue = json.Resources[refOf(p.EventSourceArn) ?? ''];
      const fn = json.Resources[refOf(p.FunctionName) ?? ''];
      expect(queue?.Type, id).toBe('AWS::SQS::Queue');
      expect(fn?.Type, id).toBe('AWS::Lambda::Function');
      const visibility = Number(props(queue!).VisibilityTimeout);
      const timeout = Number(props(fn!).Timeout);
      expect(timeout).toBeGreaterThan(0);
      expect(visibility, `${id}: visibility ${visibility}s vs timeout ${timeout}s`).toBeGreaterThanOrEqual(
        6 * timeout,
      );
    }
  });
});

describe('schedules', () => {
  it('runs each job at its described rate', () => {
    const schedules = resourcesOfType(json, 'AWS::Events::Rule').filter(
      ([, r]) => props(r).ScheduleExpression,
    );
    expect(schedules).toHaveLength(JOBS.length);
    for (const job of JOBS) {
      const minutes = JOB_DESCRIPTIONS[job].rateMinutes;
      template.hasResourceProperties('AWS::Events::Rule', {
        Name: `session-recovery-dev-${job}`,
        ScheduleExpression: `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`,
        State: 'ENABLED',
      });
    }
  });

  it('gives every schedule target a retry policy and a DLQ', () => {
    for (const [id, rule] of resourcesOfType(json, 'AWS::Events::Rule')) {
      if (!props(rule).ScheduleExpression) continue; // the SES events rule: test/infra/feedback.test.ts
      const targets = props<{ Targets: Record<string, unknown>[] }>(rule).Targets;
      expect(targets.length, id).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target.DeadLetterConfig, id).toEqual({ Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
        expect(target.RetryPolicy, id).toEqual({
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: expect.any(Number),
        });
      }
    }
  });

  it('does not let Lambda retry a failed run, and keeps the failure in the job DLQ', () => {
    const jobs = resourcesOfType(json, 'AWS::Lambda::EventInvokeConfig').filter(
      ([, c]) =>
        !JSON.stringify(c).includes('ReceiptsDeadLetterQueue') &&
        !JSON.stringify(c).includes('EventsDeadLetterQueue'),
    );
    expect(jobs).toHaveLength(JOBS.length);
    for (const [, config] of jobs) {
      expect(props(config)).toMatchObject({
        MaximumRetryAttempts: 0,
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [expect.stringMatching(/ScheduleDeadLetterQueue/), 'Arn'] },
          },
        },
      });
    }
  });
});
