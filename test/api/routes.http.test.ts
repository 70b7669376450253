// Black-box tests of every route of the admin API over HTTP (local server + emulators): each route's
// success and each error status it declares. Every answer is also checked against the route table's
// response schema or the problem schema (support.ts), and the last test asserts that no (route, status)
// pair of the table went unexercised.
import { createHmac } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApiServer, startApiServer } from '../../local/http-server.ts';
import { encodeCursor } from '../../shared/api/cursor.ts';
import { ROUTES } from '../../shared/api/routes.ts';
import { createUnsubscribeToken } from '../../shared/consent/unsubscribe-token.ts';
import { twilioSignature } from '../../shared/public/twilio-signature.ts';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { manualClock } from '../support/context.ts';
import {
  type ApiResponse,
  body,
  Coverage,
  routeFor,
  serveTestApi,
  startTestApi,
  type TestApi,
} from './support.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let api: TestApi;

const BIG = 'x'.repeat(70 * 1024);

type Json = Record<string, unknown>;
type Page = { items: Json[]; nextCursor: string | null };

function problemPaths(res: ApiResponse): string[] {
  return (res.body as { errors: Array<{ path: string }> }).errors.map((e) => e.path);
}

/** 413 (over 64 KiB) and 415 (not JSON) for a route that takes a body. */
async function expectBodyLimits(method: string, path: string): Promise<void> {
  const tooBig = await api.call(method, path, { body: { reason: BIG } });
  expect(tooBig.status).toBe(413);
  const notJson = await api.call(method, path, {
    rawBody: 'reason=x',
    headers: { 'content-type': 'text/plain' },
  });
  expect(notJson.status).toBe(415);
}

function register(sessionId: string, extra: Json = {}) {
  return api.call('POST', '/v1/sessions', {
    body: {
      sessionId,
      kind: 'checkout',
      status: 'stalled',
      contact: { email: `${sessionId}@example.com` },
      ...extra,
    },
  });
}

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
});

afterAll(async () => {
  await api.stop();
});

describe('unknown routes', () => {
  it('answers 404 problem+json for an unknown path and for a method a path does not take', async () => {
    // Act
    const unknown = await api.call('GET', '/v1/nope');
    const wrongMethod = await api.call('DELETE', '/v1/sessions');
    const trailing = await api.call('GET', '/v1/sessions/');
    // Assess
    expect(unknown.status).toBe(404);
    expect(wrongMethod.status).toBe(404);
    expect(body(wrongMethod).detail).toContain('GET, POST');
    expect(trailing.status).toBe(404);
  });
});

describe('POST /v1/sessions', () => {
  it('registers (201 with ETag and Location), then answers 200 to the same content', async () => {
    // Act
    const created = await register('reg-1', { metadata: { cart: { items: 2 } } });
    const again = await register('reg-1', { metadata: { cart: { items: 2 } } });
    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('"0"');
    expect(created.headers.get('location')).toBe('/v1/sessions/reg-1');
    expect(body(created).recoveryState).toMatchObject({ status: 'stalled', retryCount: 0, paused: false });
    expect(again.status).toBe(200);
  });

  it('answers 409 to the same id with other content', async () => {
    // Prepare
    await register('reg-2');
    // Act
    const res = await register('reg-2', { kind: 'upload' });
    // Assess
    expect(res.status).toBe(409);
  });

  it('answers 400 listing every bad field', async () => {
    // Act
    const res = await api.call('POST', '/v1/sessions', {
      body: {
        sessionId: 'bad id!',
        status: 'nope',
        contact: { email: 'x' },
        metadata: { n: 1e300 },
        extra: 1,
      },
    });
    // Assess
    expect(res.status).toBe(400);
    expect(problemPaths(res)).toEqual(
      expect.arrayContaining([
        'body.sessionId',
        'body.kind',
        'body.status',
        'body.contact.email',
        'body.metadata',
        'body.extra',
      ]),
    );
  });

  it('answers 400 to JSON that does not parse, an unknown policy, and a repeated query parameter', async () => {
    // Act
    const broken = await api.call('POST', '/v1/sessions', {
      rawBody: '{"sessionId":',
      headers: { 'content-type': 'application/json' },
    });
    const unknownPolicy = await register('reg-3', { policyId: 'pol_missing' });
    const repeated = await api.call('GET', '/v1/sessions?limit=1&limit=2');
    // Assess
    expect(broken.status).toBe(400);
    expect(unknownPolicy.status).toBe(400);
    expect(problemPaths(unknownPolicy)).toEqual(['body.policyId']);
    expect(repeated.status).toBe(400);
  });

  it('answers 413 over 64 KiB and 415 to a body that is not JSON', async () => {
    await expectBodyLimits('POST', '/v1/sessions');
  });

  it('refuses a route word as a session id (its own routes could not reach it), and registers nothing', async () => {
    // Act
    const answers = await Promise.all(['reset-stuck', 'stuck', 'timeline'].map((id) => register(id)));
    const read = await api.call('GET', '/v1/sessions/timeline');
    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400]);
    for (const answer of answers) {
      expect(problemPaths(answer)).toEqual(['body.sessionId']);
      expect(answer.text).toMatch(/is a word of the API's paths.*cannot be a session id/);
    }
    expect(read.status).toBe(404);
  });
});

describe('GET /v1/sessions', () => {
  it('pages through sessions with an opaque cursor and filters by status and kind', async () => {
    // Prepare
    for (const id of ['list-1', 'list-2', 'list-3']) await register(id, { kind: 'listing' });
    // Act
    const first = await api.call('GET', '/v1/sessions?kind=listing&limit=2');
    const cursor = body<Page>(first).nextCursor;
    const second = await api.call('GET', `/v1/sessions?kind=listing&limit=2&cursor=${cursor}`);
    const byStatus = await api.call('GET', '/v1/sessions?status=stalled&kind=listing');
    // Assess
    expect(first.status).toBe(200);
    expect(body<Page>(first).items).toHaveLength(2);
    expect(cursor).toEqual(expect.any(String));
    const ids = [...body<Page>(first).items, ...body<Page>(second).items].map((s) => s.sessionId);
    expect(ids.sort()).toEqual(['list-1', 'list-2', 'list-3']);
    expect(body<Page>(byStatus).items).toHaveLength(3);
  });

  it('answers 400 to a bad limit, an unknown parameter, and a corrupted, forged or foreign cursor', async () => {
    // Prepare
    const first = await api.call('GET', '/v1/sessions?kind=listing&limit=1');
    const cursor = body<Page>(first).nextCursor ?? '';
    const flipped = cursor.slice(0, -3) + (cursor.at(-3) === 'A' ? 'B' : 'A') + cursor.slice(-2);
    // Well formed and signed, but with a key that is not this deployment's.
    const forged = encodeCursor(
      'not-this-deployments-cursor-key-0123456789',
      'sessions',
      { kind: 'listing' },
      {
        s: 1,
      },
    );
    // Act
    const answers = await Promise.all([
      api.call('GET', '/v1/sessions?limit=0'),
      api.call('GET', '/v1/sessions?limit=101'),
      api.call('GET', '/v1/sessions?limit=1e1'),
      api.call('GET', '/v1/sessions?sort=asc'),
      api.call('GET', `/v1/sessions?kind=listing&cursor=${flipped}`),
      api.call('GET', `/v1/sessions?kind=listing&cursor=${forged}`),
      api.call('GET', `/v1/sessions?kind=other&cursor=${cursor}`),
      api.call('GET', `/v1/timeline?cursor=${cursor}`),
      api.call('GET', '/v1/sessions?cursor=bm90LWEtY3Vyc29y'),
      api.call('GET', '/v1/sessions?__proto__=1'),
    ]);
    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 404, 400, 400]);
    expect(problemPaths(answers[4]!)).toEqual(['query.cursor']);
  });
});

describe('GET /v1/sessions?recipient=', () => {
  it('finds a session by its email or phone, normalised, newest first; 400 for text that is neither', async () => {
    // Prepare: two sessions of one customer, one of another; a phone-only one
    await register('lookup-a1', { contact: { email: 'Lookup.Ada@Example.com', phone: '+14155550171' } });
    await register('lookup-a2', { kind: 'payment', contact: { email: 'lookup.ada@example.com' } });
    await register('lookup-b1', { contact: { email: 'lookup.bob@example.com' } });
    await register('lookup-p1', { contact: { phone: '+14155550172' } });
    // Act
    const byEmail = await api.call('GET', '/v1/sessions?recipient=%20LOOKUP.ada@example.com%20');
    const byKind = await api.call('GET', '/v1/sessions?recipient=lookup.ada@example.com&kind=payment');
    const paged = await api.call('GET', '/v1/sessions?recipient=lookup.ada@example.com&limit=1');
    const next = await api.call(
      'GET',
      `/v1/sessions?recipient=lookup.ada@example.com&limit=1&cursor=${body<Page>(paged).nextCursor}`,
    );
    const byPhone = await api.call(
      'GET',
      `/v1/sessions?recipient=${encodeURIComponent('+1 (415) 555-0172')}`,
    );
    const none = await api.call('GET', '/v1/sessions?recipient=nobody@example.com');
    const bad = await api.call('GET', '/v1/sessions?recipient=not-an-address');
    // Assess
    expect(
      body<Page>(byEmail)
        .items.map((s) => s.sessionId)
        .sort(),
    ).toEqual(['lookup-a1', 'lookup-a2']);
    expect(body<Page>(byEmail).items[0]).not.toHaveProperty('recipientKey');
    expect(body<Page>(byKind).items.map((s) => s.sessionId)).toEqual(['lookup-a2']);
    expect([...body<Page>(paged).items, ...body<Page>(next).items].map((s) => s.sessionId).sort()).toEqual([
      'lookup-a1',
      'lookup-a2',
    ]);
    expect(body<Page>(byPhone).items.map((s) => s.sessionId)).toEqual(['lookup-p1']);
    expect(body<Page>(none).items).toEqual([]);
    expect(bad.status).toBe(400);
    expect(problemPaths(bad)).toEqual(['query.recipient']);
  });

  it('follows a contact change: the old address no longer finds the session', async () => {
    // Prepare
    await register('lookup-c1', { contact: { email: 'lookup.old@example.com' } });
    // Act
    const patched = await api.call('PATCH', '/v1/sessions/lookup-c1', {
      body: { contact: { email: 'lookup.new@example.com' } },
    });
    const old = await api.call('GET', '/v1/sessions?recipient=lookup.old@example.com');
    const renewed = await api.call('GET', '/v1/sessions?recipient=lookup.new@example.com');
    // Assess
    expect(patched.status).toBe(200);
    expect(body<Page>(old).items).toEqual([]);
    expect(body<Page>(renewed).items.map((s) => s.sessionId)).toEqual(['lookup-c1']);
  });
});

describe('GET /v1/sessions/{id}', () => {
  it('answers the session with its recovery state and its version as ETag', async () => {
    // Prepare
    await register('get-1');
    // Act
    const res = await api.call('GET', '/v1/sessions/get-1');
    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"0"');
    expect(body(res)).toMatchObject({
      sessionId: 'get-1',
      recoveryState: { status: 'stalled', maxRetries: 3 },
    });
    expect(body(res).dueShard).toBeUndefined();
  });

  it('answers 404 to an unknown or impossible id, 400 to a query parameter it does not take', async () => {
    // Act
    const unknown = await api.call('GET', '/v1/sessions/nobody');
    const impossible = await api.call('GET', '/v1/sessions/bad%20id');
    const query = await api.call('GET', '/v1/sessions/get-1?verbose=1');
    // Assess
    expect(unknown.status).toBe(404);
    expect(impossible.status).toBe(404);
    expect(query.status).toBe(400);
  });
});

describe('PATCH /v1/sessions/{id}', () => {
  it('applies progress, honours If-Match, and answers 409 when stale or illegal', async () => {
    // Prepare
    await register('patch-1');
    // Act
    const changed = await api.call('PATCH', '/v1/sessions/patch-1', {
      body: { contact: { phone: '+14155550100' } },
      headers: { 'if-match': '"0"' },
    });
    const stale = await api.call('PATCH', '/v1/sessions/patch-1', {
      body: { status: 'recovered' },
      headers: { 'if-match': '"0"' },
    });
    const completed = await api.call('PATCH', '/v1/sessions/patch-1', { body: { status: 'completed' } });
    const illegal = await api.call('PATCH', '/v1/sessions/patch-1', { body: { status: 'active' } });
    // Assess
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe('"1"');
    expect(body(changed).contact).toMatchObject({ email: 'patch-1@example.com', phone: '+14155550100' });
    expect(stale.status).toBe(409);
    expect(body(stale).type).toBe('/problems/version-mismatch');
    expect(completed.status).toBe(200);
    expect(illegal.status).toBe(409);
  });

  it('answers 400 to an empty patch, a bad status or a malformed If-Match; 404, 413, 415', async () => {
    // Prepare
    await register('patch-2');
    // Act
    const empty = await api.call('PATCH', '/v1/sessions/patch-2', { body: {} });
    const badStatus = await api.call('PATCH', '/v1/sessions/patch-2', {
      body: { status: 'nope', sizeBytes: -1 },
    });
    const badIfMatch = await api.call('PATCH', '/v1/sessions/patch-2', {
      body: { status: 'recovered' },
      headers: { 'if-match': 'yesterday' },
    });
    const missing = await api.call('PATCH', '/v1/sessions/nobody', { body: { status: 'recovered' } });
    // Assess
    expect(empty.status).toBe(400);
    expect(problemPaths(badStatus)).toEqual(['body.status', 'body.sizeBytes']);
    expect(problemPaths(badIfMatch)).toEqual(['header.If-Match']);
    expect(missing.status).toBe(404);
    await expectBodyLimits('PATCH', '/v1/sessions/patch-2');
  });
});

describe('session operations', () => {
  it('regenerate moves the next retry to the override; 409 for a completed session; 400, 404, 413, 415', async () => {
    // Prepare
    await register('regen-1');
    await register('regen-2');
    await api.call('PATCH', '/v1/sessions/regen-2', { body: { status: 'completed' } });
    const at = '2026-03-02T12:00:00.000Z';
    // Act
    const moved = await api.call('POST', '/v1/sessions/regen-1/regenerate', {
      body: { overrideNextRetryAt: at, reason: 'customer asked' },
    });
    const conflict = await api.call('POST', '/v1/sessions/regen-2/regenerate', { body: {} });
    const bad = await api.call('POST', '/v1/sessions/regen-1/regenerate', {
      body: { overrideNextRetryAt: 'tomorrow', automated: 'no' },
    });
    const missing = await api.call('POST', '/v1/sessions/nobody/regenerate', { body: {} });
    // Assess
    expect(moved.status).toBe(200);
    expect(body(moved).recoveryState).toMatchObject({
      nextRetryAt: at,
      overrideNextRetryAt: at,
      triggeredBy: 'local-operator',
    });
    expect(conflict.status).toBe(409);
    expect(problemPaths(bad)).toEqual(['body.overrideNextRetryAt', 'body.automated']);
    expect(missing.status).toBe(404);
    await expectBodyLimits('POST', '/v1/sessions/regen-1/regenerate');
  });

  it('retry-now makes one attempt (202) and refuses a second while it is dispatched (409); 400, 404, 413, 415', async () => {
    // Prepare
    await register('now-1');
    // Act
    const first = await api.call('POST', '/v1/sessions/now-1/retry-now', {
      body: { reason: 'on the phone' },
    });
    const second = await api.call('POST', '/v1/sessions/now-1/retry-now');
    const bad = await api.call('POST', '/v1/sessions/now-1/retry-now', { body: { reason: '' } });
    const missing = await api.call('POST', '/v1/sessions/nobody/retry-now');
    const timeline = await api.call('GET', '/v1/sessions/now-1/timeline');
    // Assess
    expect(first.status).toBe(202);
    expect(body(first)).toMatchObject({ number: 1, channels: ['email'], dispatched: true });
    expect(second.status).toBe(409);
    expect(bad.status).toBe(400);
    expect(missing.status).toBe(404);
    const attempts = body<Page>(timeline).items.filter((e) => e.type === 'attempt');
    expect(attempts).toEqual([
      expect.objectContaining({
        attemptId: body(first).attemptId,
        number: 1,
        channels: ['email'],
        state: 'dispatched',
      }),
    ]);
    await expectBodyLimits('POST', '/v1/sessions/now-1/retry-now');
  });

  it('pause and resume toggle automation; a stale If-Match is 409; 400, 404, 413, 415', async () => {
    // Prepare
    await register('pause-1');
    // Act
    const paused = await api.call('POST', '/v1/sessions/pause-1/pause', { body: { reason: 'vip' } });
    const stale = await api.call('POST', '/v1/sessions/pause-1/resume', { headers: { 'if-match': '"0"' } });
    const resumed = await api.call('POST', '/v1/sessions/pause-1/resume', { headers: { 'if-match': '"1"' } });
    const staleResume = await api.call('POST', '/v1/sessions/pause-1/pause', {
      headers: { 'if-match': '"1"' },
    });
    const bad = await api.call('POST', '/v1/sessions/pause-1/pause', { body: { why: 'x' } });
    const badResume = await api.call('POST', '/v1/sessions/pause-1/resume', { body: [] });
    const missing = await api.call('POST', '/v1/sessions/nobody/pause');
    const missingResume = await api.call('POST', '/v1/sessions/nobody/resume');
    // Assess
    expect(paused.status).toBe(200);
    expect(body(paused).recoveryState).toMatchObject({ paused: true, triggeredBy: 'local-operator' });
    expect(stale.status).toBe(409);
    expect(resumed.status).toBe(200);
    expect(body(resumed).recoveryState).toMatchObject({ paused: false });
    expect(staleResume.status).toBe(409);
    expect([bad.status, badResume.status, missing.status, missingResume.status]).toEqual([
      400, 400, 404, 404,
    ]);
    await expectBodyLimits('POST', '/v1/sessions/pause-1/pause');
    await expectBodyLimits('POST', '/v1/sessions/pause-1/resume');
  });

  it('lists stuck sessions, resets them, and recover brings a timed_out one back to processing', async () => {
    // Prepare: processing for three hours, past its 30-minute deadline.
    const started = new Date(clock.clock().getTime() - 3 * 3600_000).toISOString();
    await api.call('POST', '/v1/sessions', {
      body: {
        sessionId: 'stuck-1',
        kind: 'upload',
        status: 'processing',
        processingStartedAt: started,
        sizeBytes: 10,
      },
    });
    // Act
    const stuck = await api.call('GET', '/v1/health/sessions/stuck');
    const health = await api.call('GET', '/v1/health/sessions');
    const dry = await api.call('POST', '/v1/sessions/reset-stuck', { body: { olderThanMinutes: 60 } });
    const reset = await api.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 60, dryRun: false },
    });
    const notTimedOut = await api.call('POST', '/v1/sessions/get-1/recover');
    const recovered = await api.call('POST', '/v1/sessions/stuck-1/recover', {
      body: { reason: 'worker restarted' },
    });
    const bad = await api.call('POST', '/v1/sessions/stuck-1/recover', { body: { reason: 42 } });
    const missing = await api.call('POST', '/v1/sessions/nobody/recover');
    const badReset = await api.call('POST', '/v1/sessions/reset-stuck', { body: { dryRun: 'yes' } });
    // Assess
    expect(stuck.status).toBe(200);
    expect(body(stuck)).toMatchObject({
      count: 1,
      stuckSessions: [{ id: 'stuck-1', processingMinutes: 180, sizeBytes: 10 }],
    });
    // Health reads counters only. The monitor has not counted yet: unknown, not "stuck 0" beside a 3-hour-old processing session (#18).
    expect(body(health)).toMatchObject({
      status: 'unknown',
      metrics: { stuckSessions: null },
      measured: { at: null },
    });
    expect(body(dry)).toEqual({
      dryRun: true,
      matched: [{ sessionId: 'stuck-1', minutesStuck: 180 }],
      changed: 0,
      changedSessionIds: [],
      notChanged: [],
      retryAfterSeconds: null,
      more: false,
      nextCursor: null,
      total: { matched: 1, changed: 0 },
      matchedIsLowerBound: false,
    });
    expect(body(reset)).toMatchObject({ dryRun: false, changed: 1, changedSessionIds: ['stuck-1'] });
    expect(notTimedOut.status).toBe(409);
    expect(recovered.status).toBe(200);
    expect(body(recovered).status).toBe('processing');
    expect([bad.status, missing.status, badReset.status]).toEqual([400, 404, 400]);
    expect(problemPaths(badReset)).toEqual(['body.olderThanMinutes', 'body.dryRun']);
    await expectBodyLimits('POST', '/v1/sessions/stuck-1/recover');
    await expectBodyLimits('POST', '/v1/sessions/reset-stuck');
  });

  it('lists the timeline oldest first, page by page; 404 for an unknown session, 400 for a bad limit', async () => {
    // Prepare
    await register('tl-1');
    clock.advance(1000);
    await api.call('POST', '/v1/sessions/tl-1/pause');
    clock.advance(1000);
    await api.call('POST', '/v1/sessions/tl-1/resume');
    // Act
    const first = await api.call('GET', '/v1/sessions/tl-1/timeline?limit=2');
    const rest = await api.call(
      'GET',
      `/v1/sessions/tl-1/timeline?limit=2&cursor=${body<Page>(first).nextCursor}`,
    );
    const missing = await api.call('GET', '/v1/sessions/nobody/timeline');
    const bad = await api.call('GET', '/v1/sessions/tl-1/timeline?limit=abc');
    // Assess
    const types = [...body<Page>(first).items, ...body<Page>(rest).items].map((e) => e.type);
    expect(types).toEqual(['registered', 'paused', 'resumed']);
    expect(missing.status).toBe(404);
    expect(bad.status).toBe(400);
  });
});

describe('retry policies and stats', () => {
  const policy = {
    name: 'Gentle',
    maxRetries: 3,
    initialDelaySeconds: 600,
    backoffMultiplier: 2,
    maxDelaySeconds: 3600,
    jitter: 'equal',
    enabledChannels: ['email', 'sms'],
    orgId: 'acme',
  };

  it('creates (201), lists with a cursor, reads, reads the active one, deactivates', async () => {
    // Act
    const created = await api.call('POST', '/v1/retry/policies', { body: policy });
    await api.call('POST', '/v1/retry/policies', { body: { ...policy, name: 'Second', active: false } });
    await api.call('POST', '/v1/retry/policies', { body: { ...policy, name: 'Third', orgId: 'other' } });
    const id = String(body(created).policyId);
    const page1 = await api.call('GET', '/v1/retry/policies?orgId=acme&limit=1');
    const page2 = await api.call(
      'GET',
      `/v1/retry/policies?orgId=acme&limit=1&cursor=${body<Page>(page1).nextCursor}`,
    );
    const read = await api.call('GET', `/v1/retry/policies/${id}`);
    const active = await api.call('GET', '/v1/retry/policies/active?orgId=acme');
    const fallback = await api.call('GET', '/v1/retry/policies/active?orgId=nobody');
    const deactivated = await api.call('DELETE', `/v1/retry/policies/${id}`);
    const afterwards = await api.call('GET', '/v1/retry/policies/active?orgId=acme');
    // Assess
    expect(created.status).toBe(201);
    expect(body(created)).toMatchObject({ active: true, triggeredBy: 'local-operator', jitter: 'equal' });
    const names = [...body<Page>(page1).items, ...body<Page>(page2).items].map((p) => p.name).sort();
    expect(names).toEqual(['Gentle', 'Second']);
    expect(body(read).policyId).toBe(id);
    expect(body(active).policyId).toBe(id);
    expect(body(fallback).policyId).toBe('default');
    expect(body(deactivated)).toMatchObject({ policyId: id, active: false });
    expect(body(afterwards).policyId).toBe('default');
  });

  it('an activation that loses every round to other activations answers its declared 409 and writes nothing', async () => {
    // Prepare: before each of this activation's transactions another activation moves the org's pointer
    // (a real write on the emulator), so every round loses, as under a storm of concurrent activations.
    const orgId = 'contended';
    const ctx = api.as('api');
    let rivals = 0;
    const name = 'rival-activations';
    ctx.ddb.middlewareStack.add(
      (next, context) => async (args) => {
        if (
          /^TransactWrite/.test(String(context.commandName)) &&
          JSON.stringify(args.input).includes(orgId)
        ) {
          await ctx.ddb.send(
            new PutCommand({
              TableName: ctx.tables.control,
              Item: { pk: 'activePolicy', sk: orgId, policyId: `pol_rival${++rivals}` },
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    // Act
    let res: ApiResponse;
    try {
      res = await api.call('POST', '/v1/retry/policies', { body: { ...policy, name: 'Loser', orgId } });
    } finally {
      ctx.ddb.middlewareStack.remove(name);
    }
    const listed = await api.call('GET', `/v1/retry/policies?orgId=${orgId}`);
    // Assess: a problem the route declares (and so the OpenAPI document), saying to try again; nothing stored.
    expect(res.status).toBe(409);
    expect(body(res)).toMatchObject({
      type: '/problems/conflict',
      detail: expect.stringMatching(/try again/),
    });
    expect(ROUTES.find((r) => r.id === 'createPolicy')?.errors).toContain(409);
    expect(rivals).toBeGreaterThan(1);
    expect(body<Page>(listed).items).toEqual([]);
  });

  it('answers 400 listing bad policy fields, 404 for unknown ids, 413, 415', async () => {
    // Act
    const bad = await api.call('POST', '/v1/retry/policies', {
      body: { ...policy, maxDelaySeconds: 1, enabledChannels: ['email', 'email', 'pigeon'], color: 'red' },
    });
    const badList = await api.call('GET', '/v1/retry/policies?limit=-1');
    const badActive = await api.call('GET', '/v1/retry/policies/active?org=acme');
    const badGet = await api.call('GET', '/v1/retry/policies/pol_x?x=1');
    const badDelete = await api.call('DELETE', '/v1/retry/policies/pol_x', { body: { really: true } });
    const missing = await api.call('GET', '/v1/retry/policies/pol_missing');
    const missingDelete = await api.call('DELETE', '/v1/retry/policies/pol_missing');
    // Assess
    expect(bad.status).toBe(400);
    expect(problemPaths(bad)).toEqual(expect.arrayContaining(['body.enabledChannels.2', 'body.color']));
    expect([badList.status, badActive.status, badGet.status, badDelete.status]).toEqual([400, 400, 400, 400]);
    expect([missing.status, missingDelete.status]).toEqual([404, 404]);
    await expectBodyLimits('POST', '/v1/retry/policies');
  });

  it('previews exactly the retries the sweep then makes', async () => {
    // Prepare
    const created = await api.call('POST', '/v1/retry/policies', { body: { ...policy, orgId: 'preview' } });
    const id = String(body(created).policyId);
    await register('prev-1', { orgId: 'preview' });
    // Act
    const preview = await api.call('GET', `/v1/retry/policies/${id}/preview?sessionId=prev-1`);
    const schedule = body<{ schedule: Array<{ at: string; attempt: number; channels: string[] }> }>(
      preview,
    ).schedule;
    clock.set(schedule[0]!.at);
    await runRecoverySweep(api.ctx, { trigger: 'test' });
    const after = await api.call('GET', '/v1/sessions/prev-1');
    const generic = await api.call('GET', `/v1/retry/policies/${id}/preview?from=2026-03-02T00:00:00Z`);
    // Assess
    expect(preview.status).toBe(200);
    expect(body(preview).basis).toBe('session');
    expect(schedule.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(schedule[0]!.channels).toEqual(['email', 'sms']);
    expect(body(after).recoveryState).toMatchObject({ retryCount: 1, nextRetryAt: schedule[1]!.at });
    expect(body(generic)).toMatchObject({ basis: 'from', sessionId: null });
  });

  it('preview answers 404 for an unknown policy or session, 400 for a bad date', async () => {
    // Act
    const missing = await api.call('GET', '/v1/retry/policies/pol_missing/preview');
    const missingSession = await api.call('GET', '/v1/retry/policies/default/preview?sessionId=nobody');
    const bad = await api.call('GET', '/v1/retry/policies/default/preview?from=yesterday');
    // Assess
    expect([missing.status, missingSession.status, bad.status]).toEqual([404, 404, 400]);
  });

  it('reports stats from the counters; 400 when from is after to', async () => {
    // Act
    const stats = await api.call('GET', '/v1/retry/stats');
    const bad = await api.call('GET', '/v1/retry/stats?from=2026-03-05T00:00:00Z&to=2026-03-01T00:00:00Z');
    const tooLong = await api.call('GET', '/v1/retry/stats?from=2020-01-01T00:00:00Z');
    // Assess
    expect(stats.status).toBe(200);
    expect(body<{ sessions: number; attempts: number }>(stats).sessions).toBeGreaterThan(10);
    expect(body<{ attempts: number }>(stats).attempts).toBeGreaterThanOrEqual(1);
    expect(body(stats).byChannel).toMatchObject({ email: { sent: 0, failed: 0, skipped: 0 } });
    expect(bad.status).toBe(400);
    expect(problemPaths(bad)).toEqual(['query.from']);
    expect(tooLong.status).toBe(400);
  });

  it('draws the counters per hour and per day for charts; 400 for a bad granularity or range', async () => {
    // Act
    const hourly = await api.call('GET', '/v1/retry/stats/series');
    const daily = await api.call(
      'GET',
      '/v1/retry/stats/series?granularity=day&from=2026-02-25T00:00:00Z&to=2026-03-02T23:00:00Z',
    );
    const badGranularity = await api.call('GET', '/v1/retry/stats/series?granularity=minute');
    const tooMany = await api.call(
      'GET',
      '/v1/retry/stats/series?granularity=hour&from=2026-01-01T00:00:00Z&to=2026-03-02T00:00:00Z',
    );
    // Assess
    type Series = { buckets: Array<{ start: string; attempts: number; sessions: number }> };
    expect(hourly.status).toBe(200);
    expect(body<Series>(hourly).buckets).toHaveLength(24);
    expect(body<Series>(hourly).buckets.at(-1)?.start).toBe('2026-03-02T10:00:00.000Z');
    const total = (r: ApiResponse, k: 'attempts' | 'sessions') =>
      body<Series>(r).buckets.reduce((sum, b) => sum + b[k], 0);
    expect(total(hourly, 'sessions')).toBeGreaterThan(10);
    expect(total(hourly, 'attempts')).toBeGreaterThanOrEqual(1);
    expect(body<Series>(daily).buckets.map((b) => b.start.slice(0, 10))).toEqual([
      '2026-02-25',
      '2026-02-26',
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    // Hours and days count the same events.
    expect(total(daily, 'sessions')).toBe(total(hourly, 'sessions'));
    expect(badGranularity.status).toBe(400);
    expect(problemPaths(badGranularity)).toEqual(['query.granularity']);
    expect(tooMany.status).toBe(400);
    expect(problemPaths(tooMany)).toEqual(['query.to']);
  });

  it('lists the notification outcomes of an attempt; 404 for an unknown attempt, 400 for a bad limit', async () => {
    // Prepare: an attempt, and the outcome a sender would have written for it.
    await register('out-1');
    const attempt = await api.call('POST', '/v1/sessions/out-1/retry-now');
    const attemptId = String(body(attempt).attemptId);
    const at = clock.clock().toISOString();
    await api.ctx.ddb.send(
      new PutCommand({
        TableName: api.ctx.tables.timeline,
        Item: {
          sessionId: 'out-1',
          sk: `${at}#notification#0001#email`,
          type: 'notification',
          attemptId,
          channel: 'email',
          status: 'sent',
          provider: 'ses',
          providerMessageId: 'm-1',
          at,
          createdAt: at,
          updatedAt: at,
        },
      }),
    );
    // Act
    const res = await api.call('GET', `/v1/attempts/${attemptId}/notifications`);
    const missing = await api.call('GET', '/v1/attempts/att_missing/notifications');
    const bad = await api.call('GET', `/v1/attempts/${attemptId}/notifications?limit=abc`);
    // Assess
    expect(res.status).toBe(200);
    expect(body<Page>(res).items).toEqual([
      {
        attemptId,
        sessionId: 'out-1',
        channel: 'email',
        status: 'sent',
        provider: 'ses',
        providerMessageId: 'm-1',
        error: null,
        reason: null,
        createdAt: at,
        updatedAt: at,
      },
    ]);
    expect([missing.status, bad.status]).toEqual([404, 400]);
  });
});

describe('jobs and runs', () => {
  it('reports job status, starts runs (202 with the run id) whose records appear in the run pages', async () => {
    // Act
    const status = await api.call('GET', '/v1/admin/jobs/status');
    const dry = await api.call('POST', '/v1/admin/jobs/recovery-sweep/run', { body: { dryRun: true } });
    await api.runsSettled();
    clock.advance(1000);
    const real = await api.call('POST', '/v1/admin/jobs/timeout-monitor/run', { body: { limit: 10 } });
    await api.runsSettled();
    const page1 = await api.call('GET', '/v1/admin/runs?limit=1');
    const page2 = await api.call('GET', `/v1/admin/runs?limit=1&cursor=${body<Page>(page1).nextCursor}`);
    const sweepRuns = await api.call('GET', '/v1/admin/runs?job=recovery-sweep');
    // Assess
    expect(status.status).toBe(200);
    expect(body<{ jobs: Json[] }>(status).jobs.map((j) => j.name)).toEqual([
      'recovery-sweep',
      'timeout-monitor',
    ]);
    expect([dry.status, real.status]).toEqual([202, 202]);
    expect(body(dry)).toMatchObject({ job: 'recovery-sweep', dryRun: true, status: 'started' });
    expect(body(real)).toMatchObject({ job: 'timeout-monitor', dryRun: false, limit: 10, status: 'started' });
    expect(real.headers.get('location')).toBe('/v1/admin/runs?job=timeout-monitor');
    const dryRecord = body<Page>(sweepRuns).items.find((r) => r.runId === body(dry).runId);
    expect(dryRecord).toMatchObject({ job: 'recovery-sweep', dryRun: true, status: 'succeeded' });
    expect(String(dryRecord?.trigger)).toContain('local-operator');
    expect(body<Page>(page1).items[0]).toMatchObject({
      runId: body(real).runId,
      limit: 10,
      status: 'succeeded',
    });
    expect(body<Page>(page2).items).toHaveLength(1);
    expect(body<Page>(sweepRuns).items.every((r) => r.job === 'recovery-sweep')).toBe(true);
  });

  it('pauses (a real run is then skipped) and resumes a job', async () => {
    // Act
    const paused = await api.call('POST', '/v1/admin/jobs/recovery-sweep/pause', {
      body: { reason: 'incident 42' },
    });
    const skipped = await api.call('POST', '/v1/admin/jobs/recovery-sweep/run', { body: {} });
    await api.runsSettled();
    const runs = await api.call('GET', '/v1/admin/runs?job=recovery-sweep&limit=1');
    const resumed = await api.call('POST', '/v1/admin/jobs/recovery-sweep/resume');
    // Assess
    expect(body(paused)).toMatchObject({ name: 'recovery-sweep', paused: true, pauseReason: 'incident 42' });
    expect(skipped.status).toBe(202);
    expect(body<Page>(runs).items[0]).toMatchObject({ runId: body(skipped).runId, status: 'skipped' });
    expect(body(resumed)).toMatchObject({ paused: false });
  });

  it('answers 404 for an unknown job, 400 for bad input, 413 and 415', async () => {
    // Act
    const answers = await Promise.all([
      api.call('POST', '/v1/admin/jobs/cleanup/run', { body: {} }),
      api.call('POST', '/v1/admin/jobs/cleanup/pause'),
      api.call('POST', '/v1/admin/jobs/cleanup/resume'),
      api.call('POST', '/v1/admin/jobs/recovery-sweep/run', { body: { limit: 0 } }),
      api.call('POST', '/v1/admin/jobs/recovery-sweep/pause', { body: { reason: 7 } }),
      api.call('POST', '/v1/admin/jobs/recovery-sweep/resume', { body: { reason: 7 } }),
      api.call('GET', '/v1/admin/runs?job=cleanup'),
      api.call('GET', '/v1/admin/jobs/status?all=1'),
    ]);
    // Assess
    expect(answers.map((a) => a.status)).toEqual([404, 404, 404, 400, 400, 400, 400, 400]);
    for (const action of ['run', 'pause', 'resume']) {
      await expectBodyLimits('POST', `/v1/admin/jobs/timeout-monitor/${action}`);
    }
  });
});

describe('dead letters', () => {
  it('reports DLQ depths and dry-runs a replay; 404 for an unknown channel, 400, 413, 415', async () => {
    // Prepare
    await api.ctx.sqs.send(
      new SendMessageCommand({
        QueueUrl: api.ctx.queues.email.dlqUrl,
        MessageBody: JSON.stringify({ sessionId: 'dead-1', attemptId: 'att_dead' }),
      }),
    );
    // Act
    const depths = await api.call('GET', '/v1/admin/dlq');
    const dry = await api.call('POST', '/v1/admin/dlq/email/replay', { body: { sessionId: 'dead-1' } });
    const unknown = await api.call('POST', '/v1/admin/dlq/pigeon/replay', { body: {} });
    const bad = await api.call('POST', '/v1/admin/dlq/email/replay', {
      body: { limit: 0, sessionId: 'a b' },
    });
    const badQuery = await api.call('GET', '/v1/admin/dlq?channel=email');
    // Assess
    expect(body<{ channels: Json[] }>(depths).channels.find((c) => c.channel === 'email')).toMatchObject({
      depth: 1,
    });
    expect(body(dry)).toMatchObject({ dryRun: true, matched: 1, replayed: 0 });
    expect(unknown.status).toBe(404);
    expect(problemPaths(bad)).toEqual(['body.limit', 'body.sessionId']);
    expect(badQuery.status).toBe(400);
    await expectBodyLimits('POST', '/v1/admin/dlq/email/replay');
  });
});

describe('health and the OpenAPI document', () => {
  it('readyz answers 200 when every component answers, 503 when the database does not', async () => {
    // Prepare
    const broken = await serveTestApi(
      { ...api.ctx, tables: { sessions: 'missing-a', timeline: 'missing-b', control: 'missing-c' } },
      api.coverage,
    );
    // Act
    const ready = await api.call('GET', '/v1/health/readyz');
    const down = await broken.call('GET', '/v1/health/readyz');
    await broken.stop();
    // Assess
    expect(ready.status).toBe(200);
    expect(['ok', 'degraded']).toContain(body(ready).status);
    expect(body(ready).components).toMatchObject({ database: { status: 'ok' } });
    expect(down.status).toBe(503);
    expect(body(down)).toMatchObject({ status: 'error', components: { database: { status: 'error' } } });
  });

  it('serves the OpenAPI document; every health and meta route refuses unknown parameters', async () => {
    // Act
    const doc = await api.call('GET', '/v1/openapi.json');
    const answers = await Promise.all(
      ['/v1/health/readyz', '/v1/health/sessions', '/v1/health/sessions/stuck', '/v1/openapi.json'].map((p) =>
        api.call('GET', `${p}?x=1`),
      ),
    );
    // Assess
    expect(body(doc).openapi).toBe('3.1.0');
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400]);
  });
});

describe('recipients, consent and the reputation guard (#13)', () => {
  it('reads, suppresses and lifts a recipient with an audit record; 404 for what is no address', async () => {
    // Act
    const fresh = await api.call('GET', '/v1/recipients/Ada.Rcpt@Example.com');
    const suppressed = await api.call('POST', '/v1/recipients/ada.rcpt@example.com/suppressions', {
      body: { channel: 'email', reason: 'asked by phone, INC-7' },
    });
    const lifted = await api.call('DELETE', '/v1/recipients/ada.rcpt@example.com/suppressions/email', {
      body: { reason: 'asked to be reminded again' },
    });
    const phone = await api.call(
      'POST',
      `/v1/recipients/${encodeURIComponent('+1 415 555 0177')}/suppressions`,
      {
        body: { channel: 'sms' },
      },
    );
    const wrongChannel = await api.call('POST', '/v1/recipients/ada.rcpt@example.com/suppressions', {
      body: { channel: 'sms' },
    });
    const badBody = await api.call('POST', '/v1/recipients/ada.rcpt@example.com/suppressions', {
      body: { channel: 'pigeon' },
    });
    const badLift = await api.call('DELETE', '/v1/recipients/ada.rcpt@example.com/suppressions/email', {
      body: { extra: 1 },
    });
    const notAnAddress = await api.call('GET', '/v1/recipients/nobody');
    const notAnAddressPost = await api.call('POST', '/v1/recipients/nobody/suppressions', {
      body: { channel: 'email' },
    });
    const notAnAddressLift = await api.call('DELETE', '/v1/recipients/nobody/suppressions/email');
    const badQuery = await api.call('GET', '/v1/recipients/ada.rcpt@example.com?x=1');
    const after = await api.call('GET', '/v1/recipients/ada.rcpt@example.com');
    // Assess
    expect(body(fresh)).toMatchObject({
      address: 'ada.rcpt@example.com',
      channels: { email: { suppressed: false } },
    });
    expect(body(suppressed)).toMatchObject({
      changed: true,
      recipient: { channels: { email: { suppressed: true, reason: 'operator', source: 'local-operator' } } },
    });
    expect(body(lifted)).toMatchObject({
      changed: true,
      recipient: { channels: { email: { suppressed: false } } },
    });
    expect(body(phone)).toMatchObject({ address: '+14155550177', channel: 'sms', changed: true });
    expect(wrongChannel.status).toBe(400);
    expect(badBody.status).toBe(400);
    expect(badLift.status).toBe(400);
    expect([notAnAddress.status, notAnAddressPost.status, notAnAddressLift.status]).toEqual([404, 404, 404]);
    expect(badQuery.status).toBe(400);
    expect(body<{ history: Array<{ action: string }> }>(after).history.map((h) => h.action)).toEqual([
      'lifted',
      'suppressed',
    ]);
    await expectBodyLimits('POST', '/v1/recipients/ada.rcpt@example.com/suppressions');
    await expectBodyLimits('DELETE', '/v1/recipients/ada.rcpt@example.com/suppressions/email');
  });

  it('reports 24 h rates per channel and resumes email; other channels are not pausable', async () => {
    // Act
    const report = await api.call('GET', '/v1/admin/reputation');
    const resumed = await api.call('POST', '/v1/admin/channels/email/resume', {
      body: { reason: 'list cleaned' },
    });
    const sms = await api.call('POST', '/v1/admin/channels/sms/resume', { body: {} });
    const bad = await api.call('POST', '/v1/admin/channels/email/resume', { body: { reason: 5 } });
    const badQuery = await api.call('GET', '/v1/admin/reputation?channel=email');
    // Assess
    expect(body<{ channels: Array<{ channel: string }> }>(report).channels.map((c) => c.channel)).toEqual([
      'email',
      'sms',
      'whatsapp',
    ]);
    expect(body(report).thresholds).toMatchObject({ alarmBouncePercent: 2.5, alarmComplaintPercent: 0.05 });
    expect(body(resumed)).toMatchObject({ channel: 'email', paused: false, resumedBy: 'local-operator' });
    expect(sms.status).toBe(404);
    expect(bad.status).toBe(400);
    expect(badQuery.status).toBe(400);
    await expectBodyLimits('POST', '/v1/admin/channels/email/resume');
  });
});

describe('POST /v1/events (#14)', () => {
  it('takes a generic event (202), refuses a bad one (400), a big one (413) and a non-JSON one (415)', async () => {
    // Act
    const accepted = await api.call('POST', '/v1/events', {
      body: {
        id: 'http-evt-1',
        type: 'Session Stalled',
        time: '2026-03-02T09:59:00Z',
        sessionId: 'http-evt-s1',
        kind: 'checkout',
        amount: { value: 1000, currency: 'EUR' },
      },
    });
    const refused = await api.call('POST', '/v1/events', { body: { id: 'x', type: 'Session Stalled' } });
    // Assess
    expect(accepted.status).toBe(202);
    expect(body(accepted)).toMatchObject({ received: true, outcome: 'applied', status: 'stalled' });
    expect(refused.status).toBe(400);
    expect(problemPaths(refused)).toEqual(expect.arrayContaining(['body.time', 'body.sessionId']));
    await expectBodyLimits('POST', '/v1/events');
  });
});

describe('public routes (/v1/public/*)', () => {
  // Served by their own router, as the receipts and ingest functions serve them in AWS: each route's
  // success and every error status it declares, recorded into the same coverage as the admin routes.
  const UNSUBSCRIBE_KEY = 'routes-unsubscribe-key-0123456789abcdef';
  const TWILIO = { accountSid: `AC${'1'.repeat(32)}`, authToken: 'routes-twilio-auth-token-0123' };
  const STRIPE_SECRET = 'whsec_routes_0123456789abcdef0123';
  const SHOPIFY_SECRET = 'shpss_routes_0123456789abcdef0123';
  let server: RunningApiServer;

  beforeAll(async () => {
    server = await startApiServer({
      ctx: api.ctx,
      port: 0,
      publicRoutes: {
        secrets: { unsubscribeKey: async () => UNSUBSCRIBE_KEY, twilio: async () => TWILIO },
        hookSecrets: { stripe: async () => STRIPE_SECRET, shopify: async () => SHOPIFY_SECRET },
      },
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    const route = routeFor(method, path);
    const declared = route?.responses.some((r) => r.status === res.status);
    expect(res.status, `${method} ${path}: ${text.slice(0, 300)}`).toBeLessThan(500);
    // A success in the route's own media type; a refusal is a problem, or the unsubscribe's HTML page.
    expect(res.headers.get('content-type') ?? '').toMatch(
      declared ? new RegExp(`^${route?.public?.responds}`) : /^(application\/problem\+json|text\/html)/,
    );
    api.coverage.record(method, path, res.status);
    return res.status;
  }
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const JSON_TYPE = { 'content-type': 'application/json' };
  const TOO_BIG = 'x'.repeat(1024 * 1024 + 1);

  it('unsubscribe: a valid token 200, a stray query 400, a forged token 404, 413 and 415 on POST', async () => {
    // Prepare
    const token = createUnsubscribeToken(UNSUBSCRIBE_KEY, { address: 'routes-unsub@example.com' });
    const path = `/v1/public/unsubscribe/${token}`;
    const forged = `/v1/public/unsubscribe/${token.slice(0, -2)}AA`;
    const oneClick = form({ 'List-Unsubscribe': 'One-Click' });
    // Act
    const statuses = [
      await call('GET', path),
      await call('GET', `${path}?x=1`),
      await call('GET', forged),
      await call('POST', path, oneClick, FORM),
      await call('POST', `${path}?x=1`, oneClick, FORM),
      await call('POST', forged, oneClick, FORM),
      await call('POST', path, TOO_BIG, FORM),
      await call('POST', path, '{"List-Unsubscribe":"One-Click"}', JSON_TYPE),
    ];
    // Assess
    expect(statuses).toEqual([200, 400, 404, 200, 400, 404, 413, 415]);
  });

  it('Twilio callbacks: signed 200, a signed bad form 400, unsigned 403, 413 and 415', async () => {
    // Prepare
    const sign = (path: string, fields: Record<string, string>) => ({
      ...FORM,
      'x-twilio-signature': twilioSignature(TWILIO.authToken, `${server.url}${path}`, fields),
    });
    const status = {
      MessageSid: `SM${'2'.repeat(32)}`,
      MessageStatus: 'delivered',
      AccountSid: TWILIO.accountSid,
    };
    const inbound = {
      MessageSid: `SM${'3'.repeat(32)}`,
      AccountSid: TWILIO.accountSid,
      From: '+14155550123',
      Body: 'hi',
    };
    const results: number[] = [];
    // Act
    for (const [path, good] of [
      ['/v1/public/hooks/twilio/status', status],
      ['/v1/public/hooks/twilio/inbound', inbound],
    ] as const) {
      const bad = { ...good, MessageSid: 'not-a-sid' };
      results.push(
        await call('POST', path, form(good), sign(path, good)),
        await call('POST', path, form(bad), sign(path, bad)),
        await call('POST', path, form(good), { ...FORM, 'x-twilio-signature': 'garbage' }),
        await call('POST', path, TOO_BIG, FORM),
        await call('POST', path, JSON.stringify(good), JSON_TYPE),
      );
    }
    // Assess
    expect(results).toEqual([200, 400, 403, 413, 415, 200, 400, 403, 413, 415]);
  });

  it('Stripe and Shopify webhooks: signed 200, a bad signature 400, 413, and a signed non-JSON body 415', async () => {
    // Prepare
    const event = JSON.stringify({
      id: 'evt_routes_unmapped',
      object: 'event',
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: 'cus_routes', object: 'customer' } },
      type: 'customer.created',
    });
    const stripe = (body: string) => {
      const t = Math.floor(api.ctx.clock().getTime() / 1000);
      const v1 = createHmac('sha256', STRIPE_SECRET).update(`${t}.${body}`).digest('hex');
      return { 'stripe-signature': `t=${t},v1=${v1}` };
    };
    const shopify = (body: string) => ({
      'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64'),
      'x-shopify-topic': 'shop/update',
      'x-shopify-webhook-id': 'routes-webhook',
    });
    const results: number[] = [];
    // Act
    for (const [path, sign] of [
      ['/v1/public/hooks/stripe', stripe],
      ['/v1/public/hooks/shopify', shopify],
    ] as const) {
      results.push(
        await call('POST', path, event, { ...JSON_TYPE, ...sign(event) }),
        await call('POST', path, event, { ...JSON_TYPE, ...sign(`${event} `) }),
        await call('POST', path, TOO_BIG, JSON_TYPE),
        await call('POST', path, 'id=1', { 'content-type': 'text/plain', ...sign('id=1') }),
      );
    }
    // Assess
    expect(results).toEqual([200, 400, 413, 415, 200, 400, 413, 415]);
  });
});

describe('coverage of the route table', () => {
  it('exercised every route with its success statuses and each error status it declares', () => {
    // Assess: the public routes included.
    expect(api.coverage.missing(ROUTES)).toEqual([]);
    expect(new Coverage().missing(ROUTES).length).toBeGreaterThan(ROUTES.length);
  });
});
