// reset-stuck is an emergency tool: without `dryRun: false` it changes nothing and lists what it would
// reset; with it, the listed sessions are timed out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESET_STUCK_READ_BUDGET } from '../../shared/domain/session-input.ts';
import { manualClock } from '../support/context.ts';
import { seedSessions, stalledSession } from '../support/seed.ts';
import { body, snapshotTables, startTestApi, type TestApi } from './support.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
  for (const [id, minutes] of [
    ['old-1', 120],
    ['old-2', 90],
    ['young', 10],
  ] as const) {
    const started = new Date(clock.clock().getTime() - minutes * 60_000).toISOString();
    await api.call('POST', '/v1/sessions', {
      body: { sessionId: id, kind: 'upload', status: 'processing', processingStartedAt: started },
    });
  }
});

afterAll(async () => {
  await api.stop();
  await big?.stop();
});

describe('POST /v1/sessions/reset-stuck', () => {
  it('without dryRun in the body changes nothing and lists the matches', async () => {
    // Prepare
    const before = await snapshotTables(api.ctx);
    // Act
    const res = await api.call('POST', '/v1/sessions/reset-stuck', { body: { olderThanMinutes: 60 } });
    // Assess
    expect(res.status).toBe(200);
    expect(body(res).dryRun).toBe(true);
    expect(body(res).changed).toBe(0);
    expect(
      body<{ matched: Array<{ sessionId: string }> }>(res)
        .matched.map((m) => m.sessionId)
        .sort(),
    ).toEqual(['old-1', 'old-2']);
    expect(await snapshotTables(api.ctx)).toEqual(before);
  });

  it('with dryRun: false times out exactly the listed sessions', async () => {
    // Act
    const res = await api.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 60, dryRun: false },
    });
    const statuses = await Promise.all(
      ['old-1', 'old-2', 'young'].map(async (id) => body(await api.call('GET', `/v1/sessions/${id}`)).status),
    );
    // Assess
    expect(body(res)).toMatchObject({ dryRun: false, changed: 2 });
    expect(statuses).toEqual(['timed_out', 'timed_out', 'processing']);
  });
});

interface ResetAnswer {
  dryRun: boolean;
  matched: Array<{ sessionId: string }>;
  changed: number;
  more: boolean;
  nextCursor: string | null;
  total: { matched: number; changed: number };
  matchedIsLowerBound: boolean;
}

let big: TestApi | undefined;

/** Processing sessions started `minutes` ago, written with their index keys (batch writes). */
function processing(prefix: string, count: number, minutes: number, updatedAt: (i: number) => string) {
  const started = new Date(clock.clock().getTime() - minutes * 60_000).toISOString();
  return Array.from({ length: count }, (_, i) =>
    stalledSession(`${prefix}-${String(i).padStart(4, '0')}`, started, {
      status: 'processing',
      nextRetryAt: undefined,
      processingStartedAt: started,
      updatedAt: updatedAt(i),
    }),
  );
}

describe('POST /v1/sessions/reset-stuck, one bounded batch per call', () => {
  // 250 stuck sessions among 1,100 that are processing but young, interleaved in the status index.
  const STUCK = 250;
  const YOUNG = 1100;
  const at = (i: number) => new Date(Date.parse('2026-03-01T00:00:00.000Z') + i * 1000).toISOString();

  beforeAll(async () => {
    big = await startTestApi({ clock: clock.clock });
    await seedSessions(big.ctx, [
      ...processing('stuck', STUCK, 120, (i) => at(i * 5)),
      ...processing('young', YOUNG, 5, (i) => at(i + 1)),
    ]);
  }, 120_000);

  async function follow(first: Record<string, unknown>): Promise<ResetAnswer[]> {
    const answers: ResetAnswer[] = [];
    let cursor: string | null = null;
    do {
      const res = await big!.call('POST', '/v1/sessions/reset-stuck', {
        body: { ...first, ...(cursor ? { cursor } : {}) },
      });
      expect(res.status, res.text).toBe(200);
      answers.push(body<ResetAnswer>(res));
      cursor = body<ResetAnswer>(res).nextCursor;
    } while (cursor && answers.length < 50);
    return answers;
  }

  it('a dry run answers at most `limit` matches per call with more and a cursor; following it counts each once', async () => {
    // Prepare
    const before = await snapshotTables(big!.ctx);
    // Act
    const answers = await follow({ olderThanMinutes: 60, limit: 100 });
    // Assess
    const first = answers[0]!;
    expect(first.matched.length).toBeLessThanOrEqual(100);
    expect(first).toMatchObject({ more: true, matchedIsLowerBound: true, nextCursor: expect.any(String) });
    const last = answers.at(-1)!;
    expect(last).toMatchObject({ more: false, nextCursor: null, matchedIsLowerBound: false });
    expect(last.total).toEqual({ matched: STUCK, changed: 0 });
    const ids = answers.flatMap((a) => a.matched.map((m) => m.sessionId));
    expect(ids).toHaveLength(STUCK);
    expect(new Set(ids).size).toBe(STUCK);
    // No call reads more than its budget: 1,350 entries need at least two calls even with limit 500.
    expect(answers.length).toBeGreaterThanOrEqual(Math.ceil((STUCK + YOUNG) / RESET_STUCK_READ_BUDGET));
    expect(await snapshotTables(big!.ctx)).toEqual(before);
  });

  it('a call that reads its budget without a match still answers more and a cursor', async () => {
    // Act: limit 500, but the first 1,000 entries of the index hold at most 200 stuck sessions.
    const res = await big!.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 60, limit: 500 },
    });
    // Assess
    expect(body<ResetAnswer>(res).matched.length).toBeLessThan(STUCK);
    expect(body<ResetAnswer>(res)).toMatchObject({ more: true, matchedIsLowerBound: true });
  });

  it('executed, following the cursors times out every stuck session once and no young one', async () => {
    // Act
    const answers = await follow({ olderThanMinutes: 60, dryRun: false, limit: 100 });
    const young = await big!.call('GET', '/v1/sessions/young-0000');
    // Assess
    expect(answers.at(-1)?.total).toEqual({ matched: STUCK, changed: STUCK });
    expect(answers.every((a) => a.changed === a.matched.length)).toBe(true);
    expect(body(young).status).toBe('processing');
    expect(body(await big!.call('GET', '/v1/sessions/stuck-0249')).status).toBe('timed_out');
  });

  it('refuses a cursor given with other filters, or altered (400 naming body.cursor)', async () => {
    // Prepare
    const first = await big!.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 1, limit: 1 },
    });
    const cursor = body<ResetAnswer>(first).nextCursor!;
    // Act
    const otherFilter = await big!.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 2, limit: 1, cursor },
    });
    const altered = await big!.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 1, limit: 1, cursor: `${cursor.slice(0, -2)}AA` },
    });
    const tooMany = await big!.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 1, limit: 501 },
    });
    // Assess
    for (const res of [otherFilter, altered, tooMany]) expect(res.status).toBe(400);
    expect(otherFilter.text).toContain('body.cursor');
    expect(altered.text).toContain('body.cursor');
  });
});
