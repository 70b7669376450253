// DynamoDB throttling and 500s while senders deliver — before a request is sent, and after it was applied
// with the answer lost — lose no notification and send none twice. Failed records are redelivered the
// way SQS would (after the sender's lease), until every notification has its final outcome.
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalReceivers, startLocalReceivers } from '../../local/receivers.ts';
import { staticChannelConfig } from '../../shared/senders/config.ts';
import { createProvider } from '../../shared/senders/factories/index.ts';
import { createSenderHandler } from '../../shared/senders/handler.ts';
import { cachedProviders } from '../../shared/senders/providers.ts';
import { putSession, receiverConfigs, recoveryMessage, uniqueId } from '../integration/senders/fixtures.ts';
import { createTestContext, manualClock } from '../support/context.ts';
import { injectDynamoFaults } from '../support/faults.ts';
import { scanAll } from '../support/seed.ts';

let receivers: LocalReceivers;
beforeAll(async () => {
  receivers = await startLocalReceivers();
});
afterAll(async () => {
  await receivers.stop();
});

const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });

function record(body: unknown, receiveCount: number): SQSRecord {
  const id = uniqueId('msg');
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: '000000000000',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:faults-webhook',
    awsRegion: 'us-east-1',
  };
}

describe('DynamoDB faults during sends', () => {
  it.each([
    ['20 % before-send', 'before-send' as const, 11],
    ['20 % after-send (applied, answer lost)', 'after-send' as const, 12],
    ['25 % mixed', 'mixed' as const, 13],
  ])('%s: every notification ends sent, with exactly one provider call', async (_name, timing, seed) => {
    // Prepare
    const clock = manualClock('2026-03-02T10:00:00.000Z');
    const { ctx, endpoints } = await createTestContext({ clock: clock.clock });
    const ids = Array.from({ length: 40 }, () => uniqueId('fs'));
    for (const id of ids) await putSession(ctx, id);
    const messages = ids.map((id) =>
      recoveryMessage({ sessionId: id, channel: 'webhook', recipient: receivers.urls.webhook }),
    );
    const handler = createSenderHandler('webhook', {
      ctx,
      config: staticChannelConfig(receiverConfigs(receivers, endpoints.ses)),
      // Leases follow the manual clock; signatures the real one, which the receiver checks.
      providers: cachedProviders(() => new Date(), createProvider),
      clock: clock.clock,
      log: quiet(),
    });
    const before = receivers.control.requests('webhook').length;
    const injector = injectDynamoFaults(ctx.ddb, { rate: timing === 'mixed' ? 0.25 : 0.2, timing, seed });

    // Act: deliver, then redeliver whatever failed after the lease has passed, like SQS would.
    let pending = messages.map((m) => ({ message: m, receives: 1 }));
    let rounds = 0;
    while (pending.length > 0 && rounds < 30) {
      rounds++;
      const records = pending.map((p) => record(p.message, p.receives));
      const response = await handler({ Records: records });
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      pending = pending
        .filter((_, i) => failed.has(records[i]!.messageId))
        .map((p) => ({ ...p, receives: p.receives + 1 }));
      clock.advance(30_000);
    }
    injector.remove();

    // Assess
    expect(pending).toEqual([]);
    expect(injector.counters.injected).toBeGreaterThan(10);
    const outcomes = (await scanAll(ctx, ctx.tables.timeline)).filter((i) => i.type === 'notification');
    expect(outcomes).toHaveLength(40);
    expect(
      outcomes
        .filter((o) => o.status !== 'sent')
        .map((o) => `${o.status}: ${String(o.error ?? o.reason)}`)
        .slice(0, 3),
    ).toEqual([]);
    const calls = receivers.control.requests('webhook').slice(before);
    const perDelivery = new Map<string, number>();
    for (const c of calls) {
      const id = c.headers['webhook-id'] ?? '?';
      perDelivery.set(id, (perDelivery.get(id) ?? 0) + 1);
    }
    expect(perDelivery.size).toBe(40);
    expect([...perDelivery.values()].filter((n) => n > 1)).toEqual([]);
  });
});
