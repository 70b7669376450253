// Quiet hours are checked again when a message is about to be sent, not only when its attempt was
// scheduled: a message that reaches its sender inside the recipient's quiet window (a queue backlog, a
// retry-now, a DLQ replay) is put back with a longer visibility until the window ends, never sent inside it.
// The handler is fed messages received from the real (emulated) queue, so the visibility it sets is real.
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import type { RecoveryMessage } from '../../../shared/messages.ts';
import { getOutcome, outcomeKey } from '../../../shared/repositories/outcomes.ts';
import { staticChannelConfig } from '../../../shared/senders/config.ts';
import { RetryableDeliveryError } from '../../../shared/senders/deliver.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { createSenderHandler, type RecordResult } from '../../../shared/senders/handler.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { putSession, receiverConfigs, recoveryMessage } from './fixtures.ts';

let receivers: LocalReceivers;
let ctx: AppContext;
let sesEndpoint: string;

beforeAll(async () => {
  receivers = await startLocalReceivers();
});
beforeEach(async () => {
  const test = await createTestContext();
  ctx = test.ctx;
  sesEndpoint = test.endpoints.ses;
  // A 1 s visibility of the queue's own: only the sender's deferral can keep a message hidden longer.
  await ctx.sqs.send(
    new SetQueueAttributesCommand({ QueueUrl: ctx.queues.slack.url, Attributes: { VisibilityTimeout: '1' } }),
  );
  receivers.control.reset();
  receivers.control.clearRequests();
});
afterAll(async () => {
  await receivers.stop();
});

/** Quiet 22:00–07:00 in Paris (UTC+1 in March): 21:00–06:00 UTC. */
const PARIS_NIGHTS = { start: '22:00', end: '07:00', timezone: 'Europe/Paris' };

function sender(clock: () => Date) {
  const results: RecordResult[] = [];
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const handler = createSenderHandler('slack', {
    ctx,
    clock,
    config: staticChannelConfig(receiverConfigs(receivers, sesEndpoint)),
    providers: cachedProviders(() => new Date(), createProvider),
    log,
    onResult: (r) => results.push(r),
  });
  return { handler, results, log };
}

async function enqueueAndReceive(message: RecoveryMessage): Promise<Message> {
  await ctx.sqs.send(
    new SendMessageCommand({ QueueUrl: ctx.queues.slack.url, MessageBody: JSON.stringify(message) }),
  );
  const out = await ctx.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: ctx.queues.slack.url,
      WaitTimeSeconds: 2,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  const received = out.Messages?.[0];
  if (!received) throw new Error('nothing received');
  return received;
}

function eventOf(m: Message): SQSEvent {
  return {
    Records: [
      {
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: { ApproximateReceiveCount: '1' },
      },
    ],
  } as unknown as SQSEvent;
}

async function invisible(): Promise<number> {
  const out = await ctx.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: ctx.queues.slack.url,
      AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('quiet hours at send time', () => {
  it('defers a message that arrives inside the window by its visibility until the end, without calling the provider; out of the window it is sent', async () => {
    // Prepare: 23:30 in Paris, the window ends at 07:00 (06:00 UTC), 7.5 h away
    const clock = manualClock('2026-03-02T22:30:00.000Z');
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery', quietHours: PARIS_NIGHTS });
    await putSession(ctx, message.sessionId);
    const { handler, results } = sender(clock.clock);
    const received = await enqueueAndReceive(message);

    // Act
    const response = await handler(eventOf(received));
    await new Promise((r) => setTimeout(r, 1500)); // past the queue's own 1 s visibility

    // Assess: failed back to the queue, hidden far longer than the queue's own 1 s, nothing sent
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: received.MessageId }]);
    const failure = results[0] && 'error' in results[0] ? results[0].error : undefined;
    expect(failure).toBeInstanceOf(RetryableDeliveryError);
    expect(failure).toMatchObject({ kind: 'quiet_hours' });
    const seconds = (failure as RetryableDeliveryError).retryAfterSeconds ?? 0;
    expect(seconds).toBeGreaterThanOrEqual(7.5 * 3600);
    expect(seconds).toBeLessThanOrEqual(7.5 * 3600 + 300);
    expect(await invisible()).toBe(1);
    expect(receivers.control.requests('slack')).toHaveLength(0);
    expect(await getOutcome(ctx, outcomeKey(message))).toBeUndefined();

    // Act: the window is over; the message is made visible again (as its visibility would) and received
    clock.set('2026-03-03T06:10:00.000Z');
    await ctx.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: ctx.queues.slack.url,
        ReceiptHandle: received.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await enqueueAndReceiveExisting();
    const after = await handler(eventOf(again));

    // Assess
    expect(after.batchItemFailures).toEqual([]);
    expect(receivers.control.requests('slack')).toHaveLength(1);
    expect((await getOutcome(ctx, outcomeKey(message)))?.status).toBe('sent');
  });

  it("caps the deferral at SQS's 12 h visibility maximum", async () => {
    // Prepare: a 23.5 h window (00:00–23:30 UTC) entered at 00:30: its end is 23 h away
    const clock = manualClock('2026-03-02T00:30:00.000Z');
    const message = recoveryMessage({
      channel: 'slack',
      recipient: '#recovery',
      quietHours: { start: '00:00', end: '23:30', timezone: 'UTC' },
    });
    await putSession(ctx, message.sessionId);
    const { handler, results, log } = sender(clock.clock);
    const received = await enqueueAndReceive(message);

    // Act
    await handler(eventOf(received));

    // Assess: the wanted delay is longer than SQS allows; the visibility set is the maximum, not an error
    const failure = results[0] && 'error' in results[0] ? results[0].error : undefined;
    expect((failure as RetryableDeliveryError).retryAfterSeconds).toBeGreaterThan(43_200);
    expect(log.warn).not.toHaveBeenCalledWith('could not delay the redelivery', expect.anything());
    expect(await invisible()).toBe(1);
    expect(receivers.control.requests('slack')).toHaveLength(0);
  });

  it('sends a message outside the window at once', async () => {
    // Prepare: 12:00 in Paris
    const clock = manualClock('2026-03-02T11:00:00.000Z');
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery', quietHours: PARIS_NIGHTS });
    await putSession(ctx, message.sessionId);
    const { handler } = sender(clock.clock);
    // Act
    const response = await handler(eventOf(await enqueueAndReceive(message)));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(receivers.control.requests('slack')).toHaveLength(1);
  });
});

/** Receives the one message already on the queue (made visible again by the test). */
async function enqueueAndReceiveExisting(): Promise<Message> {
  const out = await ctx.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: ctx.queues.slack.url, WaitTimeSeconds: 2 }),
  );
  const received = out.Messages?.[0];
  if (!received) throw new Error('nothing received');
  return received;
}
