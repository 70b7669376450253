// A Shopify checkout's abandonment clock on the SQS emulator (#14): the timer message is delayed, consumed by
// the same handler as the ingest function's event source mapping, and stalls the checkout once due; a later
// checkout update supersedes it, and an order before it leaves the checkout completed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQueuePoller } from '../../../local/queue-poller.ts';
import type { AppContext } from '../../../shared/context.ts';
import { handleBusEvent, handleTimerBatch } from '../../../shared/events/handlers.ts';
import type { IngestDeps } from '../../../shared/events/ingest.ts';
import { queueTimers } from '../../../shared/events/timers.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { listTimeline } from '../../../shared/usecases/timeline.ts';
import { createTestContext } from '../../support/context.ts';
import { fixture, type Json, unique } from './support.ts';

let ctx: AppContext;
let deps: IngestDeps;
let stop: () => Promise<void>;

beforeAll(async () => {
  const test = await createTestContext();
  ctx = test.ctx;
  // Abandoned 4 s after the checkout's last update.
  deps = { timers: queueTimers(ctx, test.names.events.url), abandonAfterMinutes: 4 / 60 };
  const poller = startQueuePoller({
    sqs: ctx.sqs,
    queueUrl: test.names.events.url,
    handler: (event) => handleTimerBatch(ctx, deps, event),
    waitSeconds: 1,
  });
  stop = () => poller.stop();
});

afterAll(async () => {
  await stop?.();
});

function checkout(token: string, at: Date): Json {
  const event = fixture('shopify-checkout-update.json');
  event.detail.payload.token = token;
  event.detail.metadata['X-Shopify-Event-Id'] = unique();
  event.detail.metadata['X-Shopify-Triggered-At'] = at.toISOString();
  // The signed body dates the event (#18); the header only refines a whole-second body time.
  event.detail.payload.updated_at = at.toISOString();
  return event;
}

async function stalledWithin(sessionId: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) if ((await statusAfter(sessionId, 250)) === 'stalled') return true;
  return false;
}

async function statusAfter(sessionId: string, ms: number): Promise<string | undefined> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await getSession(ctx, sessionId))?.status;
}

describe('checkout timers', () => {
  it('stall a checkout with no order once its delay has passed', async () => {
    const token = unique();
    await handleBusEvent(ctx, deps, checkout(token, new Date()));
    expect(await statusAfter(`shopify-${token}`, 0)).toBe('active');
    expect(await stalledWithin(`shopify-${token}`, 20_000)).toBe(true);
  });

  it('are superseded by a later update (only its own timer stalls it), and leave an ordered checkout completed', async () => {
    const updated = unique();
    const ordered = unique();
    const first = checkout(updated, new Date());
    await handleBusEvent(ctx, deps, first);
    const second = checkout(updated, new Date(Date.now() + 10));
    await handleBusEvent(ctx, deps, second);
    await handleBusEvent(ctx, deps, checkout(ordered, new Date()));
    const order = fixture('shopify-order-create.json');
    order.detail.payload.checkout_token = ordered;
    order.detail.metadata['X-Shopify-Event-Id'] = unique();
    const orderedAt = new Date(Date.now() + 20).toISOString();
    order.detail.metadata['X-Shopify-Triggered-At'] = orderedAt;
    order.detail.payload.updated_at = orderedAt;
    await handleBusEvent(ctx, deps, order);
    expect((await getSession(ctx, `shopify-${ordered}`))?.status).toBe('completed');
    expect(await stalledWithin(`shopify-${updated}`, 20_000)).toBe(true);
    // Both timers fired; the first found a later update and did nothing, the second stalled it.
    const timeline = await listTimeline(ctx, `shopify-${updated}`, { limit: 50 });
    const stalls = timeline.items.filter((i) => i.type === 'status_changed' && i.to === 'stalled');
    expect(stalls.map((i) => (i.event as { id: string }).id)).toEqual([
      `abandoned:${second.detail.metadata['X-Shopify-Event-Id']}`,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await getSession(ctx, `shopify-${ordered}`))?.status).toBe('completed');
  });
});
