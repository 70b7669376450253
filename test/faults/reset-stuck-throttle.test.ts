// A reset-stuck batch that DynamoDB throttles part-way has changed some sessions and not others. The answer
// says which (#18 item 7): before, the throttling became a 503 "nothing was changed" while sessions had been
// timed out. Throttling comes from the fault injector on the real client (inside the SDK's retry loop), so
// the SDK retries it as it would AWS's, against DynamoDB Local.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ThrottledError } from '../../shared/domain/errors.ts';
import { resetStuckSessions } from '../../shared/usecases/sessions.ts';
import { body, startTestApi, type TestApi } from '../api/support.ts';
import { manualClock } from '../support/context.ts';
import { injectDynamoFaults } from '../support/faults.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
let api: TestApi;
const IDS = ['thr-1', 'thr-2', 'thr-3', 'thr-4', 'thr-5'];

beforeAll(async () => {
  api = await startTestApi({ clock: clock.clock });
  for (const [i, id] of IDS.entries()) {
    const started = new Date(clock.clock().getTime() - (180 - i) * 60_000).toISOString();
    const res = await api.call('POST', '/v1/sessions', {
      body: { sessionId: id, kind: 'upload', status: 'processing', processingStartedAt: started },
    });
    expect(res.status, res.text).toBe(201);
  }
});

afterAll(async () => {
  await api.stop();
});

interface ResetAnswer {
  dryRun: boolean;
  matched: Array<{ sessionId: string }>;
  changed: number;
  changedSessionIds: string[];
  notChanged: Array<{ sessionId: string; reason: string }>;
  retryAfterSeconds: number | null;
  more: boolean;
  nextCursor: string | null;
  total: { matched: number; changed: number };
}

async function statusOf(id: string): Promise<string> {
  return body<{ status: string }>(await api.call('GET', `/v1/sessions/${id}`)).status;
}

describe('reset-stuck throttled part-way', () => {
  it('answers what it changed and what it did not; the cursor then changes the rest, each once', async () => {
    // Prepare: the first two session writes go through, every later one is throttled (every SDK attempt).
    let writes = 0;
    const injector = injectDynamoFaults(api.as('api').ddb, {
      commands: ['TransactWriteItems'],
      tables: [api.ctx.tables.sessions],
      schedule: (call) => {
        if (call.attempt === 1) writes++;
        return writes > 2 ? { kind: 'throttle', timing: 'before-send' } : undefined;
      },
    });
    // Act
    const res = await api
      .call('POST', '/v1/sessions/reset-stuck', { body: { olderThanMinutes: 60, dryRun: false } })
      .finally(() => injector.remove());
    const statuses = await Promise.all(IDS.map(statusOf));
    // Assess: 200 naming the two it changed and the three it did not, and why.
    expect(res.status, res.text).toBe(200);
    const answer = body<ResetAnswer>(res);
    const changed = IDS.filter((_, i) => statuses[i] === 'timed_out');
    expect(changed).toHaveLength(2);
    expect(answer.changed).toBe(2);
    expect([...answer.changedSessionIds].sort()).toEqual(changed);
    expect(answer.notChanged.map((n) => n.sessionId).sort()).toEqual(
      IDS.filter((id) => !changed.includes(id)),
    );
    expect(answer.notChanged.every((n) => n.reason === 'throttled')).toBe(true);
    expect(answer.retryAfterSeconds).toBeGreaterThan(0);
    expect(answer).toMatchObject({ more: true, nextCursor: expect.any(String) });

    // Act: the operator continues with the cursor once DynamoDB has capacity again.
    const rest = await api.call('POST', '/v1/sessions/reset-stuck', {
      body: { olderThanMinutes: 60, dryRun: false, cursor: answer.nextCursor },
    });
    // Assess: the rest changed, nothing twice, totals add up.
    const after = body<ResetAnswer>(rest);
    expect(rest.status, rest.text).toBe(200);
    expect([...after.changedSessionIds].sort()).toEqual(IDS.filter((id) => !changed.includes(id)));
    expect(after.notChanged).toEqual([]);
    expect(after.total).toEqual({ matched: IDS.length, changed: IDS.length });
    expect(await Promise.all(IDS.map(statusOf))).toEqual(IDS.map(() => 'timed_out'));
  });

  it('refuses with ThrottledError (a 503 with Retry-After) when throttled before it changed anything', async () => {
    // Prepare
    const res0 = await api.call('POST', '/v1/sessions', {
      body: {
        sessionId: 'thr-none',
        kind: 'upload',
        status: 'processing',
        processingStartedAt: new Date(clock.clock().getTime() - 300 * 60_000).toISOString(),
      },
    });
    expect(res0.status).toBe(201);
    const injector = injectDynamoFaults(api.ctx.ddb, {
      commands: ['TransactWriteItems'],
      tables: [api.ctx.tables.sessions],
      schedule: () => ({ kind: 'throttle', timing: 'before-send' }),
    });
    // Act
    const attempt = resetStuckSessions(
      api.ctx,
      { olderThanMinutes: 60, dryRun: false },
      { triggeredBy: 'test' },
    );
    // Assess: nothing was changed, and that is what the refusal says.
    await expect(attempt.finally(() => injector.remove())).rejects.toBeInstanceOf(ThrottledError);
    expect(await statusOf('thr-none')).toBe('processing');
  });
});
