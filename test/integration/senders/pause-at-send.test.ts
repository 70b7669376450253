// Issue #18, item 13: pausing a session stops the reminders already claimed, not only the next claims. A
// message that reaches its sender after an operator paused the session (one parked for quiet hours, a queue
// backlog) is `skipped: paused` without a provider call; that attempt does not count, and resuming the
// session schedules it again. The old code sent it, hours after the pause.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import type { RecoveryMessage } from '../../../shared/messages.ts';
import { getOutcome, outcomeKey } from '../../../shared/repositories/outcomes.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { deliverMessage } from '../../../shared/senders/deliver.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { setSessionPaused } from '../../../shared/usecases/sessions.ts';
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

const T0 = '2026-03-02T10:00:00.000Z';
const HOUR = 3_600_000;
const operator = { triggeredBy: 'on-call', reason: 'customer called' };

async function setup(maxRetries: number) {
  const clock = manualClock(T0);
  const { ctx, endpoints } = await createTestContext({ clock: clock.clock });
  await putPolicy(ctx, { policyId: 'pol-pause', maxRetries, enabledChannels: ['slack'] });
  const sessionId = `paused-${maxRetries}-${Date.now().toString(36)}`;
  await seedSessions(ctx, [
    stalledSession(sessionId, T0, {
      policyId: 'pol-pause',
      maxRetries,
      contact: { slackChannel: '#recovery' },
    }),
  ]);
  const deps = receiverDeliveryDeps(ctx, clock.clock, receivers, endpoints.ses);
  const slackCalls = () =>
    receivers.control.requests('slack').filter((r) => r.body.includes(sessionId)).length;
  return { ctx, clock, sessionId, deps, slackCalls };
}

async function slackMessages(ctx: AppContext): Promise<RecoveryMessage[]> {
  return (await receiveAllBodies(ctx, ctx.queues.slack.url)) as RecoveryMessage[];
}

describe('a pause holds the reminders already claimed', () => {
  it('skips the final reminder of a session paused after its claim; resuming schedules it again, once', async () => {
    // Prepare: the sweep claims and dispatches the only attempt (the session is exhausted by it).
    const s = await setup(1);
    await runRecoverySweep(s.ctx, { trigger: 'test' });
    const [held] = await slackMessages(s.ctx);

    // Act: the operator pauses; hours later the message reaches the sender (parked for quiet hours).
    await setSessionPaused(s.ctx, s.sessionId, true, operator);
    s.clock.advance(10 * HOUR);
    const atSend = await deliverMessage(s.deps, held as RecoveryMessage);
    const outcome = await getOutcome(s.ctx, outcomeKey(held as RecoveryMessage));
    s.clock.advance(HOUR);
    const resumed = await setSessionPaused(s.ctx, s.sessionId, false, operator);
    // A second pause and resume before the next attempt gives nothing back twice.
    await setSessionPaused(s.ctx, s.sessionId, true, operator);
    const again = await setSessionPaused(s.ctx, s.sessionId, false, operator);
    const sweep = await runRecoverySweep(s.ctx, { trigger: 'test' });
    const [next] = await slackMessages(s.ctx);
    const sent = next ? await deliverMessage(s.deps, next) : undefined;

    // Assess
    expect(atSend).toEqual({ status: 'skipped', reason: 'paused' });
    expect(outcome).toMatchObject({ status: 'skipped', reason: 'paused' });
    expect(resumed).toMatchObject({
      status: 'stalled',
      retryCount: 1,
      maxRetries: 2,
      rescheduledAttempt: 1,
      nextRetryAt: s.clock.clock().toISOString(),
    });
    expect(again).toMatchObject({ maxRetries: 2 });
    expect(sweep.counts.claimed).toBe(1);
    expect(next).toMatchObject({ number: 2, templateId: 'final_attempt' });
    expect(sent?.status).toBe('sent');
    expect(s.slackCalls()).toBe(1);
    expect(await getSession(s.ctx, s.sessionId)).toMatchObject({ status: 'exhausted', retryCount: 2 });
  });

  it('a resume gives nothing back when the reminder went out before the pause', async () => {
    // Prepare
    const s = await setup(2);
    await runRecoverySweep(s.ctx, { trigger: 'test' });
    const [message] = await slackMessages(s.ctx);
    const sent = await deliverMessage(s.deps, message as RecoveryMessage);
    const before = await getSession(s.ctx, s.sessionId);

    // Act
    await setSessionPaused(s.ctx, s.sessionId, true, operator);
    const resumed = await setSessionPaused(s.ctx, s.sessionId, false, operator);

    // Assess
    expect(sent.status).toBe('sent');
    expect(resumed).toMatchObject({ maxRetries: 2, nextRetryAt: before?.nextRetryAt });
    expect(resumed.rescheduledAttempt).toBeUndefined();
  });
});
