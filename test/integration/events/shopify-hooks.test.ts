// Shopify's signed webhooks against DynamoDB Local and the SQS emulator (#18, items 1 and 2), through the
// route's own binding: a paid order that Shopify delivers after the checkout's abandonment timer fired (late
// delivery, or its retries after a 5xx) still ends the session; the ledger and the event time come from what
// the HMAC covers, so a replayed body with a fresh X-Shopify-Event-Id, or a forged X-Shopify-Triggered-At,
// changes nothing.
import { createHmac } from 'node:crypto';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../shared/context.ts';
import { createHookBindings } from '../../../shared/events/bindings.ts';
import { handleTimerBatch } from '../../../shared/events/handlers.ts';
import type { IngestDeps } from '../../../shared/events/ingest.ts';
import { queueTimers } from '../../../shared/events/timers.ts';
import type { PublicBinding, PublicRequest } from '../../../shared/public/router.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { listTimeline } from '../../../shared/usecases/timeline.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { fixture, type Json, unique } from './support.ts';

const SECRET = 'shopify-app-secret-for-tests-0001';
// The checkout's last update; the abandonment window is an hour.
const T0 = '2026-03-02T10:05:00.000Z';
const minutes = (n: number) => new Date(Date.parse(T0) + n * 60_000).toISOString();
// Shopify's own time format, as in its payloads.
const shopifyTime = (iso: string) => iso.replace(/\.\d+Z$/, '+00:00');

const clock = manualClock(minutes(61));
let ctx: AppContext;
let deps: IngestDeps;
let timerQueueUrl: string;
let hook: PublicBinding;

beforeAll(async () => {
  const test = await createTestContext({ clock: clock.clock });
  ctx = test.ctx;
  timerQueueUrl = test.names.events.url;
  deps = { timers: queueTimers(ctx, timerQueueUrl), abandonAfterMinutes: 60 };
  const bindings = createHookBindings({
    ...deps,
    secrets: { stripe: async () => '', shopify: async () => SECRET },
  });
  if (!bindings.shopifyHook) throw new Error('no shopifyHook binding');
  hook = bindings.shopifyHook;
});

interface Delivery {
  readonly topic: string;
  readonly eventId: string;
  readonly triggeredAt?: string;
}

/** A webhook request as Shopify sends it: the raw body signed with the app's secret, the rest in headers. */
function signed(payload: Json, delivery: Delivery, rawBody = JSON.stringify(payload)): PublicRequest {
  const headers = new Map<string, string>([
    ['content-type', 'application/json'],
    ['x-shopify-topic', delivery.topic],
    ['x-shopify-event-id', delivery.eventId],
    ['x-shopify-webhook-id', unique()],
    ['x-shopify-shop-domain', 'example-shop.myshopify.com'],
    ['x-shopify-hmac-sha256', createHmac('sha256', SECRET).update(rawBody, 'utf8').digest('base64')],
    ...(delivery.triggeredAt ? [['x-shopify-triggered-at', delivery.triggeredAt] as [string, string]] : []),
  ]);
  return {
    params: {},
    query: {},
    form: {},
    rawBody,
    headers,
    url: '/v1/public/hooks/shopify',
    requestId: unique(),
  };
}

async function post(request: PublicRequest) {
  const res = await hook(ctx, request);
  return { status: res.status, body: JSON.parse(res.body) as Json };
}

function checkoutPayload(token: string, updatedAt: string): Json {
  const payload = fixture('shopify-checkout-update.json').detail.payload as Json;
  payload.token = token;
  payload.updated_at = shopifyTime(updatedAt);
  return payload;
}

function orderPayload(token: string, at: string): Json {
  const payload = fixture('shopify-order-create.json').detail.payload as Json;
  payload.checkout_token = token;
  payload.created_at = shopifyTime(at);
  payload.processed_at = shopifyTime(at);
  payload.updated_at = shopifyTime(at);
  return payload;
}

/** A checkout updated at `at`, or an order placed at `at`, delivered now with a fresh event id. */
function delivered(topic: 'checkouts/update' | 'orders/create', token: string, at: string, triggeredAt = at) {
  const payload = topic === 'orders/create' ? orderPayload(token, at) : checkoutPayload(token, at);
  return signed(payload, { topic, eventId: unique(), triggeredAt });
}

/** What the ingest function's event source mapping does: the timer messages now on the queue, handled. */
async function fireDueTimers(): Promise<number> {
  let handled = 0;
  for (let round = 0; round < 10; round++) {
    const res = await ctx.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: timerQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0 && handled > 0) break;
    const batch = await handleTimerBatch(ctx, deps, {
      Records: messages.map((m) => ({ messageId: m.MessageId, body: m.Body, eventSource: 'aws:sqs' })),
    });
    expect(batch.batchItemFailures).toEqual([]);
    for (const m of messages)
      await ctx.sqs.send(
        new DeleteMessageCommand({ QueueUrl: timerQueueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    handled += messages.length;
  }
  return handled;
}

describe('a paid order delivered after the abandonment timer fired (item 1)', () => {
  it('ends the session recovered with its amount, a redelivery is a duplicate, and no reminder follows', async () => {
    // Prepare: a checkout at T0; its timer (due T0 + 60 min) fires and stalls it.
    const token = unique();
    const sessionId = `shopify-${token}`;
    const checkout = await post(delivered('checkouts/update', token, T0));
    expect(checkout.body).toMatchObject({ outcome: 'applied', status: 'active' });
    expect(await fireDueTimers()).toBeGreaterThanOrEqual(1);
    expect((await getSession(ctx, sessionId))?.status).toBe('stalled');

    // Act: the order the customer placed at T0 + 59 min arrives now (after the timer), and again.
    const order = delivered('orders/create', token, minutes(59));
    const first = await post(order);
    const again = await post(order);

    // Assess: recovered, the amount attributed; the redelivery changes nothing.
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ outcome: 'applied', status: 'recovered' });
    expect(again.body.outcome).toBe('duplicate');
    const s = await getSession(ctx, sessionId);
    expect(s).toMatchObject({
      status: 'recovered',
      lastEventAt: minutes(59),
      recovery: { attempt: 0, amount: { value: 3990, currency: 'EUR' } },
    });
    expect(s?.nextRetryAt).toBeUndefined();

    // Assess: a sweep a day later sends nothing for it.
    clock.set(minutes(24 * 60));
    const run = await runRecoverySweep(ctx, { trigger: 'test', bypassJobLease: true });
    expect(run.counts.claimed).toBe(0);
    const timeline = await listTimeline(ctx, sessionId, { limit: 50 });
    expect(timeline.items.filter((i) => i.type === 'attempt')).toEqual([]);
    clock.set(minutes(61));
  });

  it('a timer set before the fix (dated at its due time) does not make the order stale either', async () => {
    // Prepare: a checkout at T0, and a timer message in the shape set before #18 (no eventAt).
    const token = unique();
    const sessionId = `shopify-${token}`;
    const eventId = unique();
    await post(signed(checkoutPayload(token, T0), { topic: 'checkouts/update', eventId, triggeredAt: T0 }));
    // Its own timer stays on the queue: this test hands the timer handler the old-shape message instead.
    const legacy = {
      v: 1,
      type: 'checkout-abandon',
      source: 'shopify',
      sessionId,
      eventId,
      dueAt: minutes(60),
    };
    const batch = await handleTimerBatch(ctx, deps, {
      Records: [{ messageId: unique(), body: JSON.stringify(legacy), eventSource: 'aws:sqs' }],
    });
    expect(batch.batchItemFailures).toEqual([]);
    expect((await getSession(ctx, sessionId))?.status).toBe('stalled');
    // Act
    const order = await post(delivered('orders/create', token, minutes(59)));
    // Assess
    expect(order.body).toMatchObject({ outcome: 'applied', status: 'recovered' });
  });
});

describe('dedupe and time from what the HMAC covers (item 2)', () => {
  it('a captured signed body replayed with a fresh X-Shopify-Event-Id is a duplicate with no second effect', async () => {
    // Prepare: a checkout, and its order applied once.
    const token = unique();
    const sessionId = `shopify-${token}`;
    await post(delivered('checkouts/update', token, T0));
    const body = JSON.stringify(orderPayload(token, minutes(10)));
    const payload = JSON.parse(body) as Json;
    const first = await post(
      signed(payload, { topic: 'orders/create', eventId: unique(), triggeredAt: minutes(10) }, body),
    );
    const before = await getSession(ctx, sessionId);
    // Act: the same signed bytes, a new event id and a later triggered-at.
    const replay = await post(
      signed(payload, { topic: 'orders/create', eventId: unique(), triggeredAt: minutes(11) }, body),
    );
    // Assess
    expect(first.body).toMatchObject({ outcome: 'applied', status: 'completed' });
    expect(replay.status).toBe(200);
    expect(replay.body.outcome).toBe('duplicate');
    expect((await getSession(ctx, sessionId))?.version).toBe(before?.version);
  });

  it('a checkout update replayed with a fresh event id does not restart the abandonment clock', async () => {
    // Prepare
    const token = unique();
    const sessionId = `shopify-${token}`;
    const body = JSON.stringify(checkoutPayload(token, minutes(30)));
    const payload = JSON.parse(body) as Json;
    await post(
      signed(payload, { topic: 'checkouts/update', eventId: unique(), triggeredAt: minutes(30) }, body),
    );
    const before = await getSession(ctx, sessionId);
    // Act
    const replay = await post(
      signed(payload, { topic: 'checkouts/update', eventId: unique(), triggeredAt: minutes(45) }, body),
    );
    // Assess
    expect(replay.body.outcome).toBe('duplicate');
    expect(await getSession(ctx, sessionId)).toMatchObject({
      version: before?.version,
      lastEventId: before?.lastEventId,
    });
  });

  it('a forged X-Shopify-Triggered-At far from the body does not make a real event stale', async () => {
    // Prepare: a checkout whose delivery claims it happened two hours after its body's updated_at.
    const token = unique();
    const sessionId = `shopify-${token}`;
    const forged = await post(delivered('checkouts/update', token, T0, minutes(120)));
    // Act: the real order, placed 30 minutes after the checkout.
    const order = await post(delivered('orders/create', token, minutes(30)));
    // Assess: the checkout was dated by its body; the order ends it.
    expect(forged.body).toMatchObject({ outcome: 'applied', status: 'active' });
    expect(order.body).toMatchObject({ outcome: 'applied', status: 'completed' });
    expect((await getSession(ctx, sessionId))?.lastEventAt).toBe(minutes(30));
  });
});

describe('a checkout delivered after its own abandonment window (Shopify retries for hours)', () => {
  /**
   * The timer consumer as fast as it can be: whatever the ingest sends to the timer queue is received and
   * handled at once, before the ingest's next step, as a Lambda polling the queue may do.
   */
  function hookWithEagerConsumer(): PublicBinding {
    const plain = queueTimers(ctx, timerQueueUrl);
    const bindings = createHookBindings({
      ...deps,
      timers: {
        async set(input) {
          await plain.set(input);
          await fireDueTimers();
        },
      },
      secrets: { stripe: async () => '', shopify: async () => SECRET },
    });
    if (!bindings.shopifyHook) throw new Error('no shopifyHook binding');
    return bindings.shopifyHook;
  }

  it.each([
    ['when the timer is consumed as soon as it is set', true],
    ['when the timer is consumed after the delivery', false],
  ])('is stalled exactly once, and a redelivery makes no second stall (%s)', async (_, eager) => {
    // Prepare: a checkout updated 61 minutes ago (the clock), delivered now, its window an hour.
    const token = unique();
    const sessionId = `shopify-${token}`;
    const request = signed(checkoutPayload(token, T0), { topic: 'checkouts/update', eventId: unique() });
    const deliver = eager ? hookWithEagerConsumer() : hook;
    // Act: delivered, its timer consumed, then redelivered (same X-Shopify-Event-Id) and consumed again.
    // (An eager delivery has consumed its timer already: an empty queue would only be polled for 10 s.)
    const first = await deliver(ctx, request);
    if (!eager) await fireDueTimers();
    const again = await deliver(ctx, request);
    if (!eager) await fireDueTimers();
    // Assess: stalled (due for its first reminder), by one stall only.
    expect(first.status).toBe(200);
    expect(JSON.parse(again.body).outcome).toBe('duplicate');
    const s = await getSession(ctx, sessionId);
    expect(s?.status).toBe('stalled');
    const timeline = await listTimeline(ctx, sessionId, { limit: 50 });
    const stalls = timeline.items.filter((i) => JSON.stringify(i).includes('"to":"stalled"'));
    expect(stalls).toHaveLength(1);
  });
});
