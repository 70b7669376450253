// Every point where a sweep can die between DynamoDB and SQS, and what the next sweeps make of it: each
// attempt reaches its channel queues after recovery, exactly once per crash point as the design predicts
// (once when the crash came before publishing, twice when it came after), and the sender's idempotent
// outcome write turns the second copy into nothing.
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../../shared/context.ts';
import type { Channel } from '../../shared/infra/resources.ts';
import type { RecoveryMessage } from '../../shared/messages.ts';
import type { NotificationProvider } from '../../shared/providers/types.ts';
import { getSession } from '../../shared/repositories/sessions.ts';
import type { ChannelConfig } from '../../shared/senders/config.ts';
import { type DeliveryDeps, deliverMessage } from '../../shared/senders/deliver.ts';
import { runRecoverySweep, SimulatedCrash } from '../../shared/usecases/recovery-sweep.ts';
import { createTestContext, manualClock } from '../support/context.ts';
import { crashAt, crashFraction, leaseExpiryMs, sweepCrasher, sweepUntilQuiet } from '../support/faults.ts';
import { seedSessions, stalledSession } from '../support/seed.ts';
import { allAttempts, copiesByAttempt, countBySessionAndNumber, drainQueue, putPolicy } from './support.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const DUE = '2026-03-02T09:00:00.000Z';
/** Two channels, so "one SendMessageBatch per channel" and "copies per channel" are both visible. */
const CHANNELS: Channel[] = ['email', 'slack'];

/** A policy whose second retry is a day away: recovery (minutes of clock) never makes attempt 2. */
async function twoChannelSession(ctx: AppContext, id: string) {
  const policy = await putPolicy(ctx, {
    policyId: 'pol-two-channels',
    initialDelaySeconds: 86400,
    backoffMultiplier: 1,
    maxDelaySeconds: 86400,
    enabledChannels: CHANNELS,
  });
  await seedSessions(ctx, [
    stalledSession(id, DUE, {
      policyId: policy.policyId,
      contact: { email: `${id}@example.com`, slackChannel: '#recovery' },
    }),
  ]);
}

/** A sender wired to a provider that only counts: what matters here is the outcome write in front of it. */
function countingSender(ctx: AppContext, clock: () => Date) {
  const sends: Array<{ channel: Channel; attemptId: string }> = [];
  const config = async (channel: Channel): Promise<ChannelConfig> =>
    channel === 'email'
      ? {
          enabled: true,
          channel,
          fromAddress: 'recovery@example.com',
          unsubscribe: {
            key: 'test-unsubscribe-key-0123456789abcdef',
            publicBaseUrl: 'http://127.0.0.1:3000',
          },
          timeoutMs: 1000,
        }
      : {
          enabled: true,
          channel: 'slack',
          webhookUrl: 'https://hooks.slack.com/services/T0/B0/x',
          timeoutMs: 1000,
        };
  const providers = (cfg: { channel: Channel }): NotificationProvider => ({
    channel: cfg.channel,
    name: 'counting',
    send: async (message) => {
      const attemptId = message.type === 'recovery' ? message.attemptId : message.alertId;
      sends.push({ channel: cfg.channel, attemptId });
      return { providerMessageId: `pm-${sends.length}` };
    },
  });
  const deps: DeliveryDeps = { ctx, clock, config, providers, log: { info() {}, warn() {}, error() {} } };
  return { sends, deliver: (m: RecoveryMessage) => deliverMessage(deps, m) };
}

describe('sweep crash points', () => {
  it('a crash after the claim transaction (before publishing) is re-dispatched once, after both leases, and never earlier', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await twoChannelSession(ctx, 'cp-claim');
    const crasher = sweepCrasher(crashAt.every('afterClaim'));
    await expect(runRecoverySweep(ctx, { trigger: 'test', faults: crasher.faults })).rejects.toThrow(
      SimulatedCrash,
    );
    const [queued] = await allAttempts(ctx);
    expect(queued).toMatchObject({ sessionId: 'cp-claim', number: 1, state: 'queued' });

    // Act: a parallel sweeper 30 s later (no job lease) must leave the crashed run's dispatch lease alone;
    // the scheduled sweep is blocked by the dead run's job lease until it expires; then one re-dispatch.
    clock.advance(30_000);
    const parallelEarly = await runRecoverySweep(ctx, { trigger: 'parallel', bypassJobLease: true });
    const scheduledEarly = await runRecoverySweep(ctx, { trigger: 'schedule' });
    const earlyCopies = {
      email: (await drainQueue(ctx, ctx.queues.email.url)).length,
      slack: (await drainQueue(ctx, ctx.queues.slack.url)).length,
    };
    clock.advance(leaseExpiryMs(ctx));
    const recovering = await runRecoverySweep(ctx, { trigger: 'schedule' });
    clock.advance(leaseExpiryMs(ctx));
    const later = await runRecoverySweep(ctx, { trigger: 'schedule' });

    // Assess
    expect(earlyCopies).toEqual({ email: 0, slack: 0 });
    expect(parallelEarly.counts).toMatchObject({ redispatched: 0, claimed: 0 });
    expect(scheduledEarly.status).toBe('skipped');
    expect(recovering.counts).toMatchObject({ redispatched: 1, claimed: 0, dispatched: 2 });
    expect(later.counts).toMatchObject({ redispatched: 0, claimed: 0 });
    const email = await drainQueue(ctx, ctx.queues.email.url);
    const slack = await drainQueue(ctx, ctx.queues.slack.url);
    expect(email.map((m) => [m.attemptId, m.number, m.recipient])).toEqual([
      [queued?.attemptId, 1, 'cp-claim@example.com'],
    ]);
    expect(slack.map((m) => [m.attemptId, m.number, m.recipient])).toEqual([
      [queued?.attemptId, 1, '#recovery'],
    ]);
    const attempts = await allAttempts(ctx);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ state: 'dispatched', fence: queued?.fence });
    expect(attempts[0]?.outboxShard).toBeUndefined();
    expect(await getSession(ctx, 'cp-claim')).toMatchObject({ retryCount: 1, status: 'recovering' });
  });

  it('a crash after publishing (before markDispatched) is re-published: SQS holds exactly 2 copies per channel, the sender delivers once', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await twoChannelSession(ctx, 'cp-publish');
    const crasher = sweepCrasher(crashAt.every('afterPublish'));
    await expect(runRecoverySweep(ctx, { trigger: 'test', faults: crasher.faults })).rejects.toThrow(
      SimulatedCrash,
    );
    const [queued] = await allAttempts(ctx);
    expect(queued).toMatchObject({ number: 1, state: 'queued' });

    // Act
    clock.advance(leaseExpiryMs(ctx));
    const recovering = await runRecoverySweep(ctx, { trigger: 'schedule' });
    clock.advance(leaseExpiryMs(ctx));
    const later = await runRecoverySweep(ctx, { trigger: 'schedule' });
    const email = await drainQueue(ctx, ctx.queues.email.url);
    const slack = await drainQueue(ctx, ctx.queues.slack.url);
    const sender = countingSender(ctx, clock.clock);
    const outcomes = [];
    for (const m of [...email, ...slack]) outcomes.push(await sender.deliver(m));

    // Assess: the outbox is at-least-once towards SQS. One crash after publishing = one re-publish, so the
    // design predicts 1 + 1 = 2 copies of the attempt's message per channel, all of the same attempt.
    expect(recovering.counts).toMatchObject({ redispatched: 1, claimed: 0 });
    expect(later.counts.redispatched).toBe(0);
    for (const copies of [email, slack]) {
      expect(copies).toHaveLength(2);
      expect(new Set(copies.map((m) => m.attemptId))).toEqual(new Set([queued?.attemptId]));
      // Byte-identical copies: the re-dispatch publishes the messages stored on the attempt item.
      expect(copies[1]).toEqual(copies[0]);
    }
    // The sender's conditional outcome write (attemptId × channel) makes the second copy a no-op.
    expect(outcomes.map((o) => o.status).sort()).toEqual(['duplicate', 'duplicate', 'sent', 'sent']);
    expect(sender.sends).toEqual(
      expect.arrayContaining([
        { channel: 'email', attemptId: queued?.attemptId },
        { channel: 'slack', attemptId: queued?.attemptId },
      ]),
    );
    expect(sender.sends).toHaveLength(2);
    const attempts = await allAttempts(ctx);
    expect(attempts.map((a) => a.state)).toEqual(['dispatched']);
  });

  it('30 % of 200 sessions crashing at either point: after recovery one attempt each, all dispatched, published once (twice after a publish crash)', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    const policy = await putPolicy(ctx, {
      policyId: 'pol-daily',
      initialDelaySeconds: 86400,
      backoffMultiplier: 1,
      maxDelaySeconds: 86400,
    });
    const ids = Array.from({ length: 200 }, (_, i) => `share-${i}`);
    await seedSessions(
      ctx,
      ids.map((id) => stalledSession(id, DUE, { policyId: policy.policyId })),
    );
    const seed = 7;
    const crasher = sweepCrasher(crashAt.share(0.3, ['afterClaim', 'afterPublish'], seed));
    const expectedCrashes = ids.filter((id) => crashFraction(seed, id, 1) < 0.3).length;

    // Act: the schedule keeps firing; each crash leaves its job lease, so the clock moves past it.
    const loop = await sweepUntilQuiet(ctx, {
      advance: clock.advance,
      faults: crasher.faults,
      settled: async () => (await allAttempts(ctx)).every((a) => a.state === 'dispatched'),
    });

    // Assess
    expect(loop.quiescent).toBe(true);
    expect(loop.thrown).toEqual([]);
    expect(loop.crashes).toBeGreaterThan(0);
    expect(crasher.crashed).toHaveLength(expectedCrashes);
    const points = new Set(crasher.crashed.map((c) => c.point));
    expect(points).toEqual(new Set(['afterClaim', 'afterPublish']));
    const attempts = await allAttempts(ctx);
    const perKey = countBySessionAndNumber(attempts);
    expect([...perKey.keys()].sort()).toEqual(ids.map((id) => `${id}#1`).sort());
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);
    expect(attempts.filter((a) => a.state !== 'dispatched' || a.outboxShard !== undefined)).toEqual([]);
    const copies = copiesByAttempt(await drainQueue(ctx, ctx.queues.email.url));
    const mismatches = attempts.flatMap((a) => {
      const predicted = crasher.crashedAt(a.sessionId, a.number) === 'afterPublish' ? 2 : 1;
      const seen = copies.get(a.attemptId) ?? 0;
      return seen === predicted ? [] : [{ sessionId: a.sessionId, predicted, seen }];
    });
    expect(mismatches).toEqual([]);
    expect(copies.size).toBe(200);
  }, 120_000);
});
