// Property: no invalid input to a write route ever yields a 5xx or writes anything. For every write route
// of the table, fast-check generates 1,000 invalid bodies (arbitrary JSON, broken fields of a valid body,
// unknown fields, text that is not JSON, wrong media types, oversize bodies, malformed If-Match) and 1,000
// invalid query strings on an otherwise valid request. The router is called in-process (the same handler
// the HTTP server and Lambda use) to keep 30,000 requests fast; the test's own tables are compared once
// per route, before and after, and so is the DLQ the replay route would drain.

import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../shared/api/handler.ts';
import { buildInProcess } from '../../shared/api/openapi.ts';
import { ProblemSchema } from '../../shared/api/responses.ts';
import type { ApiHandler, ProxyEvent } from '../../shared/api/router.ts';
import { PUBLIC_ROUTES, ROUTES, type RouteSpec } from '../../shared/api/routes.ts';
import { createUnsubscribeToken } from '../../shared/consent/unsubscribe-token.ts';
import type { AppContext } from '../../shared/context.ts';
import { createHookBindings } from '../../shared/events/bindings.ts';
import { createPublicBindings } from '../../shared/public/bindings.ts';
import { createPublicRouter } from '../../shared/public/router.ts';
import { twilioSignature } from '../../shared/public/twilio-signature.ts';
import { DEFAULT_GUARD } from '../../shared/reputation/guard.ts';
import { safeParse } from '../../shared/schema.ts';
import { type InProcessJobStarter, inProcessJobStarter } from '../../shared/usecases/job-start-local.ts';
import { registerSession } from '../../shared/usecases/sessions.ts';
import { createTestContext } from '../support/context.ts';
import { snapshotTables } from './support.ts';

const RUNS = 1000;

let ctx: AppContext;
let api: ApiHandler;
let policyId: string;

interface Request {
  readonly body?: string;
  readonly contentType?: string;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
}

function eventFor(route: RouteSpec, path: string, req: Request): ProxyEvent {
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  const query = req.query && Object.keys(req.query).length ? req.query : null;
  return {
    httpMethod: route.method,
    path,
    resource: '/{proxy+}',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: null,
    body: req.body ?? null,
    isBase64Encoded: false,
    requestContext: { requestId: 'prop', identity: { userArn: 'arn:aws:iam::123456789012:user/prop' } },
  };
}

/** A valid request per write route: what the generators break. */
function validFor(route: RouteSpec): { path: string; body?: Record<string, unknown> } {
  const s = '/v1/sessions/prop-s';
  switch (route.id) {
    case 'registerSession':
      return { path: '/v1/sessions', body: { sessionId: 'prop-new', kind: 'checkout', status: 'stalled' } };
    case 'updateSession':
      return { path: s, body: { status: 'recovered', sizeBytes: 10 } };
    case 'regenerateSession':
      return { path: `${s}/regenerate`, body: { overrideNextRetryAt: '2026-03-02T12:00:00Z', reason: 'r' } };
    case 'retryNow':
    case 'pauseSession':
    case 'resumeSession':
    case 'recoverSession':
      return { path: route.path.replace('{id}', 'prop-s'), body: { reason: 'r' } };
    case 'resetStuckSessions':
      return { path: '/v1/sessions/reset-stuck', body: { olderThanMinutes: 10, dryRun: false } };
    case 'createPolicy':
      return {
        path: '/v1/retry/policies',
        body: {
          name: 'p',
          maxRetries: 2,
          initialDelaySeconds: 60,
          backoffMultiplier: 2,
          maxDelaySeconds: 600,
          enabledChannels: ['email'],
        },
      };
    case 'deactivatePolicy':
      return { path: `/v1/retry/policies/${policyId}` };
    case 'runJob':
      return { path: '/v1/admin/jobs/recovery-sweep/run', body: { dryRun: false, limit: 5 } };
    case 'pauseJob':
    case 'resumeJob':
      return { path: route.path.replace('{job}', 'recovery-sweep'), body: { reason: 'r' } };
    case 'replayDlq':
      return { path: '/v1/admin/dlq/email/replay', body: { dryRun: false, sessionId: 'prop-s' } };
    case 'suppressRecipient':
      return {
        path: '/v1/recipients/prop@example.com/suppressions',
        body: { channel: 'email', reason: 'r' },
      };
    case 'liftSuppression':
      return { path: '/v1/recipients/prop@example.com/suppressions/email', body: { reason: 'r' } };
    case 'resumeChannelSending':
      return { path: '/v1/admin/channels/email/resume', body: { reason: 'r' } };
    case 'postEvent':
      return {
        path: '/v1/events',
        body: {
          id: 'prop-evt',
          type: 'Session Recovered',
          time: '2026-03-02T09:00:00Z',
          sessionId: 'prop-s',
        },
      };
    default:
      throw new Error(`no valid request for write route ${route.id}`);
  }
}

function isInvalid(route: RouteSpec, body: unknown): boolean {
  return route.body ? !safeParse(route.body, body).success : true;
}

/** Invalid bodies: any JSON the schema refuses, a valid body with one field broken or one too many. */
function invalidBodies(route: RouteSpec, valid: Record<string, unknown> | undefined): fc.Arbitrary<Request> {
  const json = (value: unknown): Request => ({
    body: JSON.stringify(value),
    contentType: 'application/json',
  });
  const base = valid ?? {};
  const keys = Object.keys(base);
  const anyJson = fc
    .jsonValue()
    .filter((v) => JSON.stringify(v) !== undefined && isInvalid(route, v))
    .map(json);
  const brokenField = fc
    .record({
      key: keys.length ? fc.constantFrom(...keys) : fc.string({ minLength: 1 }),
      value: fc.jsonValue(),
    })
    .map(({ key, value }) => ({ ...base, [key]: value }))
    .filter((b) => isInvalid(route, b))
    .map(json);
  const extraField = fc
    .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue({ maxDepth: 2 }))
    .filter(([k]) => !(k in base))
    .map(([k, v]) => ({ ...base, [k]: v }))
    .filter((b) => isInvalid(route, b))
    .map(json);
  const notJson = fc
    .string({ minLength: 1, maxLength: 200 })
    .filter((t) => {
      if (t.trim() === '') return false;
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    })
    .map((t) => ({ body: t, contentType: 'application/json' }));
  const wrongMediaType = fc
    .constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'application/json; charset=latin1',
    )
    .map((contentType) => ({ body: JSON.stringify(base), contentType }));
  const oversize = fc.integer({ min: 64 * 1024 + 1, max: 80 * 1024 }).map((n) => ({
    body: JSON.stringify({ ...base, reason: 'x'.repeat(n) }),
    contentType: 'application/json',
  }));
  const badIfMatch = route.ifMatch
    ? [
        fc
          .string({ minLength: 1, maxLength: 30 })
          .filter(
            (t) => t.trim() !== '*' && !/^(?:W\/)?"?\d{1,15}"?$/.test(t.trim()) && /^[\x21-\x7e]/.test(t),
          )
          .map((value) => ({ ...json(base), headers: { 'if-match': value } })),
      ]
    : [];
  return fc.oneof(
    { arbitrary: anyJson, weight: 4 },
    { arbitrary: brokenField, weight: 4 },
    { arbitrary: extraField, weight: 2 },
    { arbitrary: notJson, weight: 2 },
    { arbitrary: wrongMediaType, weight: 1 },
    { arbitrary: oversize, weight: 1 },
    ...badIfMatch.map((arbitrary) => ({ arbitrary, weight: 2 })),
  );
}

/** Invalid query strings: write routes take none, so any parameter is refused. */
function invalidQueries(valid: Record<string, unknown> | undefined): fc.Arbitrary<Request> {
  return fc
    .dictionary(
      // Names that break naive objects, names other routes take, and anything at all.
      fc.oneof(
        fc.constantFrom('__proto__', 'constructor', 'toString', 'limit', 'cursor'),
        fc.string({ minLength: 1, maxLength: 20 }),
      ),
      fc.string({ maxLength: 40 }),
      { minKeys: 1, maxKeys: 4 },
    )
    .map((query) => ({
      query,
      ...(valid ? { body: JSON.stringify(valid), contentType: 'application/json' } : {}),
    }));
}

async function dlqDepth(): Promise<number> {
  const res = await ctx.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: ctx.queues.email.dlqUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
}

let jobs: InProcessJobStarter;

beforeAll(async () => {
  ({ ctx } = await createTestContext());
  jobs = inProcessJobStarter(ctx);
  api = createApiHandler(ctx, { openApiDocument: buildInProcess, startJob: jobs.start });
  const audit = { triggeredBy: 'setup' };
  // A due stalled session for the session routes, a stuck processing one for reset-stuck, an active
  // policy for DELETE, and a dead letter of the session for replay: a request that slipped through
  // validation would change one of them.
  await registerSession(
    ctx,
    { sessionId: 'prop-s', kind: 'checkout', status: 'stalled', contact: { email: 'p@example.com' } },
    audit,
  );
  await registerSession(
    ctx,
    {
      sessionId: 'prop-stuck',
      kind: 'upload',
      status: 'processing',
      processingStartedAt: '2020-01-01T00:00:00Z',
    },
    audit,
  );
  const created = createApiHandler(ctx, { openApiDocument: buildInProcess, startJob: jobs.start })(
    eventFor(ROUTES.find((r) => r.id === 'createPolicy')!, '/v1/retry/policies', {
      body: JSON.stringify({
        name: 'live',
        maxRetries: 1,
        initialDelaySeconds: 1,
        backoffMultiplier: 1,
        maxDelaySeconds: 1,
        enabledChannels: ['email'],
      }),
      contentType: 'application/json',
    }),
  );
  policyId = JSON.parse((await created).body).policyId;
  await ctx.sqs.send(
    new SendMessageCommand({
      QueueUrl: ctx.queues.email.dlqUrl,
      MessageBody: JSON.stringify({ sessionId: 'prop-s', attemptId: 'att_x' }),
    }),
  );
});

// Public routes take form bodies and answer HTML, TwiML or JSON through their own router: they are fuzzed
// in 'invalid input to public routes' below.
const WRITE_ROUTES = ROUTES.filter((r) => r.access === 'write' && !r.public);

describe('invalid input to write routes', () => {
  it('covers every write route of the table', () => {
    // Assess
    expect(WRITE_ROUTES.map((r) => r.id)).toHaveLength(18);
  });

  for (const route of WRITE_ROUTES) {
    it(`${route.method} ${route.path}: ${RUNS} invalid bodies and ${RUNS} invalid query strings → 4xx problem+json, nothing written`, async () => {
      // Prepare
      const valid = validFor(route);
      const before = await snapshotTables(ctx);
      const depthBefore = await dlqDepth();
      const statuses = new Map<number, number>();
      const check = async (req: Request) => {
        const res = await api(eventFor(route, valid.path, req));
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(
          res.statusCode,
          `${route.id} ${JSON.stringify(req).slice(0, 300)} → ${res.body}`,
        ).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.headers?.['content-type']).toBe('application/problem+json');
        expect(safeParse(ProblemSchema, JSON.parse(res.body)).success).toBe(true);
      };
      // Act
      await fc.assert(fc.asyncProperty(invalidBodies(route, valid.body), check), { numRuns: RUNS });
      await fc.assert(fc.asyncProperty(invalidQueries(valid.body), check), { numRuns: RUNS });
      // Assess
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(2 * RUNS);
      expect(await snapshotTables(ctx)).toEqual(before);
      expect(await dlqDepth()).toBe(depthBefore);
    });
  }

  it('the valid requests the generators start from do write (the property is not vacuous)', async () => {
    // Prepare
    const route = ROUTES.find((r) => r.id === 'pauseSession')!;
    const before = await snapshotTables(ctx);
    // Act
    const res = await api(
      eventFor(route, '/v1/sessions/prop-s/pause', {
        body: '{"reason":"r"}',
        contentType: 'application/json',
      }),
    );
    // Assess
    expect(res.statusCode).toBe(200);
    expect(await snapshotTables(ctx)).not.toEqual(before);
  });
});

// The internet-facing routes (`/v1/public/*`: unsubscribe links, Twilio callbacks, Stripe and Shopify
// webhooks) through their own router, in-process, as the receipts and ingest functions serve them. Two
// properties per route: (1) a request that does not carry a valid token or signature — garbage form,
// JSON or text bodies, missing and garbage signature headers, forged tokens, stray query strings — is a
// 4xx and writes nothing; (2) a correctly signed request with a garbage body (what a leaked secret or a
// provider's format change would send) is never a 5xx.
const PUBLIC_RUNS = 300;
const STRIPE_SECRET = 'whsec_prop_0123456789abcdef01234567';
const SHOPIFY_SECRET = 'shpss_prop_0123456789abcdef0123456789';
const UNSUBSCRIBE_KEY = 'prop-unsubscribe-key-0123456789abcdef';
const TWILIO = { accountSid: `AC${'0'.repeat(32)}`, authToken: 'prop-twilio-auth-token-0123456789' };
const PUBLIC_BASE = 'https://api.example.com/prod';

describe('invalid input to public routes', () => {
  let publicApi: ReturnType<typeof createPublicRouter>;
  beforeAll(() => {
    publicApi = createPublicRouter({
      ctx,
      publicBaseUrl: PUBLIC_BASE,
      bindings: {
        ...createPublicBindings({
          secrets: { unsubscribeKey: async () => UNSUBSCRIBE_KEY, twilio: async () => TWILIO },
          guard: DEFAULT_GUARD,
        }),
        ...createHookBindings({
          abandonAfterMinutes: 60,
          timers: { set: async () => {} },
          secrets: { stripe: async () => STRIPE_SECRET, shopify: async () => SHOPIFY_SECRET },
        }),
      },
    });
  });

  const SIGNATURE_HEADERS = [
    'x-twilio-signature',
    'stripe-signature',
    'x-shopify-hmac-sha256',
    'x-shopify-topic',
    'x-shopify-triggered-at',
    'x-shopify-webhook-id',
  ];
  const TWILIO_FIELDS = [
    'AccountSid',
    'MessageSid',
    'SmsSid',
    'MessageStatus',
    'SmsStatus',
    'ErrorCode',
    'From',
    'To',
    'Body',
    'ApiVersion',
    '__proto__',
  ];
  const text = fc.string({ maxLength: 60 });
  // Values a Twilio form plausibly carries (so signed requests get past the schemas), and anything at all.
  const formValue = fc.oneof(
    text,
    fc.constantFrom(
      `SM${'0a'.repeat(16)}`,
      `MM${'F'.repeat(32)}`,
      '+14155550100',
      'whatsapp:+14155550100',
      'whatsapp:',
      '+',
      'STOP',
      ' start ',
      'UNSUBSCRIBE',
      'queued',
      'sent',
      'delivered',
      'undelivered',
      'failed',
      'read',
      '30003',
      '21610',
      '-1',
      '1e309',
    ),
  );
  const formOf = (fields: fc.Arbitrary<string>) =>
    fc.dictionary(fc.oneof(fields, fc.string({ minLength: 1, maxLength: 20 })), formValue, { maxKeys: 8 });
  /** A form as Twilio sends one, for our account: the fields the handlers read, plausible or not. */
  const twilioForm = fc
    .tuple(
      formOf(fc.constantFrom(...TWILIO_FIELDS)),
      // The fields the handlers read, each present in most requests.
      fc.record(
        {
          MessageSid: fc.oneof(
            {
              arbitrary: fc.constantFrom(`SM${'0a'.repeat(16)}`, `MM${'F'.repeat(32)}`),
              weight: 4,
            },
            { arbitrary: formValue, weight: 1 },
          ),
          MessageStatus: fc.oneof(
            {
              arbitrary: fc.constantFrom('sent', 'delivered', 'undelivered', 'failed', 'READ'),
              weight: 4,
            },
            { arbitrary: formValue, weight: 1 },
          ),
          From: formValue,
          Body: formValue,
          ErrorCode: fc.oneof(fc.constantFrom('30003', '21610', '0'), formValue),
        },
        { requiredKeys: [] },
      ),
    )
    .map(([extra, known]) => ({ ...extra, ...known }))
    .map((form) => ({ ...form, AccountSid: TWILIO.accountSid }));
  const encodeForm = (form: Record<string, string>) => {
    const out = new URLSearchParams();
    for (const [k, value] of Object.entries(form)) out.append(k, value);
    return out.toString();
  };
  const garbageHeaders = fc.dictionary(
    fc.oneof(fc.constantFrom(...SIGNATURE_HEADERS), fc.constantFrom('x-forwarded-for', 'host')),
    fc.oneof(text, fc.base64String({ maxLength: 60 }), fc.constant('t=1,v1=00')),
    { maxKeys: 4 },
  );
  const stripeFixture = JSON.parse(readFileSync('events/stripe-checkout-expired.json', 'utf8')).detail;
  /** Bodies of every shape the routes might be sent: forms, JSON (a fixture with a field broken), text. */
  const garbageBody = fc.oneof(
    formOf(fc.constantFrom(...TWILIO_FIELDS, 'List-Unsubscribe')).map((form) => ({
      body: encodeForm(form),
      contentType: 'application/x-www-form-urlencoded',
    })),
    fc
      .jsonValue()
      .map((value) => ({ body: JSON.stringify(value) ?? 'null', contentType: 'application/json' })),
    fc
      .record({ key: fc.constantFrom(...Object.keys(stripeFixture), 'data'), value: fc.jsonValue() })
      .map(({ key, value }) => ({
        body: JSON.stringify({ ...stripeFixture, [key]: value }),
        contentType: 'application/json',
      })),
    fc
      .tuple(text, fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data', ''))
      .map(([body, contentType]) => ({ body, contentType })),
    fc.integer({ min: 1024 * 1024 + 1, max: 1024 * 1024 + 4096 }).map((n) => ({
      body: 'x'.repeat(n),
      contentType: 'application/x-www-form-urlencoded',
    })),
  );
  const forgedToken = fc.oneof(
    fc.string({ minLength: 1, maxLength: 80 }),
    fc
      .tuple(fc.base64String({ maxLength: 60 }), fc.base64String({ maxLength: 30 }))
      .map(([payload, tag]) => `v1.${payload.replace(/=+$/, '')}.${tag.replace(/=+$/, '')}`),
    // A real token with one character changed: signed by us, then altered.
    fc.tuple(fc.emailAddress(), fc.nat()).map(([address, at]) => {
      const token = createUnsubscribeToken(UNSUBSCRIBE_KEY, { address });
      const i = at % token.length;
      return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
    }),
  );

  function publicEvent(
    method: string,
    path: string,
    req: Request & { query?: Record<string, string> },
  ): ProxyEvent {
    const route = { method } as RouteSpec;
    return eventFor(route, path, req);
  }

  const pathOf = (route: RouteSpec, token: string) =>
    route.path.replace('{token}', encodeURIComponent(token) || 'x');

  for (const route of PUBLIC_ROUTES) {
    it(`${route.method} ${route.path}: ${PUBLIC_RUNS} unsigned or forged requests → 4xx, nothing written`, async () => {
      // Prepare
      const before = await snapshotTables(ctx);
      const request = fc.record({
        token: forgedToken,
        body: fc.oneof(
          garbageBody,
          twilioForm.map((form) => ({
            body: encodeForm(form),
            contentType: 'application/x-www-form-urlencoded',
          })),
        ),
        headers: garbageHeaders,
        query: fc.dictionary(fc.constantFrom('ref', 'x', '__proto__'), text, { maxKeys: 2 }),
      });
      // Act
      await fc.assert(
        fc.asyncProperty(request, async ({ token, body, headers, query }) => {
          const res = await publicApi(
            publicEvent(route.method, pathOf(route, token), {
              ...(route.method === 'GET' ? {} : body),
              headers,
              query,
            }),
          );
          const label = `${route.id} ${JSON.stringify({ token, body, headers, query }).slice(0, 400)}`;
          expect(res.statusCode, `${label} → ${res.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
          expect(res.statusCode, label).toBeLessThan(500);
        }),
        { numRuns: PUBLIC_RUNS },
      );
      // Assess
      expect(await snapshotTables(ctx)).toEqual(before);
    });
  }

  /** A request to `route` signed with the right secret (or carrying a valid token), body as generated. */
  function signed(route: RouteSpec): fc.Arbitrary<{ path: string; req: Request }> {
    const nowSeconds = () => Math.floor(ctx.clock().getTime() / 1000);
    switch (route.id) {
      case 'stripeHook':
        return garbageBody.map(({ body, contentType }) => {
          const t = nowSeconds();
          const v1 = createHmac('sha256', STRIPE_SECRET).update(`${t}.${body}`).digest('hex');
          return {
            path: route.path,
            req: { body, contentType, headers: { 'stripe-signature': `t=${t},v1=${v1}` } },
          };
        });
      case 'shopifyHook':
        return fc.tuple(garbageBody, garbageHeaders).map(([{ body, contentType }, headers]) => ({
          path: route.path,
          req: {
            body,
            contentType,
            headers: {
              ...headers,
              'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64'),
            },
          },
        }));
      case 'twilioStatus':
      case 'twilioInbound':
        return fc
          .tuple(twilioForm, fc.dictionary(fc.constantFrom('ref'), text, { maxKeys: 1 }))
          .map(([fields, query]) => {
            const form = fields;
            const search = new URLSearchParams(query).toString();
            const url = `${PUBLIC_BASE}${route.path}${search ? `?${search}` : ''}`;
            return {
              path: route.path,
              req: {
                body: encodeForm(form),
                contentType: 'application/x-www-form-urlencoded',
                query,
                headers: { 'x-twilio-signature': twilioSignature(TWILIO.authToken, url, form) },
              },
            };
          });
      default:
        return fc.tuple(fc.emailAddress(), garbageBody).map(([address, body]) => ({
          path: pathOf(route, createUnsubscribeToken(UNSUBSCRIBE_KEY, { address })),
          req: route.method === 'GET' ? {} : body,
        }));
    }
  }

  for (const route of PUBLIC_ROUTES) {
    it(`${route.method} ${route.path}: ${PUBLIC_RUNS} correctly signed requests with garbage bodies → never a 5xx`, async () => {
      // Act
      const statuses = new Set<number>();
      await fc.assert(
        fc.asyncProperty(signed(route), async ({ path, req }) => {
          const res = await publicApi(publicEvent(route.method, path, req));
          statuses.add(res.statusCode);
          const label = `${route.id} ${JSON.stringify(req).slice(0, 400)} → ${res.body.slice(0, 300)}`;
          expect(res.statusCode, label).toBeLessThan(500);
          // Signed right, so never refused for its signature: the body is what was judged.
          expect(res.body, label).not.toContain('/problems/bad-signature');
        }),
        { numRuns: PUBLIC_RUNS },
      );
      // Assess: the generators reach accepted requests, and (for a route that reads a body) refused ones.
      expect(statuses.has(200), `${route.id} statuses ${[...statuses]}`).toBe(true);
      if (route.method !== 'GET')
        expect(
          [...statuses].some((s) => s >= 400),
          `${route.id} statuses ${[...statuses]}`,
        ).toBe(true);
    });
  }
});
