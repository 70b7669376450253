// Property: no invalid input to a write route ever yields a 5xx or writes anything. For every write route
// of the table, fast-check generates 1,000 invalid bodies (arbitrary JSON, broken fields of a valid body,
// unknown fields, text that is not JSON, wrong media types, oversize bodies, malformed If-Match) and 1,000
// invalid query strings on an otherwise valid request. The router is called in-process (the same handler
// the HTTP server and Lambda use) to keep 30,000 requests fast; the test's own tables are compared once
// per route, before and after, and so is the DLQ the replay route would drain.
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../shared/api/handler.ts';
import { buildInProcess } from '../../shared/api/openapi.ts';
import { ProblemSchema } from '../../shared/api/responses.ts';
import type { ApiHandler, ProxyEvent } from '../../shared/api/router.ts';
import { ROUTES, type RouteSpec } from '../../shared/api/routes.ts';
import type { AppContext } from '../../shared/context.ts';
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

// Public routes take form bodies and answer HTML or TwiML through their own router; their bad input is
// tested in test/api/public-routes.test.ts and test/integration/feedback.
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
