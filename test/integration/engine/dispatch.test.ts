// An attempt counts when it leaves the outbox (issue #10, item 1), on the emulators with a real fault: the
// email queue is deleted (DeleteQueue on the SQS emulator), as a lost queue or a lost `sqs:SendMessage` grant
// looks to the sweep. Each case failed on the code before: sessions stacked an attempt per sweep while none
// could be dispatched, the runs succeeded with consecutiveFailures 0, readyz said ok, an ops alert that could
// not be published was lost, and a reminder still on its queue was superseded by the next one.
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { createChannelQueue } from '../../../local/resources.ts';
import type { AppContext } from '../../../shared/context.ts';
import { OPS_ALERT_OUTBOX, outboxFields, putOpsAlertItem } from '../../../shared/repositories/attempts.ts';
import { getJobState } from '../../../shared/repositories/jobs.ts';
import { createPolicy } from '../../../shared/repositories/policies.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { staticChannelConfig } from '../../../shared/senders/config.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { createSenderHandler } from '../../../shared/senders/handler.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { DEFAULT_SETTINGS, type Settings } from '../../../shared/settings.ts';
import { checkReadiness } from '../../../shared/usecases/health.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { retryNow } from '../../../shared/usecases/retry-now.ts';
import { registerSession } from '../../../shared/usecases/sessions.ts';
import { runTimeoutMonitor } from '../../../shared/usecases/timeout-monitor.ts';
import { invokeLikeMapping, receiveEvent } from '../../soak/sqs-mapping.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { receiveAllBodies } from '../../support/queues.ts';
import { attemptItems, scanAll, seedSessions, stalledSession } from '../../support/seed.ts';
import { receiverConfigs } from '../senders/fixtures.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const DUE = '2026-03-02T09:00:00.000Z';
const HOUR = 3_600_000;

async function outageContext(settings: Partial<Settings> = {}) {
  const clock = manualClock(T0);
  const test = await createTestContext({ clock: clock.clock, shards: 2, settings });
  const deleteEmailQueue = () =>
    test.ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: test.ctx.queues.email.url }));
  const recreateEmailQueue = () => createChannelQueue(test.ctx.sqs, test.names.prefix, 'email');
  return { ...test, clock, deleteEmailQueue, recreateEmailQueue };
}

/** Delivers what the email queue holds through the real email sender (SES emulator), as the mapping would. */
async function deliverEmails(ctx: AppContext, sesEndpoint: string): Promise<void> {
  const config = receiverConfigs({ env: {}, urls: {} } as never, sesEndpoint);
  const handler = createSenderHandler('email', {
    ctx,
    clock: () => new Date(),
    config: staticChannelConfig({ email: config.email }),
    providers: cachedProviders(() => new Date(), createProvider),
    log: { info: () => {}, warn: () => {}, error: () => {} },
  });
  const event = await receiveEvent(ctx.sqs, ctx.queues.email.url, { visibilitySeconds: 30, timeoutMs: 5000 });
  await invokeLikeMapping(ctx.sqs, ctx.queues.email.url, handler, event);
}

describe('an attempt counts when it leaves the outbox', () => {
  it('while the queue is gone no session stacks attempts or exhausts; runs fail, readyz errs; once back each attempt goes out once and the next delay runs from there', async () => {
    // Prepare
    const { ctx, clock, deleteEmailQueue, recreateEmailQueue } = await outageContext();
    const ids = ['lost-1', 'lost-2', 'lost-3'];
    await seedSessions(
      ctx,
      ids.map((id) => stalledSession(id, DUE, { maxRetries: 2 })),
    );
    await deleteEmailQueue();

    // Act: the first sweep claims and cannot publish; hours pass, sweeps keep running.
    const first = await runRecoverySweep(ctx, { trigger: 'test' });
    const during: Array<Awaited<ReturnType<typeof runRecoverySweep>>> = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(2 * HOUR);
      during.push(await runRecoverySweep(ctx, { trigger: 'test' }));
    }
    const job = await getJobState(ctx, 'recovery-sweep');
    const ready = await checkReadiness(ctx);
    const attemptsDuring = await attemptItems(ctx);
    const sessionsDuring = await Promise.all(ids.map((id) => getSession(ctx, id)));

    await recreateEmailQueue();
    clock.advance(2 * 60_000);
    const healed = await runRecoverySweep(ctx, { trigger: 'test' });
    const dispatchedAt = clock.clock().toISOString();
    const after = await Promise.all(ids.map((id) => getSession(ctx, id)));
    const readyAfter = await checkReadiness(ctx);
    const jobAfter = await getJobState(ctx, 'recovery-sweep');
    const messages = await receiveAllBodies(ctx, ctx.queues.email.url);

    // Assess: one attempt per session, queued, none exhausted; every run failed and said why.
    expect(first.status).toBe('failed');
    expect(first.error).toMatch(/could not leave the outbox/);
    expect(during.map((r) => [r.status, r.counts.claimed])).toEqual([
      ['failed', 0],
      ['failed', 0],
      ['failed', 0],
    ]);
    expect(attemptsDuring).toHaveLength(3);
    expect(attemptsDuring.every((a) => a.state === 'queued' && a.lastDispatchError)).toBe(true);
    expect(sessionsDuring.map((s) => [s?.status, s?.retryCount, s?.pendingAttempt?.number])).toEqual(
      ids.map(() => ['recovering', 1, 1]),
    );
    expect(job.consecutiveFailures).toBe(4);
    expect(job.lastError).toMatch(/email queue/);
    expect(ready.status).toBe('error');
    expect(ready.components.dispatch.status).toBe('error');
    expect(during.at(-1)?.outboxOldestAgeSeconds).toBeGreaterThan(6 * 3600 - 1);

    expect(healed.status).toBe('succeeded');
    expect(healed.counts.redispatched).toBe(3);
    expect(healed.counts.claimed).toBe(0);
    expect(messages).toHaveLength(3);
    expect(jobAfter.consecutiveFailures).toBe(0);
    expect(readyAfter.components.dispatch.status).toBe('ok');
    for (const s of after) {
      expect(s?.pendingAttempt).toBeUndefined();
      expect(s?.dispatchedAt).toBe(dispatchedAt);
      // Default policy: attempt 2 comes 2 h after attempt 1 left the outbox, not after it was claimed.
      expect(s?.nextRetryAt).toBe(new Date(Date.parse(dispatchedAt) + 2 * HOUR).toISOString());
    }
  });

  it('consecutiveFailures keeps counting through a run that claims nothing while the outage lasts, until a dispatch succeeds', async () => {
    // Prepare: one attempt could not leave; the next run comes before its dispatch lease has passed, with
    // nothing new due, so it neither claims nor re-dispatches anything.
    const { ctx, clock, deleteEmailQueue, recreateEmailQueue } = await outageContext();
    await seedSessions(ctx, [stalledSession('quiet-outage-1', DUE)]);
    await deleteEmailQueue();
    const first = await runRecoverySweep(ctx, { trigger: 'test' });

    // Act
    clock.advance(10_000);
    const idle = await runRecoverySweep(ctx, { trigger: 'test' });
    const during = await getJobState(ctx, 'recovery-sweep');
    await recreateEmailQueue();
    clock.advance(2 * 60_000);
    const healed = await runRecoverySweep(ctx, { trigger: 'test' });
    const after = await getJobState(ctx, 'recovery-sweep');

    // Assess: the idle run says dispatch is still failing and counts; the first successful dispatch resets.
    expect(first.status).toBe('failed');
    expect([idle.counts.claimed, idle.counts.redispatched]).toEqual([0, 0]);
    expect(idle.status).toBe('failed');
    expect(idle.error).toMatch(/no dispatch has succeeded since/);
    expect(during.consecutiveFailures).toBe(2);
    expect(during.lastError).toMatch(/email queue/);
    expect(healed.counts.redispatched).toBe(1);
    expect(after.consecutiveFailures).toBe(0);
  });

  it('a re-dispatch sends only the channels a failed dispatch did not get out', async () => {
    // Prepare: email and slack; only the email queue is gone.
    const { ctx, clock, deleteEmailQueue, recreateEmailQueue } = await outageContext();
    await createPolicy(
      ctx,
      {
        name: 'two channels',
        orgId: 'partial',
        active: true,
        maxRetries: 2,
        initialDelaySeconds: 3600,
        backoffMultiplier: 1,
        maxDelaySeconds: 3600,
        jitter: 'none',
        enabledChannels: ['email', 'slack'],
      },
      { triggeredBy: 'test', at: clock.clock() },
    );
    await seedSessions(ctx, [stalledSession('partial-1', DUE, { orgId: 'partial', policyId: undefined })]);
    await deleteEmailQueue();

    // Act
    await runRecoverySweep(ctx, { trigger: 'test' });
    const [queued] = await attemptItems(ctx);
    await recreateEmailQueue();
    clock.advance(2 * 60_000);
    const healed = await runRecoverySweep(ctx, { trigger: 'test' });

    // Assess
    expect([...((queued?.publishedChannels as Set<string>) ?? [])]).toEqual(['slack']);
    expect(healed.counts.redispatched).toBe(1);
    expect(await receiveAllBodies(ctx, ctx.queues.slack.url)).toHaveLength(1);
    expect(await receiveAllBodies(ctx, ctx.queues.email.url)).toHaveLength(1);
  });

  it('after K dispatch failures in a row a sweep stops claiming and ends failed with the error', async () => {
    // Prepare
    const { ctx, deleteEmailQueue } = await outageContext({ sweepConcurrency: 1, dispatchFailureLimit: 3 });
    const ids = Array.from({ length: 10 }, (_, i) => `breaker-${i}`);
    await seedSessions(
      ctx,
      ids.map((id) => stalledSession(id, DUE)),
    );
    await deleteEmailQueue();

    // Act
    const run = await runRecoverySweep(ctx, { trigger: 'test' });
    const sessions = await Promise.all(ids.map((id) => getSession(ctx, id)));

    // Assess
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/stopped claiming/);
    expect(run.counts.claimed).toBe(3);
    expect(sessions.filter((s) => s?.retryCount === 0)).toHaveLength(7);
    expect((await getJobState(ctx, 'recovery-sweep')).consecutiveFailures).toBe(1);
  });

  it('retry-now refuses a session whose attempt is still in the outbox (409), naming it', async () => {
    // Prepare
    const { ctx, deleteEmailQueue } = await outageContext();
    await seedSessions(ctx, [stalledSession('pending-retry', DUE)]);
    await deleteEmailQueue();
    await runRecoverySweep(ctx, { trigger: 'test' });

    // Act
    const refused = retryNow(ctx, 'pending-retry', { triggeredBy: 'op', owner: 'op' });

    // Assess
    await expect(refused).rejects.toMatchObject({ code: 'conflict' });
    await expect(refused).rejects.toThrow(/attempt 1 .* has not left the outbox/);
    expect(await attemptItems(ctx)).toHaveLength(1);
  });
});

describe('the next attempt waits for the previous one to reach a person', () => {
  it('a due attempt is deferred while the previous one is still on its queue, then claimed; nothing is superseded', async () => {
    // Prepare
    const { ctx, clock, endpoints } = await outageContext();
    await seedSessions(ctx, [stalledSession('backlog', DUE)]);
    await runRecoverySweep(ctx, { trigger: 'test' });
    clock.advance(2 * HOUR + 60_000);

    // Act: attempt 2 is due, but attempt 1's email still waits on the queue (no sender ran yet).
    const waiting = await runRecoverySweep(ctx, { trigger: 'test' });
    const deferred = (await scanAll(ctx, ctx.tables.timeline)).filter((e) => e.type === 'deferred');
    const retryRefused = retryNow(ctx, 'backlog', { triggeredBy: 'op', owner: 'op' });
    await expect(retryRefused).rejects.toThrow(
      /attempt 1's notifications on email have no final outcome yet/,
    );
    await deliverEmails(ctx, endpoints.ses);
    clock.advance(5 * 60_000);
    const after = await runRecoverySweep(ctx, { trigger: 'test' });
    await deliverEmails(ctx, endpoints.ses);
    const outcomes = (await scanAll(ctx, ctx.tables.timeline)).filter((e) => e.type === 'notification');

    // Assess
    expect([waiting.counts.claimed, waiting.counts.deferred]).toEqual([0, 1]);
    expect(deferred).toHaveLength(1);
    expect(deferred[0]).toMatchObject({ number: 2, waitingFor: ['email'] });
    expect([after.counts.claimed, after.counts.deferred]).toEqual([1, 0]);
    expect(outcomes.map((o) => [o.number, o.status, o.reason ?? null]).sort()).toEqual([
      [1, 'sent', null],
      [2, 'sent', null],
    ]);
  });

  it('a channel that stays down delays the next attempt by the bounded wait past its due time, no more', async () => {
    // Prepare: the default wait, 1 h.
    const { ctx, clock } = await outageContext();
    await seedSessions(ctx, [stalledSession('stays-down', DUE)]);
    await runRecoverySweep(ctx, { trigger: 'test' });
    const dispatchedAt = Date.parse((await getSession(ctx, 'stays-down'))?.dispatchedAt ?? '');

    // Act: sweeps every 10 minutes; nothing ever consumes the email queue.
    const claimedAt: number[] = [];
    for (let t = 0; t < 4 * 6; t++) {
      clock.advance(10 * 60_000);
      const run = await runRecoverySweep(ctx, { trigger: 'test' });
      if (run.counts.claimed) claimedAt.push(clock.clock().getTime());
    }

    // Assess: attempt 2 was due at +2 h; it went when the 1 h wait past that ended, at the first sweep after.
    expect(claimedAt).toHaveLength(1);
    expect(claimedAt[0]! - dispatchedAt).toBeGreaterThanOrEqual(3 * HOUR);
    expect(claimedAt[0]! - dispatchedAt).toBeLessThanOrEqual(3 * HOUR + 10 * 60_000);
  });
});

describe('the timeout monitor alert goes through the outbox', () => {
  it('an alert that cannot be published fails the run and is published by the next run', async () => {
    // Prepare
    const { ctx: base, clock, deleteEmailQueue, recreateEmailQueue } = await outageContext();
    const ctx: AppContext = {
      ...base,
      settings: { ...DEFAULT_SETTINGS, opsRecipients: { email: ['oncall@example.com'] } },
    };
    await registerSession(
      ctx,
      { sessionId: 'stuck-alert', kind: 'transcription', status: 'processing' },
      { triggeredBy: 'product' },
    );
    clock.advance(2 * HOUR);
    await deleteEmailQueue();

    // Act
    const failed = await runTimeoutMonitor(ctx, { trigger: 'test' });
    await recreateEmailQueue();
    clock.advance(2 * 60_000);
    const next = await runTimeoutMonitor(ctx, { trigger: 'test' });
    const alerts = await receiveAllBodies(ctx, ctx.queues.email.url);

    // Assess
    expect(failed.status).toBe('failed');
    expect(failed.counts.timedOut).toBe(1);
    expect(failed.error).toMatch(/waits in the outbox/);
    expect(next.status).toBe('succeeded');
    expect(next.counts.redispatched).toBe(1);
    expect(alerts).toEqual([
      expect.objectContaining({
        type: 'ops_alert',
        alertId: failed.runId,
        summary: expect.stringMatching(/1 session\(s\) timed out/),
      }),
    ]);
  });
});

describe('attempts and ops alerts wait in separate outboxes', () => {
  /** One shard, an ops recipient, and a session that runs long at every monitor run (threshold 0). */
  async function mixedOutbox() {
    const clock = manualClock(T0);
    const { ctx, names } = await createTestContext({
      clock: clock.clock,
      shards: 1,
      settings: {
        opsRecipients: { email: ['oncall@example.com'] },
        maxLongRunning: 0,
        dispatchFailureLimit: 1000,
      },
    });
    const deleteEmailQueue = () => ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: ctx.queues.email.url }));
    const recreateEmailQueue = () => createChannelQueue(ctx.sqs, names.prefix, 'email');
    await registerSession(
      ctx,
      { sessionId: 'long-runner', kind: 'transcription', status: 'processing' },
      { triggeredBy: 'product' },
    );
    clock.advance(20 * 60_000);
    await deleteEmailQueue();
    return { ctx, clock, recreateEmailQueue };
  }

  it('100 waiting ops alerts hide no attempt from the sweep', async () => {
    // Prepare: 100 monitor runs whose alert could not be published, then an attempt that could not leave.
    const { ctx, clock, recreateEmailQueue } = await mixedOutbox();
    for (let i = 0; i < 100; i++) await runTimeoutMonitor(ctx, { trigger: 'test' });
    clock.advance(1000);
    await seedSessions(ctx, [stalledSession('behind-alerts', DUE)]);
    const claimed = await runRecoverySweep(ctx, { trigger: 'test' });
    await recreateEmailQueue();
    clock.advance(2 * 60_000);
    // Act
    const healed = await runRecoverySweep(ctx, { trigger: 'test' });
    // Assess
    expect(claimed.counts.claimed).toBe(1);
    expect(healed.counts.redispatched).toBe(1);
    expect((await getSession(ctx, 'behind-alerts'))?.pendingAttempt).toBeUndefined();
  });

  it('100 waiting attempts hide no ops alert from the monitor (the alert about that very outage)', async () => {
    // Prepare: 100 attempts that could not leave, then the monitor's alert, which could not either.
    const { ctx, clock, recreateEmailQueue } = await mixedOutbox();
    await seedSessions(
      ctx,
      Array.from({ length: 100 }, (_, i) => stalledSession(`ahead-${i}`, DUE)),
    );
    const claimed = await runRecoverySweep(ctx, { trigger: 'test' });
    clock.advance(1000);
    const alerted = await runTimeoutMonitor(ctx, { trigger: 'test' });
    await recreateEmailQueue();
    clock.advance(2 * 60_000);
    // Act
    const next = await runTimeoutMonitor(ctx, { trigger: 'test' });
    const alerts = (await receiveAllBodies(ctx, ctx.queues.email.url)) as Array<{ alertId?: string }>;
    // Assess
    expect(claimed.counts.claimed).toBe(100);
    expect(alerted.status).toBe('failed');
    expect(next.counts.redispatched).toBe(1);
    expect(alerts.map((a) => a.alertId)).toContain(alerted.runId);
  });

  it('an ops alert written before the split (in an attempts shard) is moved by the sweep and published by the monitor', async () => {
    // Prepare: a waiting alert as the code before wrote it, in numbered shard 0.
    const { ctx, clock, recreateEmailQueue } = await mixedOutbox();
    await recreateEmailQueue();
    const at = clock.clock().toISOString();
    const alertId = 'legacy-alert-1';
    await putOpsAlertItem(ctx, {
      sessionId: `ops#${alertId}`,
      sk: 'alert',
      type: 'ops_alert',
      alertId,
      at,
      state: 'queued',
      messages: [
        {
          v: 1,
          type: 'ops_alert',
          templateId: 'ops_alert',
          channel: 'email',
          recipient: 'oncall@example.com',
          alertId,
          source: 'timeout-monitor',
          severity: 'warning',
          summary: 'legacy',
          data: {},
          createdAt: at,
        },
      ],
      ...outboxFields(alertId, at, 1, 'old-monitor'),
    });
    clock.advance(2 * 60_000);
    // Act
    await runRecoverySweep(ctx, { trigger: 'test' });
    const moved = (await scanAll(ctx, ctx.tables.timeline)).find((i) => i.sessionId === `ops#${alertId}`);
    const monitor = await runTimeoutMonitor(ctx, { trigger: 'test' });
    const alerts = (await receiveAllBodies(ctx, ctx.queues.email.url)) as Array<{ alertId?: string }>;
    // Assess
    expect(moved?.outboxShard).toBe(OPS_ALERT_OUTBOX);
    expect(monitor.counts.redispatched).toBe(1);
    expect(alerts.map((a) => a.alertId)).toContain(alertId);
  });
});
