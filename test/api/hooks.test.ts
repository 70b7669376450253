// The webhook routes of #14 through the ingest function's public router, and POST /v1/events through its
// admin router, as API Gateway delivers them. Stripe signatures are made by Stripe's own library
// (webhooks.generateTestHeaderString); Shopify's HMAC with a known secret and Node's crypto, as Shopify
// documents it. A wrong or old signature is a 400 and writes nothing.
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

function expiredBody(cs: string) {
  const detail = fixture('stripe-checkout-expired.json').detail;
  detail.id = `evt_${unique()}`;
  detail.data.object.id = cs;
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
