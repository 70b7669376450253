// The webhook routes of #14 through the ingest function's public router, and POST /v1/events through its
// admin router, as API Gateway delivers them. Stripe signatures are made by Stripe's own library
// (webhooks.generateTestHeaderString); Shopify's HMAC with a known secret and Node's crypto, as Shopify
// documents it. A wrong or old signature is a 400 and writes nothing. Bodies up to 1 MiB, as partners send them.
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRouter } from '../../shared/api/router.ts';
import { isPublicRoute, routesOf } from '../../shared/api/routes.ts';
import type { AppContext } from '../../shared/context.ts';
import { createHookBindings, createIngestBindings } from '../../shared/events/bindings.ts';
import type { IngestDeps } from '../../shared/events/ingest.ts';
import { createPublicRouter } from '../../shared/public/router.ts';
import { getSession } from '../../shared/repositories/sessions.ts';
import { fixture, unique } from '../integration/events/support.ts';
import { createTestContext, manualClock } from '../support/context.ts';

const STRIPE_SECRET = 'whsec_test_4eC39HqLyjWDarjtT1zdp7dc';
const SHOPIFY_SECRET = 'shpss_0123456789abcdef0123456789abcdef';
const stripe = new Stripe('sk_test_not_used_for_requests');

let ctx: AppContext;
let hooks: ReturnType<typeof createPublicRouter>;
let api: ReturnType<typeof createRouter>;
const clock = manualClock('2026-03-02T10:30:00.000Z');
const now = () => Math.floor(clock.clock().getTime() / 1000);

beforeAll(async () => {
  ({ ctx } = await createTestContext({ clock: clock.clock }));
  const deps: IngestDeps = { abandonAfterMinutes: 60, timers: { set: async () => {} } };
  hooks = createPublicRouter({
    ctx,
    publicBaseUrl: 'https://hooks.example.com/prod',
    routes: routesOf('ingest').filter(isPublicRoute),
    bindings: createHookBindings({
      ...deps,
      secrets: { stripe: async () => STRIPE_SECRET, shopify: async () => SHOPIFY_SECRET },
    }),
  });
  api = createRouter({
    ctx,
    routes: routesOf('ingest').filter((r) => !isPublicRoute(r)),
    bindings: createIngestBindings(deps),
    defaultCaller: 'arn:aws:iam::123456789012:user/product',
  });
});

function post(path: string, body: string, headers: Record<string, string>) {
  return {
    httpMethod: 'POST',
    path,
    resource: path,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body,
    isBase64Encoded: false,
    requestContext: { requestId: `r-${unique()}` },
  };
}

function expiredBody(cs: string, metadata?: Record<string, string>) {
  const detail = fixture('stripe-checkout-expired.json').detail;
  detail.id = `evt_${unique()}`;
  detail.data.object.id = cs;
  if (metadata) detail.data.object.metadata = metadata;
  return JSON.stringify(detail, null, 2);
}

describe('POST /v1/public/hooks/stripe', () => {
  it('applies an event signed by Stripe’s library, and answers what became of it', async () => {
    // Prepare
    const cs = `cs_test_${unique()}`;
    const payload = expiredBody(cs);
    const header = stripe.webhooks.generateTestHeaderString({
      payload,
      secret: STRIPE_SECRET,
      timestamp: now(),
    });
    // Act
    const res = await hooks(post('/v1/public/hooks/stripe', payload, { 'Stripe-Signature': header }));
    // Assess
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      received: true,
      outcome: 'applied',
      sessionId: cs,
      status: 'stalled',
    });
    expect((await getSession(ctx, cs))?.status).toBe('stalled');
  });

  it.each([
    ['signed with another secret', () => ({ secret: 'whsec_someone_else_entirely_000', timestamp: now() })],
    ['signed 10 minutes ago (a replay)', () => ({ secret: STRIPE_SECRET, timestamp: now() - 600 })],
  ])('refuses an event %s with a 400, and writes nothing', async (_, how) => {
    // Prepare
    const cs = `cs_test_${unique()}`;
    const payload = expiredBody(cs);
    const header = stripe.webhooks.generateTestHeaderString({ payload, ...how() });
    // Act
    const res = await hooks(post('/v1/public/hooks/stripe', payload, { 'Stripe-Signature': header }));
    // Assess
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ type: '/problems/bad-signature', status: 400 });
    expect(await getSession(ctx, cs)).toBeUndefined();
  });

  it('refuses a body changed after signing, and a request with no signature', async () => {
    const cs = `cs_test_${unique()}`;
    const payload = expiredBody(cs);
    const header = stripe.webhooks.generateTestHeaderString({
      payload,
      secret: STRIPE_SECRET,
      timestamp: now(),
    });
    const tampered = payload.replace('ada@example.com', 'eve@example.com');
    expect(
      (await hooks(post('/v1/public/hooks/stripe', tampered, { 'Stripe-Signature': header }))).statusCode,
    ).toBe(400);
    expect((await hooks(post('/v1/public/hooks/stripe', payload, {}))).statusCode).toBe(400);
    expect(await getSession(ctx, cs)).toBeUndefined();
  });

  it('answers 200 to a signed event type it does not map (Stripe must not retry it), and 400 to a malformed one', async () => {
    const other = JSON.stringify({
      id: `evt_${unique()}`,
      object: 'event',
      api_version: '2024-06-20',
      created: now(),
      data: { object: { id: 'cus_123', object: 'customer' } },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'customer.created',
    });
    const sign = (payload: string) =>
      stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET, timestamp: now() });
    const ignored = await hooks(post('/v1/public/hooks/stripe', other, { 'Stripe-Signature': sign(other) }));
    expect(ignored.statusCode).toBe(200);
    expect(JSON.parse(ignored.body)).toMatchObject({ outcome: 'ignored' });
    const broken = JSON.stringify({ ...JSON.parse(other), type: 'checkout.session.expired' });
    const refused = await hooks(
      post('/v1/public/hooks/stripe', broken, { 'Stripe-Signature': sign(broken) }),
    );
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body).errors.length).toBeGreaterThan(0);
  });
});

describe('POST /v1/public/hooks/shopify', () => {
  function checkout(token: string) {
    const { payload, metadata } = fixture('shopify-checkout-update.json').detail;
    payload.token = token;
    return {
      body: JSON.stringify(payload),
      headers: {
        'X-Shopify-Topic': 'checkouts/create',
        'X-Shopify-Shop-Domain': metadata['X-Shopify-Shop-Domain'],
        'X-Shopify-Webhook-Id': unique(),
        'X-Shopify-Event-Id': unique(),
        'X-Shopify-Triggered-At': '2026-03-02T10:05:00.000Z',
        'X-Shopify-API-Version': '2026-01',
      },
    };
  }
  const hmac = (secret: string, body: string) =>
    createHmac('sha256', secret).update(body, 'utf8').digest('base64');

  it('applies a checkout whose X-Shopify-Hmac-Sha256 matches the known secret', async () => {
    const token = unique();
    const { body, headers } = checkout(token);
    const res = await hooks(
      post('/v1/public/hooks/shopify', body, {
        ...headers,
        'X-Shopify-Hmac-Sha256': hmac(SHOPIFY_SECRET, body),
      }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({
      outcome: 'applied',
      sessionId: `shopify-${token}`,
      status: 'active',
    });
  });

  it('refuses a wrong HMAC with a 400 and writes nothing', async () => {
    const token = unique();
    const { body, headers } = checkout(token);
    const res = await hooks(
      post('/v1/public/hooks/shopify', body, {
        ...headers,
        'X-Shopify-Hmac-Sha256': hmac('another-secret-0123456789', body),
      }),
    );
    expect(res.statusCode).toBe(400);
    expect(await getSession(ctx, `shopify-${token}`)).toBeUndefined();
  });
});

describe('POST /v1/events', () => {
  it('takes a generic event (202), is idempotent on id, and refuses a bad one naming its fields', async () => {
    const sessionId = `checkout-${unique()}`;
    const body = {
      id: `${sessionId}-stalled`,
      type: 'Session Stalled',
      time: '2026-03-02T10:00:00Z',
      sessionId,
      kind: 'checkout',
      contact: { email: 'margaret@example.com' },
      amount: { value: 12900, currency: 'usd' },
    };
    const send = (b: unknown) => api(post('/v1/events', JSON.stringify(b), {}));
    const first = await send(body);
    const again = await send(body);
    const bad = await send({
      ...body,
      id: `${sessionId}-x`,
      type: 'Session Exploded',
      amount: { value: 1.5, currency: 'usd' },
    });
    expect(first.statusCode, first.body).toBe(202);
    expect(JSON.parse(first.body)).toMatchObject({ outcome: 'applied', status: 'stalled' });
    expect(JSON.parse(again.body), again.body).toMatchObject({ outcome: 'duplicate' });
    expect(bad.statusCode).toBe(400);
    const paths = JSON.parse(bad.body).errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.type', 'body.amount.value']));
    expect((await getSession(ctx, sessionId))?.amount).toEqual({ value: 12900, currency: 'USD' });
  });

  it('refuses an event that would start a session without its kind, and writes nothing', async () => {
    const sessionId = `checkout-${unique()}`;
    const res = await api(
      post(
        '/v1/events',
        JSON.stringify({ id: unique(), type: 'Session Stalled', time: '2026-03-02T10:00:00Z', sessionId }),
        {},
      ),
    );
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).errors).toEqual([
      { path: 'event.kind', message: 'required to start a session' },
    ]);
    expect(await getSession(ctx, sessionId)).toBeUndefined();
  });
});

// Bodies as partners send them: the webhook routes take up to 1 MiB (a Shopify orders/create of 250 line
// items, a Stripe event at Stripe's documented metadata maximum of 50 keys of 40 characters with
// 500-character values), while the admin API keeps 64 KiB. Above 1 MiB a webhook gets a 413 problem.
const MIB = 1024 * 1024;

/** A line item with every field Shopify's REST Admin API sends in orders/create (2026-01). */
function lineItem(n: number) {
  const money = (amount: string) => ({
    shop_money: { amount, currency_code: 'EUR' },
    presentment_money: { amount, currency_code: 'EUR' },
  });
  return {
    id: 466157049 + n,
    admin_graphql_api_id: `gid://shopify/LineItem/${466157049 + n}`,
    attributed_staffs: [],
    current_quantity: 1,
    fulfillable_quantity: 1,
    fulfillment_service: 'manual',
    fulfillment_status: null,
    gift_card: false,
    grams: 200,
    name: `Widget ${n} - Blue / Large`,
    price: '19.95',
    price_set: money('19.95'),
    product_exists: true,
    product_id: 632910392 + n,
    properties: [{ name: 'engraving', value: `For customer ${n}` }],
    quantity: 1,
    requires_shipping: true,
    sku: `WID-BLUE-L-${n}`,
    taxable: true,
    title: `Widget ${n}`,
    total_discount: '0.00',
    total_discount_set: money('0.00'),
    variant_id: 808950810 + n,
    variant_inventory_management: 'shopify',
    variant_title: 'Blue / Large',
    vendor: 'Example Shop',
    tax_lines: [{ channel_liable: false, price: '3.19', price_set: money('3.19'), rate: 0.19, title: 'VAT' }],
    duties: [],
    discount_allocations: [],
  };
}

const shopifyHmac = (body: string) =>
  createHmac('sha256', SHOPIFY_SECRET).update(body, 'utf8').digest('base64');

function shopifyHeaders(topic: string, body: string) {
  return {
    'X-Shopify-Topic': topic,
    'X-Shopify-Shop-Domain': 'example-shop.myshopify.com',
    'X-Shopify-Webhook-Id': unique(),
    'X-Shopify-Event-Id': unique(),
    'X-Shopify-Triggered-At': '2026-03-02T10:05:00.000Z',
    'X-Shopify-API-Version': '2026-01',
    'X-Shopify-Hmac-Sha256': shopifyHmac(body),
  };
}

describe('public webhook bodies up to 1 MiB', () => {
  it('applies a signed Shopify orders/create of 250 line items', async () => {
    // Prepare: the checkout it completes, then the order
    const token = unique();
    const { payload: checkout } = fixture('shopify-checkout-update.json').detail;
    checkout.token = token;
    const checkoutBody = JSON.stringify(checkout);
    const opened = await hooks(
      post('/v1/public/hooks/shopify', checkoutBody, shopifyHeaders('checkouts/create', checkoutBody)),
    );
    expect(opened.statusCode, opened.body).toBe(200);
    const { payload: order } = fixture('shopify-order-create.json').detail;
    order.checkout_token = token;
    order.line_items = Array.from({ length: 250 }, (_, n) => lineItem(n));
    // The event's time is the signed body's own (#18 item 2): dated after the checkout, before the clock.
    for (const field of ['created_at', 'processed_at', 'updated_at'])
      order[field] = '2026-03-02T10:20:00+00:00';
    const body = JSON.stringify(order);
    // Act
    const res = await hooks(post('/v1/public/hooks/shopify', body, shopifyHeaders('orders/create', body)));
    // Assess
    expect(Buffer.byteLength(body)).toBeGreaterThan(256 * 1024);
    expect(Buffer.byteLength(body)).toBeLessThan(MIB);
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ outcome: 'applied', sessionId: `shopify-${token}` });
    expect((await getSession(ctx, `shopify-${token}`))?.status).not.toBe('active');
  });

  it("applies a Stripe event at Stripe's metadata maximum (50 keys, 40-character keys, 500-character values)", async () => {
    // Prepare
    const cs = `cs_test_${unique()}`;
    const metadata = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        `k${String(i).padStart(2, '0')}`.padEnd(40, 'x'),
        'v'.repeat(500),
      ]),
    );
    const payload = expiredBody(cs, metadata);
    const header = stripe.webhooks.generateTestHeaderString({
      payload,
      secret: STRIPE_SECRET,
      timestamp: now(),
    });
    // Act
    const res = await hooks(post('/v1/public/hooks/stripe', payload, { 'Stripe-Signature': header }));
    // Assess
    expect(Buffer.byteLength(payload)).toBeGreaterThan(50 * 540);
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ outcome: 'applied', sessionId: cs });
  });

  it('answers a body over 1 MiB with a 413 problem, and the admin API keeps 64 KiB', async () => {
    // Prepare
    const big = JSON.stringify({ padding: 'x'.repeat(MIB) });
    const adminBody = JSON.stringify({ padding: 'x'.repeat(64 * 1024) });
    // Act
    const hook = await hooks(post('/v1/public/hooks/shopify', big, shopifyHeaders('orders/create', big)));
    const admin = await api(post('/v1/events', adminBody, {}));
    // Assess
    expect(hook.statusCode).toBe(413);
    expect(JSON.parse(hook.body)).toMatchObject({
      type: '/problems/body-too-large',
      detail: expect.stringContaining(`at most ${MIB}`),
    });
    expect(admin.statusCode).toBe(413);
    expect(JSON.parse(admin.body).detail).toContain(`at most ${64 * 1024}`);
  });
});
