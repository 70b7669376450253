// What the jobs' figures count (#11): each figure is what its name says, against the emulators. `Selected`
// counts the sessions a sweep considered for a claim; `StuckSessions` leaves out sessions that changed under
// the monitor; a re-dispatch counts when this run took the attempt out of the outbox; `successRate` counts a
// session once; a manual run writes no heartbeat, so it cannot hide a schedule that stopped.
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_POLICY } from '../../../shared/domain/retry-policy.ts';
import { metrics } from '../../../shared/observability/metrics.ts';
import { getJobState } from '../../../shared/repositories/jobs.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { claimAttempt, completeDispatch } from '../../../shared/usecases/claim-attempt.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { overrideNextRetry, registerSession, updateSession } from '../../../shared/usecases/sessions.ts';
import { getRecoveryStats } from '../../../shared/usecases/stats.ts';
import { runTimeoutMonitor } from '../../../shared/usecases/timeout-monitor.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { seedSessions, stalledSession } from '../../support/seed.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const DUE = '2026-03-02T09:00:00.000Z';
const MINUTE = 60_000;

/** Sum of each metric's values over the spied calls. */
function emitted(spy: ReturnType<typeof vi.spyOn>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, , value] of spy.mock.calls as Array<[string, unknown, number]>) {
    out[name] = (out[name] ?? 0) + value;
  }
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('job figures', () => {
  it('Selected counts the sessions a sweep considered, not those it skipped after it stopped claiming', async () => {
    // Prepare: one shard, one claim at a time, and the email queue gone: the first dispatch fails and
    // the breaker (limit 1) stops the run from claiming the other four.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({
      clock: clock.clock,
      shards: 1,
      settings: { sweepConcurrency: 1, dispatchFailureLimit: 1 },
    });
    await seedSessions(
      ctx,
      Array.from({ length: 5 }, (_, i) => stalledSession(`sel-${i}`, DUE)),
    );
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: ctx.queues.email.url }));
    const metric = vi.spyOn(metrics, 'addMetric');
    // Act
    const run = await runRecoverySweep(ctx, { trigger: 'schedule' });
    // Assess
    expect(run.status).toBe('failed');
    expect(run.counts.claimed).toBe(1);
    expect(run.counts.selected).toBe(1);
    expect(emitted(metric).Selected).toBe(1);
  });

  it('StuckSessions leaves out a session that was completed while the monitor came to it', async () => {
    // Prepare: a session past its deadline, completed by the product right after the monitor read it.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, shards: 1 });
    await registerSession(
      ctx,
      { sessionId: 'late-1', kind: 'transcription', status: 'processing' },
      { triggeredBy: 'product' },
    );
    clock.advance(40 * MINUTE);
    let completed = false;
    ctx.ddb.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = args.input as { IndexName?: string };
        if (!completed && context.commandName === 'QueryCommand' && input.IndexName === 'deadline') {
          completed = true;
          await updateSession(ctx, 'late-1', { status: 'completed' }, { triggeredBy: 'product' });
        }
        return result;
      },
      { step: 'initialize', name: 'completeUnderTheMonitor' },
    );
    const metric = vi.spyOn(metrics, 'addMetric');
    // Act
    const run = await runTimeoutMonitor(ctx, { trigger: 'schedule' });
    // Assess
    expect(completed).toBe(true);
    expect(run.counts.conflicts).toBe(1);
    expect((await getSession(ctx, 'late-1'))?.status).toBe('completed');
    expect(emitted(metric).StuckSessions).toBe(0);
  });

  it('a re-dispatch counts only when this run took the attempt out of the outbox', async () => {
    // Prepare: a claimer that publishes late; its lease passes, a sweep re-publishes the attempt, and the
    // late claimer completes its own dispatch in between.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, shards: 1 });
    await seedSessions(ctx, [stalledSession('slow-1', DUE)]);
    const seen = (await getSession(ctx, 'slow-1'))!;
    const claimed = await claimAttempt(ctx, seen, DEFAULT_POLICY, {
      owner: 'slow-claimer',
      triggeredBy: 'test',
      leaseSeconds: 60,
      mode: 'sweep',
    });
    clock.advance(5 * MINUTE);
    let lateDispatch: boolean | undefined;
    ctx.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (lateDispatch === undefined && context.commandName === 'SendMessageBatchCommand') {
          lateDispatch = await completeDispatch(ctx, claimed.attempt, {
            policyFor: async () => DEFAULT_POLICY,
          });
        }
        return result;
      },
      { step: 'initialize', name: 'lateClaimerCompletes' },
    );
    // Act
    const run = await runRecoverySweep(ctx, { trigger: 'schedule' });
    // Assess
    expect(lateDispatch).toBe(true);
    expect(run.counts.redispatched).toBe(0);
  });

  it('successRate counts a session that recovered after its last attempt once, as recovered', async () => {
    // Prepare: one retry left; the sweep makes the last attempt (exhausted), then the customer comes back.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, shards: 1 });
    await seedSessions(ctx, [stalledSession('late-win', DUE, { retryCount: 2, maxRetries: 3 })]);
    const run = await runRecoverySweep(ctx, { trigger: 'schedule' });
    expect(run.counts.exhausted).toBe(1);
    clock.advance(10 * MINUTE);
    // Act
    await updateSession(ctx, 'late-win', { status: 'recovered' }, { triggeredBy: 'product' });
    const stats = await getRecoveryStats(ctx, {});
    // Assess
    expect(stats.recovered).toBe(1);
    expect(stats.exhausted).toBe(0);
    expect(stats.successRate).toBe(1);
  });

  it('successRate no longer counts as exhausted a session given more retries after its last attempt', async () => {
    // Prepare: the last attempt exhausts the session; an operator gives it more retries.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, shards: 1 });
    await seedSessions(ctx, [stalledSession('again', DUE, { retryCount: 2, maxRetries: 3 })]);
    expect((await runRecoverySweep(ctx, { trigger: 'schedule' })).counts.exhausted).toBe(1);
    clock.advance(10 * MINUTE);
    // Act
    await overrideNextRetry(ctx, 'again', {}, { triggeredBy: 'operator' });
    const between = await getRecoveryStats(ctx, {});
    await updateSession(ctx, 'again', { status: 'recovered' }, { triggeredBy: 'product' });
    const stats = await getRecoveryStats(ctx, {});
    // Assess
    expect((await getSession(ctx, 'again'))?.status).toBe('recovered');
    expect(between.exhausted).toBe(0);
    expect(between.successRate).toBeNull();
    expect(stats.exhausted).toBe(0);
    expect(stats.successRate).toBe(1);
  });

  it('a manual run writes no heartbeat and emits none: a dead schedule still shows and pages', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, shards: 1 });
    const metric = vi.spyOn(metrics, 'addMetric');
    // Act
    // What run now starts: the job function invoked with a manual event (trigger `manual:<caller>`).
    const manual = await runRecoverySweep(ctx, { trigger: 'manual:operator' });
    const afterManual = await getJobState(ctx, 'recovery-sweep');
    const manualFigures = emitted(metric);
    metric.mockClear();
    clock.advance(MINUTE);
    await runRecoverySweep(ctx, { trigger: 'schedule' });
    const afterSchedule = await getJobState(ctx, 'recovery-sweep');
    // Assess
    expect(manual.status).toBe('succeeded');
    expect(afterManual.lastHeartbeatAt).toBeUndefined();
    expect(afterManual.lastSuccessAt).toBe(manual.finishedAt);
    expect(manualFigures.Heartbeat ?? 0).toBe(0);
    expect(afterSchedule.lastHeartbeatAt).toBe(new Date(clock.clock()).toISOString());
    expect(emitted(metric).Heartbeat).toBe(1);
  });
});
