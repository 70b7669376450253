// Issue #18, item 12: an attempt claimed inside quiet hours (a late sweep, a deferral recheck, a retry-now)
// goes out when the window ends — its sender holds the message until then — so the next attempt's delay
// runs from that moment, not from the claim. The old code counted it from the claim: in a 20:00–08:00
// window, attempt n claimed at 20:05 went out at 08:0x and attempt n+1 was due at 08:00, a minute later,
// where the policy asked for 4 hours. Retry-now says when its message will go out (`deferredUntil`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import type { RecoveryMessage } from '../../../shared/messages.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { deliverMessage, RetryableDeliveryError } from '../../../shared/senders/deliver.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { retryNow } from '../../../shared/usecases/retry-now.ts';
import { putPolicy } from '../../faults/support.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { receiveAllBodies } from '../../support/queues.ts';
import { seedSessions, stalledSession } from '../../support/seed.ts';
import { receiverDeliveryDeps } from './fixtures.ts';

let receivers: LocalReceivers;
beforeAll(async () => {
  receivers = await startLocalReceivers();
});
afterAll(async () => {
  await receivers.stop();
});

const HOUR = 3_600_000;
/** Every attempt 4 h after the previous one; nothing between 20:00 and 08:00 UTC. */
const POLICY = {
  policyId: 'pol-nights',
  maxRetries: 3,
  initialDelaySeconds: 4 * 3600,
  backoffMultiplier: 1,
  maxDelaySeconds: 4 * 3600,
  jitter: 'none' as const,
  enabledChannels: ['slack' as const],
  quietHours: { start: '20:00', end: '08:00', timezone: 'UTC' },
};

async function setup(now: string, session: Parameters<typeof stalledSession>[2] = {}) {
  const clock = manualClock(now);
  const { ctx, endpoints } = await createTestContext({ clock: clock.clock });
  await putPolicy(ctx, POLICY);
  const sessionId = `nights-${Math.random().toString(36).slice(2, 10)}`;
  await seedSessions(ctx, [
    stalledSession(sessionId, now, {
      policyId: POLICY.policyId,
      maxRetries: 3,
      contact: { slackChannel: '#recovery' },
      ...session,
    }),
  ]);
  const deps = receiverDeliveryDeps(ctx, clock.clock, receivers, endpoints.ses);
  /** When the sender lets the message go: now, plus the visibility its quiet-hours deferral asks for. */
  const goesOutAt = async (message: RecoveryMessage): Promise<number> => {
    const error = await deliverMessage(deps, message).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof RetryableDeliveryError) || error.kind !== 'quiet_hours')
      throw new Error(`expected a quiet-hours deferral, got ${String(error)}`);
    return clock.clock().getTime() + (error.retryAfterSeconds ?? 0) * 1000;
  };
  return { ctx, clock, sessionId, goesOutAt };
}

describe('an attempt claimed inside quiet hours', () => {
  it('a late sweep at 20:05: the next attempt is due 4 h after the message goes out at the window’s end', async () => {
    // Prepare
    const s = await setup('2026-03-02T20:05:00.000Z');

    // Act
    const run = await runRecoverySweep(s.ctx, { trigger: 'test' });
    const [message] = (await receiveAllBodies(s.ctx, s.ctx.queues.slack.url)) as RecoveryMessage[];
    const out = await s.goesOutAt(message as RecoveryMessage);
    const session = await getSession(s.ctx, s.sessionId);

    // Assess: out at 08:00–08:05 the next morning; attempt 2 four hours after that, not a minute later.
    expect(run.counts.claimed).toBe(1);
    expect(out).toBeGreaterThanOrEqual(Date.parse('2026-03-03T08:00:00.000Z'));
    expect(Date.parse(session?.nextRetryAt ?? '') - out).toBeGreaterThanOrEqual(4 * HOUR);
    expect(Date.parse(session?.nextRetryAt ?? '') - out).toBeLessThan(4 * HOUR + 60_000);
  });

  it('retry-now at 21:00 answers deferredUntil, when its message goes out; the next attempt counts from there', async () => {
    // Prepare: attempt 1 went out in the afternoon; the session is not due before 12:00 tomorrow.
    const s = await setup('2026-03-02T21:00:00.000Z', {
      nextRetryAt: '2026-03-03T12:00:00.000Z',
    });

    // Act
    const result = await retryNow(s.ctx, s.sessionId, { triggeredBy: 'on-call', owner: 'api:test' });
    const [message] = (await receiveAllBodies(s.ctx, s.ctx.queues.slack.url)) as RecoveryMessage[];
    const out = await s.goesOutAt(message as RecoveryMessage);
    const session = await getSession(s.ctx, s.sessionId);

    // Assess
    expect(result).toMatchObject({ dispatched: true, deferredUntil: new Date(out).toISOString() });
    expect(Date.parse(session?.nextRetryAt ?? '') - out).toBeGreaterThanOrEqual(4 * HOUR);
  });

  it('retry-now outside quiet hours goes at once and says no deferredUntil', async () => {
    // Prepare
    const s = await setup('2026-03-02T15:00:00.000Z', { nextRetryAt: '2026-03-03T12:00:00.000Z' });

    // Act
    const result = await retryNow(s.ctx, s.sessionId, { triggeredBy: 'on-call', owner: 'api:test' });
    const session = await getSession(s.ctx, s.sessionId);

    // Assess
    expect(result.dispatched).toBe(true);
    expect(result).not.toHaveProperty('deferredUntil');
    expect(session?.nextRetryAt).toBe('2026-03-02T19:00:00.000Z');
  });
});
