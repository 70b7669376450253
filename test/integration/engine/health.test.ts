// Session health within the API's ceiling (#11): /health/sessions reads counters (the status gauges and what
// the timeout monitor last found), never the `deadline` index; /health/sessions/stuck lists the oldest
// deadlines first, capped, with the monitor's count.
import { describe, expect, it } from 'vitest';
import { checkReadiness, getSessionsHealth, listStuckSessions } from '../../../shared/usecases/health.ts';
import { runTimeoutMonitor } from '../../../shared/usecases/timeout-monitor.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { countDynamoCalls } from '../../support/ddb-counter.ts';
import { seedSessions, stalledSession } from '../../support/seed.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const MINUTE = 60_000;

/** A session processing since `minutesAgo`, its deadline `overdue` minutes ago. */
function overdue(id: string, minutesAgo: number, overdueMinutes: number) {
  const now = Date.parse(T0);
  return stalledSession(id, T0, {
    status: 'processing',
    kind: 'transcription',
    nextRetryAt: undefined,
    processingStartedAt: new Date(now - minutesAgo * MINUTE).toISOString(),
    deadlineAt: new Date(now - overdueMinutes * MINUTE).toISOString(),
  });
}

describe('session health', () => {
  it('counts what the monitor last found, reading no index', async () => {
    // Prepare: two sessions past their deadline; the monitor's time-out of one fails (DynamoDB refuses it).
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [overdue('late-a', 90, 30), overdue('late-b', 80, 20)]);
    ctx.ddb.middlewareStack.add(
      (next) => async (args) => {
        if (JSON.stringify(args.input).includes('"late-b"') && 'TransactItems' in (args.input as object)) {
          throw new Error('injected: DynamoDB unavailable for late-b');
        }
        return next(args);
      },
      { step: 'initialize', name: 'failLateB' },
    );
    const before = await getSessionsHealth(ctx);
    const run = await runTimeoutMonitor(ctx, { trigger: 'schedule' });
    const calls = countDynamoCalls(ctx.ddb);
    // Act
    const health = await getSessionsHealth(ctx);
    // Assess
    expect(before.status).toBe('unknown');
    expect(before.measured.at).toBeNull();
    expect(run.counts.timedOut).toBe(1);
    expect(run.counts.errors).toBe(1);
    expect(health.metrics.stuckSessions).toBe(1);
    expect(health.status).toBe('critical');
    expect(health.measured).toMatchObject({ at: T0, complete: true });
    expect(calls.calls.QueryCommand ?? 0).toBeLessThanOrEqual(1);
    expect(calls.calls.ScanCommand ?? 0).toBe(0);
  });

  it('is unknown, and readyz degraded, before the monitor has measured and when its last count is older than two intervals', async () => {
    // Prepare: a session processing for 3 hours, past its deadline; the monitor runs every 5 min.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [overdue('three-hours', 180, 150)]);
    // Act: before any monitor run; right after one; then with the monitor stopped for 11 minutes.
    const never = await getSessionsHealth(ctx);
    const neverReady = await checkReadiness(ctx);
    await runTimeoutMonitor(ctx, { trigger: 'schedule' });
    clock.advance(9 * MINUTE);
    const fresh = await getSessionsHealth(ctx);
    const freshReady = await checkReadiness(ctx);
    clock.advance(2 * MINUTE);
    const stale = await getSessionsHealth(ctx);
    const staleReady = await checkReadiness(ctx);
    // Assess
    expect(never.status).toBe('unknown');
    expect(never.measured.at).toBeNull();
    expect(never.metrics.stuckSessions).toBeNull();
    expect(neverReady.components.sessions).toMatchObject({ status: 'degraded', measuredAt: null });
    // The monitor timed it out: measured, and nothing stuck any more.
    expect(fresh.status).toBe('healthy');
    expect(fresh.metrics.stuckSessions).toBe(0);
    expect(freshReady.components.sessions.status).toBe('ok');
    expect(stale.status).toBe('unknown');
    expect(stale.measured).toMatchObject({ at: T0, ageSeconds: 660, maxAgeSeconds: 600 });
    expect(staleReady.components.sessions).toMatchObject({ status: 'degraded', measuredAt: T0 });
  });

  it('lists the oldest deadlines first, at most 100, whatever shard they sit in', async () => {
    // Prepare: 130 sessions past their deadline, one minute apart, over 4 shards.
    const { ctx } = await createTestContext({ clock: manualClock(T0).clock, shards: 4 });
    await seedSessions(
      ctx,
      Array.from({ length: 130 }, (_, i) => overdue(`stuck-${i}`, 300, 10 + i)),
    );
    // Act
    const stuck = await listStuckSessions(ctx);
    // Assess: the 100 most overdue (deadlines 139 down to 40 minutes ago), the most overdue first.
    expect(stuck.stuckSessions).toHaveLength(100);
    expect(stuck.stuckSessions[0]?.id).toBe('stuck-129');
    expect(stuck.stuckSessions.at(-1)?.id).toBe('stuck-30');
    expect(stuck.count).toBe(100);
    expect(stuck.countAt).toBeNull();
  });
});
