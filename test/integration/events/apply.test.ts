// Product events against DynamoDB Local (#14): each mapping of events/*.json through the EventBridge path,
// repeats, out-of-order pairs, early endings, malformed and unknown events, and the attribution of a
// recovery to the attempt and channels before it.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../shared/context.ts';
import { handleBusEvent } from '../../../shared/events/handlers.ts';
import type { IngestDeps } from '../../../shared/events/ingest.ts';
import type { CheckoutTimers } from '../../../shared/events/timers.ts';
import { outcomeSortKey } from '../../../shared/messages.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { readStats } from '../../../shared/repositories/stats.ts';
import { getRecoveryStats } from '../../../shared/usecases/stats.ts';
import { listTimeline } from '../../../shared/usecases/timeline.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { epoch, fixture, type Json, stripeFixture, unique } from './support.ts';

let ctx: AppContext;
const clock = manualClock('2026-03-04T00:00:00.000Z');
const timersSet: Array<{ sessionId: string; eventId: string; dueAt: Date }> = [];
const timers: CheckoutTimers = { set: async (t) => void timersSet.push(t) };
const deps: IngestDeps = {
  timers,
  abandonAfterMinutes: 60,
  onOutcome: (l) => process.env.DEBUG_EVENTS && console.log(JSON.stringify(l)),
};

beforeAll(async () => {
  ({ ctx } = await createTestContext({ clock: clock.clock }));
});

const bus = (event: Json | null) => handleBusEvent(ctx, deps, event);

describe('Stripe Checkout', () => {
  it('an expired checkout becomes a stalled checkout session with contact, recovery link and amount', async () => {
    // Prepare
    const cs = `cs_test_${unique()}`;
    // Act
    const result = await bus(
      stripeFixture('stripe-checkout-expired.json', { eventId: `evt_${unique()}`, objectId: cs }),
    );
    // Assess
    expect(result).toMatchObject({ outcome: 'applied', status: 'stalled' });
    const s = await getSession(ctx, cs);
    expect(s).toMatchObject({
      status: 'stalled',
      kind: 'checkout',
      orgId: 'demo',
      contact: { email: 'ada@example.com', name: 'Ada Lovelace' },
      recoveryUrl: 'https://buy.stripe.com/r/test_61RmDemoRecoveryLink0001',
      amount: { value: 4900, currency: 'USD' },
      lastEventAt: '2026-03-02T10:00:00.000Z',
    });
    expect(s?.nextRetryAt).toBeDefined();
  });

  it('the same event again is a duplicate and changes nothing', async () => {
    // Prepare
    const cs = `cs_test_${unique()}`;
    const event = stripeFixture('stripe-checkout-expired.json', { eventId: `evt_${unique()}`, objectId: cs });
    await bus(event);
    const before = await getSession(ctx, cs);
    // Act
    const again = await bus(event);
    // Assess
    expect(again?.outcome).toBe('duplicate');
    expect((await getSession(ctx, cs))?.version).toBe(before?.version);
  });

  it('a completed checkout with recovered_from ends the expired one recovered, with its amount', async () => {
    // Prepare
    const cs = `cs_test_${unique()}`;
    await bus(stripeFixture('stripe-checkout-expired.json', { eventId: `evt_${unique()}`, objectId: cs }));
    // Act
    const result = await bus(
      stripeFixture('stripe-checkout-completed.json', {
        eventId: `evt_${unique()}`,
        objectId: `cs_test_${unique()}`,
        recoveredFrom: cs,
      }),
    );
    // Assess
    expect(result).toMatchObject({ outcome: 'applied', status: 'recovered', sessionId: cs });
    const s = await getSession(ctx, cs);
    expect(s?.recovery).toMatchObject({ attempt: 0, channels: [], amount: { value: 4900, currency: 'USD' } });
  });

  it('a completed that arrives before its expired leaves the session recovered', async () => {
    // Prepare
    const cs = `cs_test_${unique()}`;
    const completed = stripeFixture('stripe-checkout-completed.json', {
      eventId: `evt_${unique()}`,
      objectId: `cs_test_${unique()}`,
      recoveredFrom: cs,
    });
    const expired = stripeFixture('stripe-checkout-expired.json', {
      eventId: `evt_${unique()}`,
      objectId: cs,
    });
    // Act
    const first = await bus(completed);
    const second = await bus(expired);
    // Assess
    expect(first?.outcome).toBe('pending');
    expect(second).toMatchObject({ outcome: 'applied', status: 'recovered' });
    const s = await getSession(ctx, cs);
    expect(s?.status).toBe('recovered');
    expect(s?.nextRetryAt).toBeUndefined();
    // And a repeat of either changes nothing.
    expect((await bus(completed))?.outcome).toBe('duplicate');
    expect((await bus(expired))?.outcome).toBe('duplicate');
    expect((await getSession(ctx, cs))?.version).toBe(s?.version);
  });

  it('an event older than the latest one applied is stale and changes nothing', async () => {
    // Prepare: the session was recovered at 10:20; an expiry dated 09:00 arrives late.
    const cs = `cs_test_${unique()}`;
    await bus(stripeFixture('stripe-checkout-expired.json', { eventId: `evt_${unique()}`, objectId: cs }));
    await bus(
      stripeFixture('stripe-checkout-completed.json', {
        eventId: `evt_${unique()}`,
        objectId: `cs_test_${unique()}`,
        recoveredFrom: cs,
      }),
    );
    const before = await getSession(ctx, cs);
    // Act
    const late = await bus(
      stripeFixture('stripe-checkout-expired.json', {
        eventId: `evt_${unique()}`,
        objectId: cs,
        created: epoch('2026-03-02T09:00:00Z'),
      }),
    );
    // Assess
    expect(late?.outcome).toBe('stale');
    expect((await getSession(ctx, cs))?.version).toBe(before?.version);
  });

  it('a checkout completed without a recovery link, never seen, is ignored and keeps nothing', async () => {
    const result = await bus(
      stripeFixture('stripe-checkout-completed.json', {
        eventId: `evt_${unique()}`,
        objectId: `cs_test_${unique()}`,
        recoveredFrom: null as unknown as string,
      }),
    );
    expect(result?.outcome).toBe('ignored');
  });
});

describe('Stripe Billing', () => {
  it('payment_failed stalls a payment session with the hosted invoice page; paid recovers it', async () => {
    // Prepare
    const inv = `in_${unique()}`;
    // Act
    const failed = await bus(
      stripeFixture('stripe-invoice-payment-failed.json', { eventId: `evt_${unique()}`, objectId: inv }),
    );
    const failedAgain = await bus(
      stripeFixture('stripe-invoice-payment-failed.json', {
        eventId: `evt_${unique()}`,
        objectId: inv,
        created: epoch('2026-03-02T11:00:00Z'),
      }),
    );
    const stalled = await getSession(ctx, inv);
    const paid = await bus(
      stripeFixture('stripe-invoice-paid.json', { eventId: `evt_${unique()}`, objectId: inv }),
    );
    // Assess
    expect(failed).toMatchObject({ outcome: 'applied', status: 'stalled' });
    expect(failedAgain).toMatchObject({ outcome: 'applied', status: 'stalled' });
    expect(stalled).toMatchObject({
      kind: 'payment',
      contact: { email: 'grace@example.com', phone: '+15005550006', name: 'Grace Hopper' },
      amount: { value: 2900, currency: 'USD' },
    });
    expect(stalled?.recoveryUrl).toMatch(/^https:\/\/invoice\.stripe\.com\//);
    expect(paid).toMatchObject({ outcome: 'applied', status: 'recovered' });
  });

  it('voided cancels it; a paid invoice that never failed keeps an ending, so a late failure ends at once', async () => {
    // Prepare
    const voided = `in_${unique()}`;
    const paidFirst = `in_${unique()}`;
    await bus(
      stripeFixture('stripe-invoice-payment-failed.json', { eventId: `evt_${unique()}`, objectId: voided }),
    );
    // Act
    const cancel = await bus(
      stripeFixture('stripe-invoice-voided.json', { eventId: `evt_${unique()}`, objectId: voided }),
    );
    const early = await bus(
      stripeFixture('stripe-invoice-paid.json', { eventId: `evt_${unique()}`, objectId: paidFirst }),
    );
    const late = await bus(
      stripeFixture('stripe-invoice-payment-failed.json', {
        eventId: `evt_${unique()}`,
        objectId: paidFirst,
      }),
    );
    // Assess
    expect(cancel).toMatchObject({ outcome: 'applied', status: 'cancelled' });
    expect(early?.outcome).toBe('pending');
    expect(late).toMatchObject({ outcome: 'applied', status: 'recovered' });
  });
});

describe('Shopify', () => {
  it('a checkout starts active with its abandoned_checkout_url and sets its timer; an order completes it', async () => {
    // Prepare
    const event = fixture('shopify-checkout-update.json');
    const token = unique();
    event.detail.payload.token = token;
    event.detail.metadata['X-Shopify-Event-Id'] = unique();
    const order = fixture('shopify-order-create.json');
    order.detail.payload.checkout_token = token;
    order.detail.metadata['X-Shopify-Event-Id'] = unique();
    // Act
    const started = await bus(event);
    const s = await getSession(ctx, `shopify-${token}`);
    const ordered = await bus(order);
    // Assess
    expect(started).toMatchObject({ outcome: 'applied', status: 'active' });
    expect(s).toMatchObject({
      kind: 'checkout',
      contact: { email: 'linus@example.com', phone: '+35840123456', name: 'Linus Torvalds' },
      amount: { value: 3990, currency: 'EUR' },
    });
    expect(s?.recoveryUrl).toContain(`/checkouts/ac/`);
    expect(timersSet.find((t) => t.sessionId === `shopify-${token}`)?.dueAt.toISOString()).toBe(
      '2026-03-02T11:05:00.000Z',
    );
    // Bought before it was abandoned: completed, not a recovery.
    expect(ordered).toMatchObject({ outcome: 'applied', status: 'completed' });
  });

  it('an order for a checkout not seen yet is kept: the checkout arriving later ends completed', async () => {
    const token = unique();
    const order = fixture('shopify-order-create.json');
    order.detail.payload.checkout_token = token;
    order.detail.metadata['X-Shopify-Event-Id'] = unique();
    const checkout = fixture('shopify-checkout-update.json');
    checkout.detail.payload.token = token;
    checkout.detail.metadata['X-Shopify-Event-Id'] = unique();
    expect((await bus(order))?.outcome).toBe('pending');
    expect(await bus(checkout)).toMatchObject({ outcome: 'applied', status: 'completed' });
  });
});

describe('generic events', () => {
  it('Session Stalled then Session Recovered, by the detail id; a repeat with a new envelope id is a duplicate', async () => {
    // Prepare
    const id = `checkout-${unique()}`;
    const stalled = fixture('session-stalled.json');
    stalled.detail.sessionId = id;
    stalled.detail.id = `${id}-stalled`;
    const recovered = fixture('session-recovered.json');
    recovered.detail.sessionId = id;
    recovered.detail.id = `${id}-recovered`;
    // Act
    const first = await bus(stalled);
    const repeat = await bus({ ...stalled, id: 'another-envelope-id' });
    const end = await bus(recovered);
    // Assess
    expect(first).toMatchObject({ outcome: 'applied', status: 'stalled' });
    expect(repeat?.outcome).toBe('duplicate');
    expect(end).toMatchObject({ outcome: 'applied', status: 'recovered' });
  });

  it('rejects malformed and unknown events, counts them, and never throws', async () => {
    // Prepare
    const before = await readStats(ctx, { from: clock.clock(), to: clock.clock() });
    const bad = fixture('session-stalled.json');
    bad.detail.contact = { email: 'not-an-email' };
    const unknown = { ...fixture('session-stalled.json'), 'detail-type': 'Session Exploded' };
    const stripeBroken = fixture('stripe-checkout-expired.json');
    stripeBroken.detail.data.object.id = 42;
    // Act
    const results = [
      await bus(bad),
      await bus(unknown),
      await bus(stripeBroken),
      await bus({ not: 'an event' }),
      await bus(null),
    ];
    // Assess
    expect(results).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const after = await readStats(ctx, { from: clock.clock(), to: clock.clock() });
    expect((after['events.rejected'] ?? 0) - (before['events.rejected'] ?? 0)).toBe(5);
  });
});

describe('attribution', () => {
  it('credits the latest attempt with a sent or delivered notification before the recovery, and counts it', async () => {
    // Prepare: a stalled session with two attempts; attempt 2's email was delivered, its sms failed.
    const cs = `cs_test_${unique()}`;
    await bus(stripeFixture('stripe-checkout-expired.json', { eventId: `evt_${unique()}`, objectId: cs }));
    const s = await getSession(ctx, cs);
    const outcome = (at: string, number: number, channel: string, status: string) =>
      ctx.ddb.send(
        new PutCommand({
          TableName: ctx.tables.timeline,
          Item: {
            sessionId: cs,
            sk: outcomeSortKey(at, number, channel as 'email'),
            type: 'notification',
            attemptId: `att_${number}`,
            number,
            channel,
            status,
            at,
            createdAt: at,
            updatedAt: at,
          },
        }),
      );
    await outcome('2026-03-02T10:05:00.000Z', 1, 'email', 'sent');
    await outcome('2026-03-02T10:10:00.000Z', 2, 'email', 'delivered');
    await outcome('2026-03-02T10:10:00.000Z', 2, 'sms', 'failed');
    // An attempt after the customer came back does not count.
    await outcome('2026-03-02T10:25:00.000Z', 3, 'email', 'sent');
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.sessions,
        Item: { ...s, retryCount: 3, version: (s?.version ?? 0) + 1 },
      }),
    );
    const before = await getRecoveryStats(ctx, { orgId: 'demo' });
    // Act
    await bus(
      stripeFixture('stripe-checkout-completed.json', {
        eventId: `evt_${unique()}`,
        objectId: `cs_test_${unique()}`,
        recoveredFrom: cs,
      }),
    );
    // Assess
    const recovered = await getSession(ctx, cs);
    expect(recovered?.recovery).toMatchObject({
      at: '2026-03-02T10:20:00.000Z',
      attempt: 2,
      attemptId: 'att_2',
      channels: ['email'],
      attemptsMade: 3,
      amount: { value: 4900, currency: 'USD' },
    });
    const timeline = await listTimeline(ctx, cs, { limit: 50 });
    const change = timeline.items.find((i) => i.type === 'status_changed' && i.to === 'recovered');
    expect(change?.summary).toBe('recovered after attempt 2 (email) — 49.00 USD');
    const after = await getRecoveryStats(ctx, { orgId: 'demo' });
    expect(after.byChannel.email.recovered - before.byChannel.email.recovered).toBe(1);
    expect(
      (after.byChannel.email.recoveredAmount.USD ?? 0) - (before.byChannel.email.recoveredAmount.USD ?? 0),
    ).toBe(4900);
    expect((after.byAttempt['2']?.recovered ?? 0) - (before.byAttempt['2']?.recovered ?? 0)).toBe(1);
    expect(after.byChannel.sms.recovered).toBe(before.byChannel.sms.recovered);
  });

  it('credits a reminder sent earlier in the same second as a whole-second event time', async () => {
    // Prepare: Stripe's `created` is whole seconds; the email left 400 ms into that second.
    const cs = `cs_test_${unique()}`;
    await bus(stripeFixture('stripe-checkout-expired.json', { eventId: `evt_${unique()}`, objectId: cs }));
    const s = await getSession(ctx, cs);
    const at = '2026-03-02T10:30:00.400Z';
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.timeline,
        Item: {
          sessionId: cs,
          sk: outcomeSortKey(at, 1, 'email'),
          type: 'notification',
          attemptId: 'att_1',
          number: 1,
          channel: 'email',
          status: 'sent',
          at,
          createdAt: at,
          updatedAt: at,
        },
      }),
    );
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.sessions,
        Item: { ...s, retryCount: 1, version: (s?.version ?? 0) + 1 },
      }),
    );
    // Act
    await bus(
      stripeFixture('stripe-checkout-completed.json', {
        eventId: `evt_${unique()}`,
        objectId: `cs_test_${unique()}`,
        recoveredFrom: cs,
        created: Date.parse('2026-03-02T10:30:00Z') / 1000,
      }),
    );
    // Assess
    expect((await getSession(ctx, cs))?.recovery).toMatchObject({ attempt: 1, channels: ['email'] });
  });
});
