// The Lambda handler fed the sample events in events/ (as `npm run invoke` would), against DynamoDB
// Local, the SES emulator and the local receivers: partial batch responses and the metrics it emits.
import { readFileSync } from 'node:fs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import { CHANNELS, type Channel } from '../../../shared/infra/resources.ts';
import { metrics } from '../../../shared/observability/metrics.ts';
import { staticChannelConfig } from '../../../shared/senders/config.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { createSenderHandler } from '../../../shared/senders/handler.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { createTestContext } from '../../support/context.ts';
import { putSession, receiverConfigs, sesEmailsTo, uniqueId } from './fixtures.ts';

let receivers: LocalReceivers;
let ctx: AppContext;
let sesEndpoint: string;

const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });

function sampleEvent(channel: Channel, emailTo = 'ada@example.com'): SQSEvent {
  const event = JSON.parse(readFileSync(`events/sqs-${channel}.json`, 'utf8')) as SQSEvent;
  // The webhook sample points at a product's https endpoint; here the local receiver stands in for it.
  // The email sample's address is made unique, so the SES emulator's store (shared by every test file)
  // can show that this run's two emails were sent.
  const recipient = { webhook: receivers.urls.webhook, email: emailTo }[channel as string];
  if (recipient === undefined) return event;
  return {
    Records: event.Records.map((r) => ({ ...r, body: JSON.stringify({ ...JSON.parse(r.body), recipient }) })),
  };
}

function handlerFor(channel: Channel) {
  return createSenderHandler(channel, {
    ctx,
    config: staticChannelConfig(receiverConfigs(receivers, sesEndpoint)),
    providers: cachedProviders(() => new Date(), createProvider),
    log: quiet(),
  });
}

beforeAll(async () => {
  receivers = await startLocalReceivers();
});
beforeEach(async () => {
  const test = await createTestContext();
  ctx = test.ctx;
  sesEndpoint = test.endpoints.ses;
  // The session the samples' recovery record belongs to, at the fence the sample carries.
  await putSession(ctx, 'sess-0001', { attemptFence: 7, version: 7, orgId: 'acme' });
  receivers.control.reset();
  receivers.control.clearRequests();
});
afterAll(async () => {
  await receivers.stop();
});

describe('sender handler', () => {
  it.each(CHANNELS)(
    'delivers both records of events/sqs-%s.json (a recovery and an ops alert)',
    async (channel) => {
      // Prepare
      const handler = handlerFor(channel);
      const emailTo = `${uniqueId('ada')}@example.com`;
      // Act
      const response = await handler(sampleEvent(channel, emailTo));
      // Assess: each record reached its provider (a skipped or unsent record also answers no failure).
      expect(response).toEqual({ batchItemFailures: [] });
      const http = { email: 0, slack: 2, sms: 2, whatsapp: 2, webhook: 2 }[channel];
      expect(receivers.control.requests()).toHaveLength(http);
      expect(await sesEmailsTo(sesEndpoint, emailTo)).toHaveLength(channel === 'email' ? 2 : 0);
    },
  );

  it('fails only the record whose body is not a channel message', async () => {
    // Prepare
    const event = sampleEvent('slack');
    const good = event.Records[0]!;
    const bad: SQSRecord = { ...good, messageId: 'bad-record', body: '{"v":1,"type":"recovery"}' };
    const handler = handlerFor('slack');
    // Act
    const response = await handler({ Records: [good, bad] });
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-record' }] });
    expect(receivers.control.requests('slack')).toHaveLength(1);
  });

  it('fails a message that reached the wrong channel’s queue', async () => {
    // Prepare
    const handler = handlerFor('sms');
    // Act
    const response = await handler(sampleEvent('slack'));
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      sampleEvent('slack').Records.map((r) => r.messageId),
    );
    expect(receivers.control.requests()).toHaveLength(0);
  });

  it('answers a batch whose every record failed per record instead of throwing', async () => {
    // Prepare
    receivers.control.failAlways('twilio', { status: 500 });
    const handler = handlerFor('sms');
    const event = sampleEvent('sms');
    // Act
    const response = await handler(event);
    // Assess
    expect(response.batchItemFailures).toHaveLength(event.Records.length);
  });

  it('publishes Sent, Failed, SkippedNotifications and SendDurationMs under the channel dimension', async () => {
    // Prepare
    const dimension = vi.spyOn(metrics, 'addDimension');
    const metric = vi.spyOn(metrics, 'addMetric');
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');
    const handler = handlerFor('slack');
    // Act
    await handler(sampleEvent('slack'));
    // Assess
    expect(dimension).toHaveBeenCalledWith('channel', 'slack');
    const emitted = metric.mock.calls.map(([name, , value]) => [name, value]);
    expect(emitted).toEqual(
      expect.arrayContaining([
        ['Sent', 2],
        ['Failed', 0],
        ['SkippedNotifications', 0],
        ['SendDurationMs', expect.any(Number)],
      ]),
    );
    expect(publish).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
  });
});
