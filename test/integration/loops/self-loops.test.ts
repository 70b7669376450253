// The two loops that send to the queue their function consumes (#20): the email pause gate puts each paused
// message back every 15 min, a Shopify checkout timer sends itself on every 15 min. Lambda's recursive-loop
// detection (../../support/recursive-loop.ts, with each function's setting read from the synthesized
// template) would stop either after about 16 invocations — 4 hours — and dead-letter the message. A 6-hour
// pause and a 7-day abandonment window must still deliver, with nothing dead-lettered. A manual clock moves
// 15 minutes per hop and the hops carry no delay, so days take seconds.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type QueuePoller, startQueuePoller } from '../../../local/queue-poller.ts';
import { handleBusEvent, handleTimerBatch } from '../../../shared/events/handlers.ts';
import { MAX_DELAY_SECONDS, queueTimers, timerHops } from '../../../shared/events/timers.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { resumeChannel } from '../../../shared/reputation/guard.ts';
import { PAUSED_REDELIVERY_SECONDS, pausable, pausedHops } from '../../../shared/reputation/pause-gate.ts';
import { ALL_CHANNELS_CONTEXT, type CfnTemplate, synth } from '../../infra/synth.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { queueDepth } from '../../support/queues.ts';
import { loopDetector, recursiveLoopOf } from '../../support/recursive-loop.ts';
import { fixture, unique } from '../events/support.ts';

const HOUR = 3_600_000;
let template: CfnTemplate;
let poller: QueuePoller | undefined;

beforeAll(() => {
  template = synth(ALL_CHANNELS_CONTEXT, { routes: null }).json;
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
});

/** Polls until `done` holds; generous, as the machine may be loaded (the hops are hundreds of SQS calls). */
async function until(done: () => boolean | Promise<boolean>, ms = 240_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('loops Lambda would cut', () => {
  it('a 6-hour email pause delivers the paused message once resumed, with nothing dead-lettered', async () => {
    const time = manualClock(new Date().toISOString());
    const { ctx, ctxFor, names } = await createTestContext({ clock: time.clock });
    const senderCtx = ctxFor('sender-email');
    const pausedAt = time.clock();
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.control,
        Item: {
          pk: 'sending#email',
          sk: 'pause',
          paused: true,
          pausedAt: pausedAt.toISOString(),
          reason: 'test',
        },
      }),
    );
    const delivered: string[] = [];
    // The sender behind the gate: what it is handed is what would go out (the gate is what is tested).
    const send = async (event: SQSEvent) => {
      for (const record of event.Records) delivered.push(record.body);
      return { batchItemFailures: [] };
    };
    const gate = pausable(send, { ctx: senderCtx, channel: 'email', cacheMs: 0, redeliverySeconds: 0 });
    const detector = loopDetector({
      sqs: ctx.sqs,
      dlqUrl: names.queues.email.dlqUrl,
      setting: recursiveLoopOf(template, 'sender-email'),
      handler: async (event, context) => {
        // Each receive is 15 min (the gate's delay) after the last; the operator resumes after 6 hours.
        if (time.clock().getTime() - pausedAt.getTime() >= 6 * HOUR)
          await resumeChannel(ctx, 'email', { triggeredBy: 'test' });
        try {
          return await gate(event, context);
        } finally {
          time.advance(PAUSED_REDELIVERY_SECONDS * 1000);
        }
      },
    });
    poller = startQueuePoller({
      sqs: ctx.sqs,
      queueUrl: names.queues.email.url,
      handler: detector.handler,
      waitSeconds: 1,
    });
    const body = JSON.stringify({ test: unique() });
    await ctx.sqs.send(new SendMessageCommand({ QueueUrl: names.queues.email.url, MessageBody: body }));

    expect(await until(() => delivered.length > 0 || detector.cut.length > 0)).toBe(true);
    expect(detector.cut).toEqual([]);
    expect(delivered).toEqual([body]);
    expect(detector.hops.get(body)).toBe(pausedHops(6 * HOUR));
    expect(pausedHops(6 * HOUR)).toBe(25);
    expect(await queueDepth(ctx, names.queues.email.dlqUrl)).toBe(0);
  }, 300_000);

  it('a 7-day abandonment window stalls the checkout, with nothing dead-lettered', async () => {
    const time = manualClock(new Date().toISOString());
    const { ctx, ctxFor, names } = await createTestContext({ clock: time.clock });
    const ingestCtx = ctxFor('ingest');
    const windowMinutes = 7 * 24 * 60;
    // Each hop is sent with no delay; the clock moves the 15 min SQS would have held it.
    const deps = { timers: queueTimers(ingestCtx, names.events.url, 0), abandonAfterMinutes: windowMinutes };
    const token = unique();
    const event = fixture('shopify-checkout-update.json');
    event.detail.payload.token = token;
    event.detail.metadata['X-Shopify-Event-Id'] = unique();
    event.detail.metadata['X-Shopify-Triggered-At'] = time.clock().toISOString();
    event.detail.payload.updated_at = time.clock().toISOString();

    const detector = loopDetector({
      sqs: ctx.sqs,
      dlqUrl: names.events.dlqUrl,
      setting: recursiveLoopOf(template, 'ingest'),
      // The ingest invocation that applied the checkout set the timer: the chain's first.
      startedBy: 1,
      handler: async (batch) => {
        time.advance(MAX_DELAY_SECONDS * 1000);
        return handleTimerBatch(ingestCtx, deps, batch);
      },
    });
    poller = startQueuePoller({
      sqs: ctx.sqs,
      queueUrl: names.events.url,
      handler: detector.handler,
      waitSeconds: 1,
    });
    await handleBusEvent(ingestCtx, deps, event);
    const sessionId = `shopify-${token}`;
    expect((await getSession(ctx, sessionId))?.status).toBe('active');

    const stalled = async () => (await getSession(ctx, sessionId))?.status === 'stalled';
    expect(await until(async () => detector.cut.length > 0 || (await stalled()))).toBe(true);
    expect(detector.cut).toEqual([]);
    expect(await stalled()).toBe(true);
    expect(timerHops(windowMinutes)).toBe(673);
    expect([...detector.hops.values()]).toEqual([timerHops(windowMinutes)]);
    expect(await queueDepth(ctx, names.events.dlqUrl)).toBe(0);
  }, 300_000);
});
