// A session whose notification would not fit the SQS batch the sweep publishes it in is refused where it is
// written (POST and PATCH /v1/sessions, POST /v1/events) with a 413 that names the limit, and nothing is
// written; never a failed publish later. The bound is computed from the message the sweep really builds:
// a real sweep's message is never larger than it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter } from '../../shared/api/router.ts';
import { isPublicRoute, routesOf } from '../../shared/api/routes.ts';
import { createIngestBindings } from '../../shared/events/bindings.ts';
import { getSession } from '../../shared/repositories/sessions.ts';
import {
  largestMessageBytes,
  MAX_SESSION_MESSAGE_BYTES,
  SQS_BATCH_MAX_BYTES,
} from '../../shared/usecases/message-size.ts';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { unique } from '../integration/events/support.ts';
import { manualClock } from '../support/context.ts';
import { receiveAllBodies } from '../support/queues.ts';
import { body, startTestApi, type TestApi } from './support.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let api: TestApi;
let ingest: ReturnType<typeof createRouter>;

/** Characters JSON writes as six bytes (`\u0001`), which URLs and names may hold: the worst case per character. */
const C = '\u0001';
const url = (host: string) =>
  `https://${host}.example.com/${C.repeat(2048 - `https://${host}.example.com/`.length)}`;
const OVERSIZE = {
  kind: C.repeat(64),
  orgId: 'o'.repeat(128),
  recoveryUrl: url('shop'),
  contact: { name: C.repeat(200), webhookUrl: url('hook'), email: 'ada@example.com' },
};

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
  ingest = createRouter({
    ctx: api.ctx,
    routes: routesOf('ingest').filter((r) => !isPublicRoute(r)),
    bindings: createIngestBindings({ abandonAfterMinutes: 60, timers: { set: async () => {} } }),
    defaultCaller: 'arn:aws:iam::123456789012:user/product',
  });
});

afterAll(async () => {
  await api.stop();
});

function expectMessageTooLarge(res: { status: number; body: unknown }) {
  expect(res.status).toBe(413);
  expect(res.body).toMatchObject({
    type: '/problems/message-too-large',
    detail: expect.stringMatching(
      new RegExp(`SQS.*${SQS_BATCH_MAX_BYTES}.*SendMessageBatch.*${MAX_SESSION_MESSAGE_BYTES}`),
    ),
  });
}

describe('sessions whose notifications would not fit SQS', () => {
  it('are refused at registration with a 413 naming the limit, and nothing is written', async () => {
    // Prepare
    const sessionId = `big-${unique()}`.padEnd(128, 'b');
    // Act
    const res = await api.call('POST', '/v1/sessions', {
      body: { sessionId, status: 'stalled', ...OVERSIZE },
    });
    // Assess
    expectMessageTooLarge(res);
    expect(await getSession(api.ctx, sessionId)).toBeUndefined();
  });

  it('are refused at update, and the session stays as it was', async () => {
    // Prepare
    const sessionId = `grow-${unique()}`.padEnd(128, 'g');
    const { recoveryUrl, contact, ...rest } = OVERSIZE;
    const created = await api.call('POST', '/v1/sessions', {
      body: { sessionId, ...rest, status: 'stalled', contact: { email: 'ada@example.com' } },
    });
    expect(created.status, created.text).toBe(201);
    // Act
    const res = await api.call('PATCH', `/v1/sessions/${sessionId}`, { body: { recoveryUrl, contact } });
    // Assess
    expectMessageTooLarge(res);
    expect((await getSession(api.ctx, sessionId))?.recoveryUrl).toBeUndefined();
  });

  it('are refused from a product event (POST /v1/events)', async () => {
    // Prepare
    const sessionId = `event-${unique()}`.padEnd(128 - '-stalled'.length, 'e');
    const event = {
      id: `${sessionId}-stalled`,
      type: 'Session Stalled',
      time: '2026-03-02T09:00:00Z',
      sessionId,
      ...OVERSIZE,
    };
    // Act
    const res = await ingest({
      httpMethod: 'POST',
      path: '/v1/events',
      resource: '/v1/events',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
      isBase64Encoded: false,
      requestContext: { requestId: unique() },
    });
    // Assess
    expectMessageTooLarge({ status: res.statusCode, body: JSON.parse(res.body) });
    expect(await getSession(api.ctx, sessionId)).toBeUndefined();
  });

  it("bounds what a real sweep publishes; every field at its schema's longest plain value fits", async () => {
    // Prepare: every field as long as the schemas allow, in plain ASCII
    const sessionId = `M${unique()}`.padEnd(128, 'm');
    const created = await api.call('POST', '/v1/sessions', {
      body: {
        sessionId,
        kind: 'k'.repeat(64),
        status: 'stalled',
        recoveryUrl: `https://shop.example.com/${'r'.repeat(2048 - 25)}`,
        contact: {
          name: 'n'.repeat(200),
          email: `${'e'.repeat(64)}@example.com`,
          webhookUrl: `https://hook.example.com/${'w'.repeat(2048 - 25)}`,
          timezone: 'America/Argentina/ComodRivadavia',
        },
      },
    });
    expect(created.status, created.text).toBe(201);
    const session = await getSession(api.ctx, sessionId);
    if (!session) throw new Error('registered');
    clock.set('2026-03-03T10:00:00.000Z');
    // Act
    await runRecoverySweep(api.ctx, { trigger: 'test' });
    const published = (await receiveAllBodies(api.ctx, api.ctx.queues.email?.url ?? '')).filter(
      (m) => (m as { sessionId?: string }).sessionId === sessionId,
    );
    // Assess
    expect(published).toHaveLength(1);
    const bound = largestMessageBytes(session);
    expect(Buffer.byteLength(JSON.stringify(published[0]))).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThanOrEqual(MAX_SESSION_MESSAGE_BYTES);
    expect(body(created)).toMatchObject({ sessionId });
  });
});
