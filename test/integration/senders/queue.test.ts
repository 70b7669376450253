// The sender as Lambda runs it: messages on the channel queue (fauxqs), the queue poller standing in for
// the event source mapping, partial batch responses, redrive to the DLQ after maxReceiveCount, and the
// local receivers answering. Queue visibility is cut to 1 s so retries happen within the test.
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type QueuePoller, startQueuePoller } from '../../../local/queue-poller.ts';
import { type LocalReceivers, startLocalReceivers, TWILIO_INVALID_NUMBER } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import type { Channel } from '../../../shared/infra/resources.ts';
import type { ChannelMessage } from '../../../shared/messages.ts';
import { getOutcome, type OutcomeItem, outcomeKey } from '../../../shared/repositories/outcomes.ts';
import {
  type ChannelConfig,
  channelConfigFromEnv,
  staticChannelConfig,
} from '../../../shared/senders/config.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { createSenderHandler, type SenderHandlerOptions } from '../../../shared/senders/handler.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { replayDlq } from '../../../shared/usecases/dlq.ts';
import { checkReadiness, listDlqsWithHealth } from '../../../shared/usecases/health.ts';
import { createTestContext } from '../../support/context.ts';
import { putSession, receiverConfigs, recoveryMessage } from './fixtures.ts';

let receivers: LocalReceivers;
let ctx: AppContext;
let sesEndpoint: string;
const pollers: QueuePoller[] = [];

beforeAll(async () => {
  receivers = await startLocalReceivers();
});
// Fresh queues per test: a DLQ or a receive count from one test must not leak into the next.
beforeEach(async () => {
  const test = await createTestContext();
  ctx = test.ctx;
  sesEndpoint = test.endpoints.ses;
  for (const channel of ['sms', 'slack', 'whatsapp', 'webhook'] as const) {
    await ctx.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: ctx.queues[channel].url,
        Attributes: { VisibilityTimeout: '1' },
      }),
    );
  }
});
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  receivers.control.reset();
  receivers.control.clearRequests();
});
afterAll(async () => {
  await receivers.stop();
});

const quiet = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });

interface Run {
  /** messageId → the ApproximateReceiveCount of every delivery of it to the handler. */
  readonly receives: Map<string, number[]>;
  readonly log: ReturnType<typeof quiet>;
}

/** Starts a sender for `channel` behind the real poller, recording what the handler was given. */
function runSender(
  channel: Channel,
  options: { config?: Partial<Record<Channel, ChannelConfig>>; handler?: Partial<SenderHandlerOptions> } = {},
): Run {
  const log = quiet();
  const handler = createSenderHandler(channel, {
    ctx,
    config: staticChannelConfig(options.config ?? receiverConfigs(receivers, sesEndpoint)),
    providers: cachedProviders(() => new Date(), createProvider),
    log,
    ...options.handler,
  });
  const receives = new Map<string, number[]>();
  const recording = async (event: SQSEvent) => {
    for (const r of event.Records) {
      receives.set(r.messageId, [
        ...(receives.get(r.messageId) ?? []),
        Number(r.attributes.ApproximateReceiveCount),
      ]);
    }
    return handler(event);
  };
  pollers.push(
    startQueuePoller({ sqs: ctx.sqs, queueUrl: ctx.queues[channel].url, handler: recording, waitSeconds: 1 }),
  );
  return { receives, log };
}

/** Sends bodies to the channel queue; returns the SQS message ids in order. */
async function enqueue(channel: Channel, bodies: ReadonlyArray<ChannelMessage | string>): Promise<string[]> {
  const out = await ctx.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: ctx.queues[channel].url,
      Entries: bodies.map((b, i) => ({
        Id: String(i),
        MessageBody: typeof b === 'string' ? b : JSON.stringify(b),
      })),
    }),
  );
  const ids = new Map((out.Successful ?? []).map((s) => [s.Id, s.MessageId ?? '']));
  return bodies.map((_, i) => ids.get(String(i)) ?? '');
}

async function depth(queueUrl: string): Promise<number> {
  const out = await ctx.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function outcomeWhen(message: ChannelMessage, status: OutcomeItem['status']): Promise<OutcomeItem> {
  let found: OutcomeItem | undefined;
  await vi.waitFor(
    async () => {
      found = await getOutcome(ctx, outcomeKey(message));
      expect(found?.status).toBe(status);
    },
    { timeout: 20_000, interval: 100 },
  );
  return found!;
}

describe('sender behind the queue poller', () => {
  it('delivers on the third receive after two 500s, with the provider’s message id', async () => {
    // Prepare
    receivers.control.failNext('twilio', 2, { status: 500 });
    const message = recoveryMessage({ channel: 'sms', recipient: '+14155550100' });
    await putSession(ctx, message.sessionId);
    const run = runSender('sms');
    // Act
    const [id] = await enqueue('sms', [message]);
    const outcome = await outcomeWhen(message, 'sent');
    // Assess
    expect(receivers.control.requests('twilio').map((r) => r.status)).toEqual([500, 500, 201]);
    expect(run.receives.get(id!)).toEqual([1, 2, 3]);
    expect(outcome).toMatchObject({ provider: 'twilio', tries: 3 });
    expect(outcome.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    await vi.waitFor(async () => expect(await depth(ctx.queues.sms.url)).toBe(0));
  });

  it('dead-letters a message the provider always refuses with 500, after maxReceiveCount receives; its batch-mates are delivered once and deleted', async () => {
    // Prepare
    const poisonNumber = '+14155550199';
    receivers.control.failMatching('twilio', (r) => new URLSearchParams(r.body).get('To') === poisonNumber);
    const poison = recoveryMessage({ channel: 'sms', recipient: poisonNumber });
    const good = Array.from({ length: 9 }, () =>
      recoveryMessage({ channel: 'sms', recipient: '+14155550100' }),
    );
    for (const m of [poison, ...good]) await putSession(ctx, m.sessionId);
    const run = runSender('sms');
    // Act
    const [poisonId, ...goodIds] = await enqueue('sms', [poison, ...good]);
    await vi.waitFor(async () => expect(await depth(ctx.queues.sms.dlqUrl)).toBe(1), {
      timeout: 30_000,
      interval: 200,
    });
    // Assess
    expect(run.receives.get(poisonId!)).toEqual([1, 2, 3, 4, 5]);
    for (const id of goodIds) expect(run.receives.get(id)).toEqual([1]);
    for (const m of good) expect((await getOutcome(ctx, outcomeKey(m)))?.status).toBe('sent');
    const dead = await ctx.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: ctx.queues.sms.dlqUrl, WaitTimeSeconds: 1 }),
    );
    expect(JSON.parse(dead.Messages?.[0]?.Body ?? '{}')).toMatchObject({ attemptId: poison.attemptId });
    // The outcome waits, released, for a DLQ replay: `sending`, no lease, the last error kept.
    expect(await getOutcome(ctx, outcomeKey(poison))).toMatchObject({
      status: 'sending',
      tries: 5,
      lastError: expect.stringContaining('500'),
    });
    expect(await depth(ctx.queues.sms.url)).toBe(0);
  });

  it('does not retry a 429 before its Retry-After of 2 s has passed', async () => {
    // Prepare
    receivers.control.rateLimitNext('slack', 1, 2);
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    runSender('slack');
    // Act
    await enqueue('slack', [message]);
    await outcomeWhen(message, 'sent');
    // Assess
    const [limited, retried] = receivers.control.requests('slack');
    expect(limited?.status).toBe(429);
    expect(retried?.status).toBe(200);
    // The queue's own visibility is 1 s: only the stretched visibility explains a wait of 2 s or more.
    expect(retried!.at.getTime() - limited!.at.getTime()).toBeGreaterThanOrEqual(2000);
  });

  it('records a permanent 400 as failed with the reason and neither retries nor dead-letters it', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'sms', recipient: TWILIO_INVALID_NUMBER });
    await putSession(ctx, message.sessionId);
    runSender('sms');
    // Act
    await enqueue('sms', [message]);
    const outcome = await outcomeWhen(message, 'failed');
    // Longer than the queue's visibility: a retry would have happened by now.
    await new Promise((r) => setTimeout(r, 1500));
    // Assess
    expect(outcome.error).toContain('21211');
    expect(receivers.control.requests('twilio')).toHaveLength(1);
    expect(await depth(ctx.queues.sms.url)).toBe(0);
    expect(await depth(ctx.queues.sms.dlqUrl)).toBe(0);
  });

  it('skips a disabled channel with the reason: no provider call, nothing in the DLQ', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'whatsapp', recipient: '+14155550100' });
    await putSession(ctx, message.sessionId);
    runSender('whatsapp', { config: {} });
    // Act
    await enqueue('whatsapp', [message]);
    const outcome = await outcomeWhen(message, 'skipped');
    // Assess
    expect(outcome.reason).toBe('channel_disabled');
    expect(receivers.control.requests('twilio')).toHaveLength(0);
    await vi.waitFor(async () => expect(await depth(ctx.queues.whatsapp.url)).toBe(0));
    expect(await depth(ctx.queues.whatsapp.dlqUrl)).toBe(0);
  });

  it("fails a misconfigured channel's message until it dead-letters (no skip, no provider call); readyz and the DLQ listing say why; a replay after the fix sends it", async () => {
    // Prepare: webhook enabled, but its signing secret cannot be read (Secrets Manager refuses).
    const message = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    await putSession(ctx, message.sessionId);
    const broken = channelConfigFromEnv(
      { ENABLED_CHANNELS: 'webhook', WEBHOOK_SIGNING_SECRET_NAME: 'prod/webhook-signing' },
      async () => {
        throw new Error('AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue');
      },
    );
    const run = runSender('webhook', { handler: { config: broken } });
    // Act
    const [id] = await enqueue('webhook', [message]);
    await vi.waitFor(async () => expect(await depth(ctx.queues.webhook.dlqUrl)).toBe(1), {
      timeout: 30_000,
      interval: 200,
    });
    const ready = await checkReadiness(ctx);
    const listed = (await listDlqsWithHealth(ctx)).find((d) => d.channel === 'webhook');
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
    runSender('webhook');
    const replay = await replayDlq(ctx, 'webhook', { dryRun: false, limit: 10, triggeredBy: 'on-call' });
    const outcome = await outcomeWhen(message, 'sent');
    const readyAfter = await checkReadiness(ctx);
    // Assess
    expect(run.receives.get(id!)).toEqual([1, 2, 3, 4, 5]);
    expect(run.log.error).toHaveBeenCalledWith(
      'channel misconfigured; the message fails and waits for a fix',
      expect.objectContaining({ reason: expect.stringContaining('could not be read') }),
    );
    expect(ready.components.channels).toMatchObject({
      status: 'error',
      misconfigured: ['webhook'],
      webhook: { status: 'misconfigured', reason: expect.stringContaining('prod/webhook-signing') },
    });
    expect(listed).toMatchObject({ depth: 1, health: { status: 'misconfigured' } });
    expect(replay.replayed).toBe(1);
    expect(outcome.provider).toBe('webhook');
    expect(receivers.control.requests('webhook')).toHaveLength(1);
    expect(readyAfter.components.channels).toMatchObject({ status: 'ok', webhook: { status: 'ok' } });
  });

  it('treats a provider refusing our credentials (401) as misconfiguration: retried, never a final failure', async () => {
    // Prepare
    receivers.control.failAlways('slack', { status: 401, body: 'invalid_token' });
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    runSender('slack');
    // Act
    await enqueue('slack', [message]);
    await vi.waitFor(async () => expect(await depth(ctx.queues.slack.dlqUrl)).toBe(1), {
      timeout: 30_000,
      interval: 200,
    });
    // Assess: the outcome waits, released, for a replay after the fix.
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({
      status: 'sending',
      lastError: expect.stringContaining('refused our credentials (401)'),
    });
    expect((await checkReadiness(ctx)).components.channels).toMatchObject({
      slack: { status: 'misconfigured' },
    });
  });

  it('fails only that message when a session’s webhook endpoint answers 403: the channel stays healthy, nothing is dead-lettered (#18 item 11)', async () => {
    // Prepare: one session's endpoint refuses everything; another message on the channel goes to a good one.
    const refusing = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    const good = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    await putSession(ctx, refusing.sessionId);
    await putSession(ctx, good.sessionId);
    receivers.control.failMatching('webhook', (r) => r.body.includes(refusing.sessionId), {
      status: 403,
      body: 'forbidden',
    });
    runSender('webhook');
    // Act
    await enqueue('webhook', [refusing, good]);
    await outcomeWhen(good, 'sent');
    await outcomeWhen(refusing, 'failed');
    await vi.waitFor(async () => expect(await depth(ctx.queues.webhook.url)).toBe(0), { timeout: 15_000 });
    // Assess
    expect(await getOutcome(ctx, outcomeKey(refusing))).toMatchObject({
      status: 'failed',
      error: expect.stringContaining("webhook 403 from the recipient's endpoint"),
    });
    expect(await depth(ctx.queues.webhook.dlqUrl)).toBe(0);
    const channels = (await checkReadiness(ctx)).components.channels as Record<string, unknown>;
    expect(channels.webhook).not.toMatchObject({ status: 'misconfigured' });
  });

  it('sends once when the same message is on the queue three times', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    await putSession(ctx, message.sessionId);
    // A short lease: copies that meet it in flight come back after it instead of after 15 s.
    runSender('webhook', { handler: { leaseSeconds: 2 } });
    // Act
    await enqueue('webhook', [message, message, message]);
    await outcomeWhen(message, 'sent');
    await vi.waitFor(async () => expect(await depth(ctx.queues.webhook.url)).toBe(0), { timeout: 15_000 });
    // Assess
    expect(receivers.control.requests('webhook')).toHaveLength(1);
    expect(receivers.control.requests('webhook')[0]?.verified).toBe(true);
    expect(await depth(ctx.queues.webhook.dlqUrl)).toBe(0);
  });

  it('fails only a record that breaks the message contract, logging why; it ends in the DLQ', async () => {
    // Prepare
    const good = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, good.sessionId);
    const bad = JSON.stringify({ ...good, fence: 'two' });
    const run = runSender('slack');
    // Act
    const [badId, goodId] = await enqueue('slack', [bad, good]);
    await vi.waitFor(async () => expect(await depth(ctx.queues.slack.dlqUrl)).toBe(1), {
      timeout: 30_000,
      interval: 200,
    });
    // Assess
    expect(run.receives.get(goodId!)).toEqual([1]);
    expect(run.receives.get(badId!)).toEqual([1, 2, 3, 4, 5]);
    expect((await getOutcome(ctx, outcomeKey(good)))?.status).toBe('sent');
    expect(run.log.error).toHaveBeenCalledWith(
      'invalid channel message rejected',
      expect.objectContaining({ messageId: badId, issues: [expect.objectContaining({ path: ['fence'] })] }),
    );
  });
});
