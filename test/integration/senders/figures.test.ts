// What the senders' figures count (#11): the error-rate alarm's `Failed` counts final failures only, and ops
// alerts are not counted under any org's delivery stats. Against DynamoDB Local and the local receivers.
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import { DEFAULT_ORG } from '../../../shared/domain/org.ts';
import { CHANNEL_QUEUES } from '../../../shared/infra/resources.ts';
import type { ChannelMessage } from '../../../shared/messages.ts';
import { metrics } from '../../../shared/observability/metrics.ts';
import { dailyStatsPk, readStatsPartition } from '../../../shared/repositories/stats.ts';
import { staticChannelConfig } from '../../../shared/senders/config.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { createSenderHandler } from '../../../shared/senders/handler.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { createTestContext } from '../../support/context.ts';
import { opsAlertMessage, putSession, receiverConfigs, recoveryMessage, uniqueId } from './fixtures.ts';

let receivers: LocalReceivers;
let ctx: AppContext;
let sesEndpoint: string;

const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });
const MAX_RECEIVES = CHANNEL_QUEUES.find((q) => q.channel === 'slack')!.maxReceiveCount;

function record(message: ChannelMessage, receiveCount: number): SQSRecord {
  return {
    messageId: uniqueId('m'),
    receiptHandle: uniqueId('rh'),
    body: JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1772445600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1772445600100',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:session-recovery-slack',
    awsRegion: 'us-east-1',
  };
}

function slackHandler() {
  return createSenderHandler('slack', {
    ctx,
    config: staticChannelConfig(receiverConfigs(receivers, sesEndpoint)),
    providers: cachedProviders(() => new Date(), createProvider),
    log: quiet(),
  });
}

/** The values a handler invocation emitted per metric name. */
function emitted(spy: ReturnType<typeof vi.spyOn>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, , value] of spy.mock.calls as Array<[string, unknown, number]>) {
    out[name] = (out[name] ?? 0) + value;
  }
  return out;
}

beforeAll(async () => {
  receivers = await startLocalReceivers();
});
beforeEach(async () => {
  const test = await createTestContext();
  ctx = test.ctx;
  sesEndpoint = test.endpoints.ses;
  receivers.control.reset();
  receivers.control.clearRequests();
  vi.restoreAllMocks();
});
afterAll(async () => {
  await receivers.stop();
});

describe('sender figures', () => {
  it('counts a transient failure in Failed only on the last receive, when the message goes to the DLQ', async () => {
    // Prepare
    receivers.control.failAlways('slack', { status: 503 });
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    const handler = slackHandler();
    const metric = vi.spyOn(metrics, 'addMetric');
    // Act: the first receives fail and will be retried; the last one is final
    const early: Record<string, number>[] = [];
    for (let receive = 1; receive < MAX_RECEIVES; receive++) {
      metric.mockClear();
      const response = await handler({ Records: [record(message, receive)] } as SQSEvent);
      expect(response.batchItemFailures).toHaveLength(1);
      early.push(emitted(metric));
    }
    metric.mockClear();
    const last = await handler({ Records: [record(message, MAX_RECEIVES)] } as SQSEvent);
    const final = emitted(metric);
    // Assess
    for (const figures of early) expect(figures.Failed).toBe(0);
    expect(last.batchItemFailures).toHaveLength(1);
    expect(final.Failed).toBe(1);
  });

  it('counts an ops alert under no org, and a recovery message under its session’s org', async () => {
    // Prepare
    const recovery = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, recovery.sessionId, { orgId: 'acme' });
    const alert = opsAlertMessage({ channel: 'slack', recipient: '#ops' });
    const handler = slackHandler();
    // Act
    const response = await handler({ Records: [record(recovery, 1), record(alert, 1)] } as SQSEvent);
    // Assess
    expect(response.batchItemFailures).toHaveLength(0);
    expect(receivers.control.requests('slack')).toHaveLength(2);
    const today = new Date();
    const acme = await readStatsPartition(ctx, dailyStatsPk('acme', today));
    const fallback = await readStatsPartition(ctx, dailyStatsPk(DEFAULT_ORG, today));
    expect(acme['channel.slack.sent']).toBe(1);
    expect(fallback['channel.slack.sent'] ?? 0).toBe(0);
  });
});
