// Whatever the API accepts, the service can read back; and a write that races an internal write (a sender's
// stamp, a sweep) is retried instead of answering 409. Issue #10, items 2 and 3. Each case failed on the code
// before the fix: a far-future override answered 200 and every later read of the session answered 500; a
// `processingStartedAt` a year ahead was stored; a product's `recovered` racing a sender's stamp was a 409;
// a session grown past DynamoDB's item limit, or a throttled transaction, answered 500.
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../shared/context.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import { getSession, saveSession } from '../../shared/repositories/sessions.ts';
import { markSessionNotified } from '../../shared/senders/session-access.ts';
import { manualClock } from '../support/context.ts';
import { body, Coverage, serveTestApi, snapshotTables, startTestApi, type TestApi } from './support.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let stamps = 0;
let api: TestApi;

function register(sessionId: string, extra: Record<string, unknown> = {}) {
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

/** What a racing context saw: races run, competing writes that landed, transactions they cancelled. */
interface RaceRecord {
  fired: number;
  landed: number;
  conflicts: number;
}

/**
 * The same context, except that before each of the first `times` session transactions `race` runs against
 * the real table: a genuine concurrent write between the use case's read and its write. `race` answers
 * whether its write landed; the record counts the transactions the table then cancelled on a condition, so
 * a test can assert the race happened rather than trust it did.
 */
function racingContext(
  ctx: AppContext,
  race: () => Promise<boolean>,
  times = 1,
): { ctx: AppContext; record: RaceRecord } {
  const record: RaceRecord = { fired: 0, landed: 0, conflicts: 0 };
  const send = (async (command: unknown) => {
    const raced = record.fired < times && command instanceof TransactWriteCommand;
    if (raced) {
      record.fired++;
      if (await race()) record.landed++;
    }
    try {
      return await (ctx.ddb.send as (c: unknown) => Promise<unknown>)(command);
    } catch (error) {
      const conditional =
        error instanceof TransactionCanceledException &&
        (error.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
      if (raced && conditional) record.conflicts++;
      throw error;
    }
  }) as AppContext['ddb']['send'];
  return { ctx: { ...ctx, ddb: { ...ctx.ddb, send } as AppContext['ddb'] }, record };
}

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
});

afterAll(async () => {
  await api.stop();
});

describe('every stored value round-trips', () => {
  it('refuses an override past year 9998 after offset normalisation (400), and the session stays readable', async () => {
    // Prepare
    expect((await register('far-future')).status).toBe(201);
    const before = await snapshotTables(api.ctx);

    // Act
    const res = await api.call('POST', '/v1/sessions/far-future/regenerate', {
      body: { overrideNextRetryAt: '9999-12-31T23:59:59-05:00' },
    });
    const read = await api.call('GET', '/v1/sessions/far-future');
    const timeline = await api.call('GET', '/v1/sessions/far-future/timeline');

    // Assess
    expect(res.status).toBe(400);
    expect(body<{ errors: Array<{ path: string }> }>(res).errors.map((e) => e.path)).toEqual([
      'body.overrideNextRetryAt',
    ]);
    expect(await snapshotTables(api.ctx)).toEqual(before);
    expect(read.status).toBe(200);
    expect(timeline.status).toBe(200);
  });

  it('accepts the last and first instants the schema reads back, and refuses one step past each', async () => {
    // Prepare
    await register('bounds');

    // Act
    const last = await api.call('POST', '/v1/sessions/bounds/regenerate', {
      body: { overrideNextRetryAt: '9998-12-31T23:59:59Z' },
    });
    const past = await api.call('POST', '/v1/sessions/bounds/regenerate', {
      body: { overrideNextRetryAt: '9998-12-31T20:00:00-05:00' },
    });
    const beforeYearOne = await api.call('POST', '/v1/sessions/bounds/regenerate', {
      body: { overrideNextRetryAt: '0001-01-01T00:30:00+01:00' },
    });

    // Assess
    expect(last.status).toBe(200);
    expect(past.status).toBe(400);
    expect(beforeYearOne.status).toBe(400);
    expect((await api.call('GET', '/v1/sessions/bounds')).status).toBe(200);
  });

  it('refuses a processingStartedAt more than five minutes ahead (400) and stores nothing', async () => {
    // Prepare
    const before = await snapshotTables(api.ctx);
    const soon = new Date(clock.clock().getTime() + 4 * 60_000).toISOString();
    const later = new Date(clock.clock().getTime() + 365 * 86_400_000).toISOString();

    // Act
    const ahead = await register('started-ahead', { status: 'processing', processingStartedAt: later });
    const after = await snapshotTables(api.ctx);
    const skew = await register('clock-skew', { status: 'processing', processingStartedAt: soon });

    // Assess
    expect(ahead.status).toBe(400);
    expect(body<{ errors: Array<{ path: string }> }>(ahead).errors.map((e) => e.path)).toEqual([
      'body.processingStartedAt',
    ]);
    expect(after).toEqual(before);
    expect(skew.status).toBe(201);
  });

  it('saveSession refuses a next state the stored-session schema would not read back, and writes nothing', async () => {
    // Prepare
    await register('unreadable');
    const current = await getSession(api.ctx, 'unreadable');
    const before = await snapshotTables(api.ctx);

    // Act
    const write = saveSession(api.ctx, {
      previous: current,
      next: { ...current!, nextRetryAt: '+010000-01-01T04:59:59.000Z' },
    });

    // Assess
    await expect(write).rejects.toBeInstanceOf(DomainError);
    await expect(write).rejects.toMatchObject({ code: 'validation' });
    expect(await snapshotTables(api.ctx)).toEqual(before);
  });
});

describe('internal writes never surface as conflicts', () => {
  it('a recovered report racing a sender stamp is applied (200), not refused (409)', async () => {
    // Prepare
    const registered = body<{ version: number }>(await register('race-recovered')).version;
    const raced = racingContext(api.ctx, () => markSessionNotified(api.ctx, 'race-recovered', clock.clock()));
    const racing = await serveTestApi(raced.ctx, new Coverage());

    // Act
    const res = await racing.call('PATCH', '/v1/sessions/race-recovered', { body: { status: 'recovered' } });
    await racing.stop();

    // Assess: the stamp landed between the read and the write and cancelled the first transaction; the
    // retry applied the report on top of it (both writes in the version).
    expect(raced.record).toEqual({ fired: 1, landed: 1, conflicts: 1 });
    expect(res.status).toBe(200);
    const stored = await getSession(api.ctx, 'race-recovered');
    expect(stored?.status).toBe('recovered');
    expect(stored?.lastNotifiedAt).toBe(clock.clock().toISOString());
    expect(stored?.version).toBe(registered + 2);
  });

  it('pause, resume, regenerate and recover retry a raced read-modify-write; only a stale If-Match is 409', async () => {
    // Prepare
    await register('race-ops');
    await register('race-timed-out', { status: 'processing' });
    const bump = (id: string) => () =>
      markSessionNotified(api.ctx, id, new Date(Date.parse('2030-01-01T00:00:00Z') + ++stamps * 1000));
    const records: RaceRecord[] = [];
    const versionGaps: number[] = [];
    const raceOnce = async (id: string, path: string, payload: Record<string, unknown>) => {
      const raced = racingContext(api.ctx, bump(id), 2);
      const racing = await serveTestApi(raced.ctx, new Coverage());
      const before = (await getSession(api.ctx, id))?.version ?? 0;
      const status = (await racing.call('POST', `/v1/sessions/${id}/${path}`, { body: payload })).status;
      await racing.stop();
      records.push(raced.record);
      versionGaps.push(((await getSession(api.ctx, id))?.version ?? 0) - before);
      return status;
    };

    // Act
    const results: number[] = [];
    results.push(await raceOnce('race-ops', 'pause', { reason: 'r' }));
    results.push(await raceOnce('race-ops', 'resume', { reason: 'r' }));
    results.push(await raceOnce('race-ops', 'regenerate', { reason: 'r' }));
    clock.advance(3 * 3600_000);
    await api.call('POST', '/v1/sessions/reset-stuck', { body: { olderThanMinutes: 60, dryRun: false } });
    results.push(await raceOnce('race-timed-out', 'recover', {}));
    const stale = await api.call('POST', '/v1/sessions/race-ops/pause', {
      body: {},
      headers: { 'if-match': '"0"' },
    });

    // Assess: each request was raced twice, each race landed and cancelled the transaction it preceded,
    // and the third attempt wrote on top of both (two stamps and the operation in the version).
    expect(records).toEqual(Array(4).fill({ fired: 2, landed: 2, conflicts: 2 }));
    expect(versionGaps).toEqual([3, 3, 3, 3]);
    expect(results).toEqual([200, 200, 200, 200]);
    expect(stale.status).toBe(409);
  });

  it('a session that would outgrow DynamoDB item size is 413, and the stored session is unchanged', async () => {
    // Prepare: each PATCH adds 60 KB of metadata under a new key; DynamoDB refuses items over 400 KB.
    await register('grows');
    const statuses: number[] = [];

    // Act
    for (let i = 0; i < 8; i++) {
      const res = await api.call('PATCH', '/v1/sessions/grows', {
        body: { metadata: { [`blob${i}`]: 'x'.repeat(60_000) } },
      });
      statuses.push(res.status);
    }
    const read = await api.call('GET', '/v1/sessions/grows');

    // Assess
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(statuses.slice(6)).toEqual([413, 413]);
    expect(read.status).toBe(200);
    expect(Object.keys(body<{ metadata: object }>(read).metadata)).toHaveLength(6);
  });

  it('a throttled transaction (after the SDK retries) is 503 with Retry-After', async () => {
    // DynamoDB Local never throttles: the cancellation AWS sends is produced here, in front of the client.
    const throttling = { ...api.ctx };
    const send = (async (command: unknown) => {
      if (command instanceof TransactWriteCommand) {
        throw new TransactionCanceledException({
          message:
            'Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]',
          $metadata: {},
          CancellationReasons: [
            { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity' },
          ],
        });
      }
      return (api.ctx.ddb.send as (c: unknown) => Promise<unknown>)(command);
    }) as AppContext['ddb']['send'];
    const server = await serveTestApi(
      { ...throttling, ddb: { ...api.ctx.ddb, send } as AppContext['ddb'] },
      new Coverage(),
    );
    await register('throttled');

    // Act
    const res = await fetch(`${server.url}/v1/sessions/throttled/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await server.stop();

    // Assess
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
