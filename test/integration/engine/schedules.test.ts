// Schedules behave as written (issue #10, item 7). Each case failed on the code before: a new stall's fresh
// budget continued the backoff where the old one stopped (delay(4) instead of delay(1)); readyz read job
// heartbeats against a fixed 3-minute TTL, so a sweep deployed every 10 minutes read as down and a disabled
// schedule as an outage (503) forever; a recovered timed-out session kept its timeout's error.

import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../../shared/repositories/policies.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { DEFAULT_SETTINGS } from '../../../shared/settings.ts';
import { checkReadiness } from '../../../shared/usecases/health.ts';
import { previewPolicy } from '../../../shared/usecases/policy-preview.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import {
  recoverTimedOut,
  registerSession,
  resetStuckSessions,
  updateSession,
} from '../../../shared/usecases/sessions.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { scanAll } from '../../support/seed.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const audit = { triggeredBy: 'product' };

describe('schedules behave as written', () => {
  it("a new stall's fresh budget restarts the backoff at delay(1), and the preview says so", async () => {
    // Prepare: 2 retries, 60 s then 120 s; no sender runs, so attempts do not wait for outcomes.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, settings: { outcomeWaitSeconds: 0 } });
    const policy = await createPolicy(
      ctx,
      {
        name: 'short',
        maxRetries: 2,
        initialDelaySeconds: 60,
        backoffMultiplier: 2,
        maxDelaySeconds: 3600,
        jitter: 'none',
        enabledChannels: ['email'],
        orgId: 'budget',
        active: true,
      },
      { triggeredBy: 'test', at: clock.clock() },
    );
    await registerSession(
      ctx,
      {
        sessionId: 'budget',
        kind: 'checkout',
        status: 'stalled',
        orgId: 'budget',
        contact: { email: 'a@example.com' },
      },
      audit,
    );
    for (let i = 0; i < 2; i++) {
      clock.advance(10 * 60_000);
      await runRecoverySweep(ctx, { trigger: 'test' });
    }
    const exhausted = await getSession(ctx, 'budget');

    // Act
    const stalledAgain = await updateSession(ctx, 'budget', { status: 'stalled' }, audit);
    const preview = await previewPolicy(ctx, policy.policyId, { sessionId: 'budget' });

    // Assess
    expect(exhausted?.status).toBe('exhausted');
    expect(stalledAgain.maxRetries).toBe(4);
    expect(stalledAgain.nextRetryAt).toBe(new Date(clock.clock().getTime() + 60_000).toISOString());
    expect(preview.schedule.map((s) => [s.attempt, s.delaySeconds])).toEqual([
      [3, 60],
      [4, 120],
    ]);
  });

  it('readyz reads heartbeats against the configured schedule, and a disabled schedule is not an outage', async () => {
    // Prepare: the sweep runs every 10 minutes, the monitor's schedule is disabled (its last run long ago).
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({
      clock: clock.clock,
      settings: {
        schedules: {
          'recovery-sweep': { rateSeconds: 600, enabled: true },
          'timeout-monitor': { rateSeconds: 300, enabled: false },
        },
      },
    });
    for (const job of ['recovery-sweep', 'timeout-monitor']) {
      await ctx.ddb.send(
        new PutCommand({
          TableName: ctx.tables.control,
          Item: {
            pk: 'job',
            sk: job,
            name: job,
            lastHeartbeatAt: new Date(clock.clock().getTime() - 15 * 60_000).toISOString(),
            consecutiveFailures: 0,
          },
        }),
      );
    }

    // Act
    const ready = await checkReadiness(ctx);
    clock.advance(20 * 60_000);
    const late = await checkReadiness(ctx);

    // Assess: 15 min since a 10-minute sweep ran is within its 30 min; 35 min is not.
    expect(ready.components.jobs).toMatchObject({
      status: 'ok',
      'recovery-sweep': { status: 'ok', heartbeatTtlSeconds: 1800 },
      'timeout-monitor': { status: 'ok', schedule: 'disabled' },
    });
    expect(late.components.jobs).toMatchObject({ 'recovery-sweep': { status: 'error' } });
  });

  it('a recovered timed-out session goes back to processing without its timeout error; the timeline keeps it', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, settings: DEFAULT_SETTINGS });
    await registerSession(ctx, { sessionId: 'back', kind: 'transcription', status: 'processing' }, audit);
    clock.advance(3 * 3600_000);
    await resetStuckSessions(ctx, { olderThanMinutes: 60, dryRun: false }, { triggeredBy: 'op' });

    // Act
    const recovered = await recoverTimedOut(ctx, 'back', { triggeredBy: 'op' });
    const timeline = (await scanAll(ctx, ctx.tables.timeline)).filter((e) => e.sessionId === 'back');

    // Assess
    expect(recovered.status).toBe('processing');
    expect(recovered).not.toHaveProperty('error');
    expect(recovered).not.toHaveProperty('timedOutAt');
    expect(recovered).not.toHaveProperty('previousStatus');
    expect(timeline.find((e) => e.type === 'reset')).toMatchObject({
      error: expect.stringMatching(/reset by operator/),
    });
  });
});
