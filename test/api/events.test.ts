// The sample API Gateway events (events/api-*.json) through the function that serves them, as API Gateway
// delivers them: the matched template in `resource`, path parameters split out, the IAM caller in
// requestContext. `api-admin-*.json` samples go to the api-admin function's router, the others to api's.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAdminBindings } from '../../shared/api/admin-bindings.ts';
import { createBindings } from '../../shared/api/bindings.ts';
import { buildInProcess } from '../../shared/api/openapi.ts';
import { type ApiHandler, createRouter } from '../../shared/api/router.ts';
import { routesOf } from '../../shared/api/routes.ts';
import type { AppContext } from '../../shared/context.ts';
import { createTestContext } from '../support/context.ts';

let ctx: AppContext;
let api: ApiHandler;
let admin: ApiHandler;

function sample(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));
}

async function call(name: string) {
  const res = await (name.startsWith('api-admin-') ? admin : api)(sample(name));
  return { status: res.statusCode, headers: res.headers ?? {}, body: JSON.parse(res.body) };
}

beforeAll(async () => {
  ({ ctx } = await createTestContext());
  api = createRouter({ ctx, routes: routesOf('api'), bindings: createBindings(buildInProcess) });
  admin = createRouter({ ctx, routes: routesOf('api-admin'), bindings: createAdminBindings(async () => {}) });
});

describe('sample API Gateway events', () => {
  it('register, read, list, retry now and replay as the IAM caller', async () => {
    // Act (in order: each builds on the one before)
    const created = await call('api-create-session.json');
    const read = await call('api-get-session.json');
    const listed = await call('api-list-sessions.json');
    const retried = await call('api-retry-now.json');
    const replay = await call('api-admin-replay-dlq.json');
    // Assess
    expect(created.status).toBe(201);
    expect(read.status).toBe(200);
    expect(read.headers.etag).toBe('"0"');
    expect(read.headers['x-request-id']).toBe('c0ffee00-0000-4000-8000-000000000001');
    expect(listed.body.items.map((s: { sessionId: string }) => s.sessionId)).toEqual(['chk-1001']);
    expect(retried.status).toBe(202);
    expect(replay.body).toEqual({
      dryRun: true,
      matched: 0,
      replayed: 0,
      notDeleted: 0,
      notDeletedMessages: [],
      scanned: 0,
      stoppedBy: 'drained',
      more: false,
      matchedIsLowerBound: false,
      remaining: 0,
      nextCursor: null,
      total: { matched: 0, replayed: 0, scanned: 0, notDeleted: 0 },
      needsForce: 0,
      messages: [],
    });
    const timeline = await api({
      ...(sample('api-get-session.json') as object),
      resource: '/v1/sessions/{id}/timeline',
      path: '/v1/sessions/chk-1001/timeline',
    });
    const events = JSON.parse(timeline.body).items as Array<{ type: string; triggeredBy: string }>;
    expect(events.map((e) => [e.type, e.triggeredBy])).toEqual([
      ['registered', 'arn:aws:iam::123456789012:user/oncall-operator'],
      ['attempt', 'arn:aws:iam::123456789012:user/oncall-operator'],
    ]);
  });

  it('answer an invalid body with a problem listing every bad field, and readiness with a report', async () => {
    // Act
    const invalid = await call('api-invalid-body.json');
    const ready = await call('api-admin-readyz.json');
    // Assess
    expect(invalid.status).toBe(400);
    expect(invalid.headers['content-type']).toBe('application/problem+json');
    expect(invalid.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'body.status',
      'body.contact.email',
    ]);
    expect(ready.body.components.database.status).toBe('ok');
  });

  it('refuse a route of the other function with 404, as a misrouted call', async () => {
    // Act
    const res = await api(sample('api-admin-replay-dlq.json'));
    // Assess
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).detail).toMatch(/served by another function/);
  });

  it('answer 400 to an event the router cannot read, without throwing', async () => {
    // Act
    const res = await api({ httpMethod: 42 });
    // Assess
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).errors[0].path).toBe('event.httpMethod');
  });
});
