// The alarms' state gauges come from the scheduled timeout-monitor run, not only from receipts (#20): with
// email paused and no receipt arriving, each scheduled run emits SendingPaused=1 (and the 24 h rates), so
// the sending-paused alarm stays in ALARM for as long as email is paused. A manual run emits none.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestContext, type TestContext } from '../../support/context.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
  vi.resetModules();
});

/** The state-gauges module loaded with metrics on, and every EMF document it prints. */
async function withMetrics() {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_DEV = 'true'; // Powertools then prints through the global console
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'SessionRecovery/test';
  vi.resetModules();
  const printed: Record<string, unknown>[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    try {
      const doc = JSON.parse(String(line)) as Record<string, unknown>;
      if (doc._aws) printed.push(doc);
    } catch {
      // not an EMF document
    }
  });
  const module = await import('../../../shared/usecases/state-gauges.ts');
  return { ...module, printed };
}

const depths = (printed: Record<string, unknown>[]) =>
  Object.fromEntries(
    printed.filter((d) => 'DeadLetterDepth' in d).map((d) => [d.channel, d.DeadLetterDepth]),
  );

const gauges = (printed: Record<string, unknown>[]) => printed.filter((d) => 'SendingPaused' in d);

describe('state gauges', () => {
  it('are emitted by a scheduled monitor run while email is paused and no receipt arrives', async () => {
    await t.ctx.ddb.send(
      new PutCommand({
        TableName: t.ctx.tables.control,
        Item: {
          pk: 'sending#email',
          sk: 'pause',
          paused: true,
          pausedAt: new Date().toISOString(),
          reason: 'test',
        },
      }),
    );
    const { runScheduledTimeoutMonitor, printed } = await withMetrics();
    for (let run = 0; run < 2; run++) await runScheduledTimeoutMonitor(t.ctx, { trigger: 'schedule' });
    const emitted = gauges(printed);
    // One per run, each saying paused: the alarm's every period has a breaching datapoint.
    expect(emitted).toHaveLength(2);
    for (const doc of emitted) {
      expect(doc).toMatchObject({
        channel: 'email',
        service: 'session-recovery',
        SendingPaused: 1,
        BounceRate: 0,
        ComplaintRate: 0,
      });
      expect(JSON.stringify(doc._aws)).toContain('"Namespace":"SessionRecovery/test"');
    }
  });

  it('say 0 once email is resumed', async () => {
    await t.ctx.ddb.send(
      new PutCommand({
        TableName: t.ctx.tables.control,
        Item: { pk: 'sending#email', sk: 'pause', paused: false },
      }),
    );
    const { runScheduledTimeoutMonitor, printed } = await withMetrics();
    await runScheduledTimeoutMonitor(t.ctx, { trigger: 'schedule' });
    expect(gauges(printed).map((d) => d.SendingPaused)).toEqual([0]);
  });

  it("carry a full DLQ's depth while no message moves (SQS's own metric stops for an idle queue)", async () => {
    // Dead letters that nobody receives: the queue is idle, only the monitor's gauge says it is full.
    for (const id of ['a', 'b'])
      await t.ctx.sqs.send(
        new SendMessageCommand({ QueueUrl: t.ctx.queues.email.dlqUrl, MessageBody: `{"dead":"${id}"}` }),
      );
    const { runScheduledTimeoutMonitor, printed } = await withMetrics();
    // As the monitor runs deployed: under its own key, judged by local IAM against its role.
    const monitor = t.ctxFor('timeout-monitor');
    for (let run = 0; run < 2; run++) {
      printed.length = 0;
      await runScheduledTimeoutMonitor(monitor, { trigger: 'schedule' });
      expect(depths(printed)).toEqual({ email: 2, slack: 0, sms: 0, whatsapp: 0, webhook: 0 });
    }
    const doc = printed.find((d) => 'DeadLetterDepth' in d);
    expect(doc).toMatchObject({ channel: 'email', service: 'session-recovery' });
    expect(JSON.stringify(doc?._aws)).toContain('"Namespace":"SessionRecovery/test"');
  });

  it('are not emitted by a manual or dry run (neither stands in for the schedule)', async () => {
    const { runScheduledTimeoutMonitor, printed } = await withMetrics();
    await runScheduledTimeoutMonitor(t.ctx, { trigger: 'manual:operator' });
    await runScheduledTimeoutMonitor(t.ctx, { trigger: 'schedule', dryRun: true });
    expect(gauges(printed)).toEqual([]);
    expect(depths(printed)).toEqual({});
  });
});
