// #14 end to end on the local runtime (the one npm start runs, on the shared emulators): an expired Stripe
// checkout arrives as a partner event, becomes a stalled session, receives its first reminder by email through
// the SES emulator; then Stripe's checkout.session.completed with recovered_from reaches the signed webhook
// route, and the session ends recovered. Stats show one recovery with its amount, credited to that attempt
// and that channel, and the timeline says so.
// #18 item 1: a Shopify checkout whose abandonment timer fires, and the order its customer placed a minute
// before the timer, delivered after it through the signed webhook route: the session ends recovered.
import { createHmac, randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalService, startLocalService } from '../../local/runtime.ts';
import { handleBusEvent } from '../../shared/events/handlers.ts';
import { getSession } from '../../shared/repositories/sessions.ts';
import { fixture, type Json } from '../integration/events/support.ts';
import { localAuthorizer } from '../support/context.ts';

const STRIPE_SECRET = `whsec_${randomBytes(16).toString('hex')}`;
const SHOPIFY_SECRET = randomBytes(24).toString('hex');
const ORG = `org-${randomBytes(4).toString('hex')}`;
let service: LocalService;

beforeAll(async () => {
  service = await startLocalService({
    endpoints: inject('endpoints'),
    authorize: localAuthorizer(),
    prefix: `e2e${randomBytes(3).toString('hex')}`,
    port: 0,
    demo: false,
    sweepEverySeconds: 1,
    monitorEverySeconds: 60,
    secrets: { STRIPE_WEBHOOK_SECRET: STRIPE_SECRET, SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET },
    // Shopify checkouts count as abandoned 6 s after their last update.
    shopifyAbandonAfterMinutes: 0.1,
    say: (source, message) => process.env.DEBUG_E2E && console.log(source, message),
  });
}, 60_000);

afterAll(async () => {
  await service?.stop();
});

async function api(path: string, init?: RequestInit) {
  const res = await fetch(`${service.apiUrl}${path}`, init);
  return { status: res.status, body: (await res.json()) as Json };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('a Stripe checkout abandoned, reminded and recovered through its link', () => {
  it('ends recovered, attributed to attempt 1 (email), with its amount in the stats', async () => {
    // Prepare: an org whose policy reminds within a second, by email only.
    const policy = await api('/v1/retry/policies', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'e2e',
        orgId: ORG,
        maxRetries: 3,
        initialDelaySeconds: 1,
        backoffMultiplier: 2,
        maxDelaySeconds: 60,
        enabledChannels: ['email'],
      }),
    });
    expect(policy.status).toBe(201);
    const cs = `cs_test_e2e_${randomBytes(5).toString('hex')}`;
    const expired = fixture('stripe-checkout-expired.json');
    expired.detail.id = `evt_e2e_expired_${cs}`;
    expired.detail.created = Math.floor(Date.now() / 1000);
    expired.detail.data.object.id = cs;
    expired.detail.data.object.metadata = { orgId: ORG };

    // Act 1: the expiry arrives as the EventBridge rule delivers it.
    const applied = await handleBusEvent(service.ctx, { abandonAfterMinutes: 60 }, expired);
    // Assess 1: stalled, then its first reminder is sent by email.
    expect(applied).toMatchObject({ outcome: 'applied', status: 'stalled' });
    const reminded = await until('the first reminder', async () => {
      const s = await getSession(service.ctx, cs);
      return s && s.retryCount >= 1 && s.lastNotifiedAt ? s : undefined;
    });
    expect(reminded.status).toBe('recovering');

    // Act 2: the customer pays through the recovery link; Stripe sends the completion to the webhook.
    const completed = fixture('stripe-checkout-completed.json').detail;
    completed.id = `evt_e2e_completed_${cs}`;
    completed.created = Math.floor(Date.now() / 1000);
    completed.data.object.id = `${cs}_paid`;
    completed.data.object.recovered_from = cs;
    const payload = JSON.stringify(completed);
    const signature = new Stripe('sk_test_unused').webhooks.generateTestHeaderString({
      payload,
      secret: STRIPE_SECRET,
    });
    const hook = await api('/v1/public/hooks/stripe', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body: payload,
    });

    // Assess 2: recovered, attributed, counted.
    expect(hook.status).toBe(200);
    expect(hook.body).toMatchObject({ outcome: 'applied', sessionId: cs, status: 'recovered' });
    const session = await api(`/v1/sessions/${cs}`);
    expect(session.body).toMatchObject({
      status: 'recovered',
      amount: { value: 4900, currency: 'USD' },
      recovery: { attempt: 1, channels: ['email'], amount: { value: 4900, currency: 'USD' } },
    });
    const timeline = await api(`/v1/sessions/${cs}/timeline?limit=100`);
    expect(timeline.body.items.map((i: { summary?: string }) => i.summary)).toContain(
      'recovered after attempt 1 (email) — 49.00 USD',
    );
    const stats = await api(`/v1/retry/stats?orgId=${ORG}`);
    expect(stats.body).toMatchObject({
      recovered: 1,
      recoveredAmount: { USD: 4900 },
      byAttempt: { '1': { recovered: 1, recoveredAmount: { USD: 4900 } } },
      byChannel: { email: { recovered: 1, recoveredAmount: { USD: 4900 } } },
    });
    expect(stats.body.byChannel.sms.recovered).toBe(0);
  });
});

describe("a Shopify order delivered after its checkout's abandonment timer fired", () => {
  /** Shopify's webhook: the raw body signed with the app's secret (base64 HMAC-SHA256). */
  function shopify(topic: string, payload: Json) {
    const body = JSON.stringify(payload);
    return api('/v1/public/hooks/shopify', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-event-id': randomBytes(8).toString('hex'),
        'x-shopify-webhook-id': randomBytes(8).toString('hex'),
        'x-shopify-triggered-at': payload.updated_at,
        'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(body, 'utf8').digest('base64'),
      },
      body,
    });
  }
  /** Shopify's whole-second times. */
  const shopifyTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

  it("ends the session recovered with the order's amount; the redelivery is a duplicate", async () => {
    // Prepare: a checkout updated now (T0); its timer fires at T0 + 6 s and stalls it.
    const token = randomBytes(8).toString('hex');
    const sessionId = `shopify-${token}`;
    const checkout = fixture('shopify-checkout-update.json').detail.payload as Json;
    checkout.token = token;
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    checkout.updated_at = shopifyTime(t0);
    const started = await shopify('checkouts/update', checkout);
    expect(started.body).toMatchObject({ outcome: 'applied', status: 'active' });
    await until('the abandonment timer', async () => {
      const s = await api(`/v1/sessions/${sessionId}`);
      return s.body.status === 'stalled' ? s : undefined;
    });

    // Act: the order placed at T0 + 5 s, a second before the timer fired, arrives after it.
    const order = fixture('shopify-order-create.json').detail.payload as Json;
    order.checkout_token = token;
    order.created_at = shopifyTime(t0 + 5000);
    order.processed_at = shopifyTime(t0 + 5000);
    order.updated_at = shopifyTime(t0 + 5000);
    const paid = await shopify('orders/create', order);
    const redelivered = await shopify('orders/create', order);

    // Assess
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ outcome: 'applied', sessionId, status: 'recovered' });
    expect(redelivered.body.outcome).toBe('duplicate');
    const session = await api(`/v1/sessions/${sessionId}`);
    expect(session.body).toMatchObject({
      status: 'recovered',
      recovery: { attempt: 0, amount: { value: 3990, currency: 'EUR' } },
    });
    expect(session.body.nextRetryAt).toBeUndefined();
    // The sweep (every second here) made no attempt for it.
    const timeline = await api(`/v1/sessions/${sessionId}/timeline?limit=100`);
    expect(timeline.body.items.filter((i: { type: string }) => i.type === 'attempt')).toEqual([]);
  });
});
