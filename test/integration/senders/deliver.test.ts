// The delivery use case against DynamoDB Local and the local receivers: the outcome lease, every skip
// reason, permanent and transient failures, and what the session and the stats counters record.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LocalReceivers, TWILIO_INVALID_NUMBER } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import {
  claimOutcome,
  getOutcome,
  listOpsAlertOutcomes,
  outcomeKey,
} from '../../../shared/repositories/outcomes.ts';
import { readStats } from '../../../shared/repositories/stats.ts';
import { staticChannelConfig } from '../../../shared/senders/config.ts';
import {
  type DeliveryDeps,
  deliverMessage,
  RetryableDeliveryError,
} from '../../../shared/senders/deliver.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { listAttemptOutcomes } from '../../../shared/usecases/timeline.ts';
import { manualClock } from '../../support/context.ts';
import {
  deliveryTestBed,
  opsAlertMessage,
  putSession,
  quietLog,
  receiverConfigs,
  recoveryMessage,
} from './fixtures.ts';

let receivers: LocalReceivers;
let ctx: AppContext;
let sesEndpoint: string;
const clock = manualClock('2026-03-02T10:00:05.000Z');

function deps(overrides: Partial<DeliveryDeps> = {}): DeliveryDeps {
  return {
    ctx,
    clock: clock.clock,
    config: staticChannelConfig(receiverConfigs(receivers, sesEndpoint)),
    // Providers talk to real servers: they sign and read Retry-After with real time, not the test's clock.
    providers: cachedProviders(() => new Date(), createProvider),
    log: quietLog(),
    ...overrides,
  };
}

const bed = deliveryTestBed(clock, '2026-03-02T10:00:05.000Z');
beforeAll(() => {
  ({ receivers, ctx, sesEndpoint } = bed);
});

describe('deliverMessage', () => {
  it('sends once for a message delivered three times; the copies find it sent', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    // Act
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await deliverMessage(deps(), message));
    // Assess
    expect(receivers.control.requests('slack')).toHaveLength(1);
    expect(results.map((r) => r.status)).toEqual(['sent', 'duplicate', 'duplicate']);
    const outcome = await getOutcome(ctx, outcomeKey(message));
    expect(outcome).toMatchObject({
      status: 'sent',
      provider: 'slack',
      tries: 1,
      attemptId: message.attemptId,
    });
    expect(outcome?.providerMessageId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('sends once when three copies race each other', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'sms', recipient: '+14155550100' });
    await putSession(ctx, message.sessionId);
    // Act
    const settled = await Promise.allSettled([1, 2, 3].map(() => deliverMessage(deps(), message)));
    // Assess
    expect(receivers.control.requests('twilio')).toHaveLength(1);
    expect(settled.filter((s) => s.status === 'fulfilled' && s.value.status === 'sent')).toHaveLength(1);
    // The losers either saw the lease (retry later) or, if the winner was already done, the final outcome.
    for (const s of settled) {
      if (s.status === 'rejected')
        expect(s.reason).toMatchObject({ name: 'RetryableDeliveryError', kind: 'in_flight' });
    }
  });

  it('stamps lastNotifiedAt on the session and bumps its version after a send', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'email' });
    await putSession(ctx, message.sessionId);
    // Act
    await deliverMessage(deps(), message);
    // Assess
    const session = await ctx.ddb.send(
      new GetCommand({ TableName: ctx.tables.sessions, Key: { sessionId: message.sessionId } }),
    );
    expect(session.Item).toMatchObject({ lastNotifiedAt: '2026-03-02T10:00:05.000Z', version: 3 });
  });

  it('drops a stale-fence message without a provider call and logs it as stale', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery', fence: 2 });
    await putSession(ctx, message.sessionId, { attemptFence: 5, version: 5 });
    const log = quietLog();
    // Act
    const result = await deliverMessage(deps({ log }), message);
    // Assess
    expect(result).toEqual({ status: 'skipped', reason: 'stale_fence' });
    expect(receivers.control.requests('slack')).toHaveLength(0);
    expect(log.warn).toHaveBeenCalledWith(
      expect.stringContaining('stale message'),
      expect.objectContaining({ sessionId: message.sessionId, fence: 2, attemptFence: 5 }),
    );
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({
      status: 'skipped',
      reason: 'stale_fence',
    });
  });

  it.each([
    'recovered',
    'completed',
    'cancelled',
    // Issue #10: these got the reminder before; a session no longer being recovered must not.
    'active',
    'processing',
    'failed',
    'timed_out',
  ])('skips a session that is %s', async (status) => {
    // Prepare
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId, { status });
    // Act
    const result = await deliverMessage(deps(), message);
    // Assess
    expect(result).toEqual({ status: 'skipped', reason: status });
    expect(receivers.control.requests('slack')).toHaveLength(0);
  });

  it('sends the final reminder to the session it exhausted, and skips an earlier one that arrives late', async () => {
    // Prepare
    const final = recoveryMessage({
      channel: 'slack',
      recipient: '#recovery',
      number: 3,
      templateId: 'final_attempt',
    });
    const earlier = recoveryMessage({ channel: 'slack', recipient: '#recovery', number: 2 });
    await putSession(ctx, final.sessionId, { status: 'exhausted', retryCount: 3 });
    await putSession(ctx, earlier.sessionId, { status: 'exhausted', retryCount: 3 });
    // Act
    const sent = await deliverMessage(deps(), final);
    const skipped = await deliverMessage(deps(), earlier);
    // Assess
    expect(sent.status).toBe('sent');
    expect(skipped).toEqual({ status: 'skipped', reason: 'exhausted' });
    expect(receivers.control.requests('slack')).toHaveLength(1);
  });

  it('skips a message without a recipient, and one whose session is gone', async () => {
    // Prepare
    const noRecipient = recoveryMessage({ channel: 'sms', recipient: undefined });
    await putSession(ctx, noRecipient.sessionId);
    const orphan = recoveryMessage({ channel: 'sms', recipient: '+14155550100' });
    // Act
    const first = await deliverMessage(deps(), noRecipient);
    const second = await deliverMessage(deps(), orphan);
    // Assess
    expect(first).toEqual({ status: 'skipped', reason: 'no_recipient' });
    expect(second).toEqual({ status: 'skipped', reason: 'session_not_found' });
    expect(receivers.control.requests('twilio')).toHaveLength(0);
  });

  it('skips a disabled channel with the reason, without reading anything else', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'whatsapp', recipient: '+14155550100' });
    await putSession(ctx, message.sessionId);
    const config = staticChannelConfig({
      whatsapp: { enabled: false, channel: 'whatsapp', reason: 'channel_disabled' },
    });
    // Act
    const result = await deliverMessage(deps({ config }), message);
    // Assess
    expect(result).toEqual({ status: 'skipped', reason: 'channel_disabled' });
    expect(receivers.control.requests()).toHaveLength(0);
  });

  it('records a permanent refusal as failed with the provider’s reason, once', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'sms', recipient: TWILIO_INVALID_NUMBER });
    await putSession(ctx, message.sessionId);
    // Act
    const first = await deliverMessage(deps(), message);
    const again = await deliverMessage(deps(), message);
    // Assess
    expect(first).toMatchObject({ status: 'failed', error: expect.stringContaining('21211') });
    expect(again).toEqual({ status: 'duplicate', current: 'failed' });
    expect(receivers.control.requests('twilio')).toHaveLength(1);
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({
      status: 'failed',
      provider: 'twilio',
      error: expect.stringContaining('is not a valid phone number'),
    });
  });

  it('records a template that cannot render as failed: render_error naming the template, with no provider call (#18 item 15)', async () => {
    // Prepare: a value no template can render (a BigInt, which no JSON holds): a stand-in for any template
    // that throws. The old code took the throw for a provider that never answered, and gave up after two.
    const message = recoveryMessage({
      channel: 'webhook',
      recipient: receivers.urls.webhook,
      data: { kind: 'checkout', total: 10n } as unknown as Record<string, unknown>,
    });
    await putSession(ctx, message.sessionId);
    // Act
    const first = await deliverMessage(deps(), message).catch((e: unknown) => e);
    const again = await deliverMessage(deps(), message).catch((e: unknown) => e);
    // Assess
    expect(first).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^render_error: template recovery_attempt \(webhook\): .*BigInt/),
    });
    expect(again).toEqual({ status: 'duplicate', current: 'failed' });
    expect(receivers.control.requests('webhook')).toHaveLength(0);
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('render_error'),
    });
  });

  it('records a malformed header as failed: render_error, and SES is never called (#18 item 15)', async () => {
    // Prepare: an ops alert recipient with a line break would add a header of its own.
    const message = opsAlertMessage({
      channel: 'email',
      recipient: 'ops@example.com\r\nBcc: all@example.com',
    });
    const sesStore = async () =>
      ((await (await fetch(`${sesEndpoint}/store`)).json()) as { emails: unknown[] }).emails.length;
    const before = await sesStore();
    // Act
    const result = await deliverMessage(deps(), message).catch((e: unknown) => e);
    // Assess
    expect(result).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(
        /^render_error: template ops_alert \(email\): header To must be a single line/,
      ),
    });
    expect(await sesStore()).toBe(before);
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({ status: 'failed' });
  });

  it('releases the lease on a transient error so the next delivery sends at once', async () => {
    // Prepare
    receivers.control.failNext('slack', 1, { status: 503, retryAfter: 3 });
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    // Act
    const failure = await deliverMessage(deps(), message).catch((e: unknown) => e);
    const between = await getOutcome(ctx, outcomeKey(message));
    const retry = await deliverMessage(deps(), message);
    // Assess
    expect(failure).toBeInstanceOf(RetryableDeliveryError);
    expect(failure).toMatchObject({ kind: 'transient', retryAfterSeconds: 3 });
    expect(between).toMatchObject({ status: 'sending', lastError: expect.stringContaining('503') });
    expect(between?.sendingUntil).toBeUndefined();
    expect(retry.status).toBe('sent');
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({ status: 'sent', tries: 2 });
  });

  it('waits for a live lease, and takes over once it expired (the crash window)', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    // A sender claimed the outcome and died before recording anything (Lambda timeout, crash).
    await claimOutcome(ctx, message, { now: clock.clock(), leaseSeconds: 20 });
    // Act
    const whileHeld = await deliverMessage(deps(), message).catch((e: unknown) => e);
    clock.advance(21_000);
    const afterExpiry = await deliverMessage(deps(), message);
    // Assess
    expect(whileHeld).toMatchObject({
      name: 'RetryableDeliveryError',
      kind: 'in_flight',
      retryAfterSeconds: 20,
    });
    expect(afterExpiry.status).toBe('sent');
    expect(receivers.control.requests('slack')).toHaveLength(1);
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({ status: 'sent', tries: 2 });
  });

  it('keeps ops alert outcomes under ops#<alertId>, one per channel and recipient', async () => {
    // Prepare
    const alert = opsAlertMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    // Act
    const result = await deliverMessage(deps(), alert);
    const again = await deliverMessage(deps(), alert);
    // Assess
    expect(result.status).toBe('sent');
    expect(again.status).toBe('duplicate');
    expect(await listOpsAlertOutcomes(ctx, alert.alertId)).toEqual([
      expect.objectContaining({
        sessionId: `ops#${alert.alertId}`,
        sk: `notification#webhook#${receivers.urls.webhook}`,
        status: 'sent',
      }),
    ]);
    expect(receivers.control.requests('webhook')[0]?.verified).toBe(true);
  });

  it('lists an attempt’s outcomes through the byAttempt index and counts them in the stats', async () => {
    // Prepare
    const base = recoveryMessage({
      attemptId: 'att_deliver_stats_1',
      data: { kind: 'checkout', orgId: 'org-deliver-stats' },
    });
    await putSession(ctx, base.sessionId, { orgId: 'org-deliver-stats' });
    const email = { ...base, channel: 'email' as const };
    const sms = { ...base, channel: 'sms' as const, recipient: TWILIO_INVALID_NUMBER };
    const slack = { ...base, channel: 'slack' as const, recipient: undefined };
    // Act
    for (const m of [email, sms, slack]) await deliverMessage(deps(), m);
    // Assess
    // Read back as GET /v1/attempts/{id}/notifications does: the bounded, paged use case.
    const { items: outcomes } = await listAttemptOutcomes(ctx, base.attemptId, { limit: 100 });
    expect(outcomes.map((o) => [o.channel, o.status]).sort()).toEqual([
      ['email', 'sent'],
      ['slack', 'skipped'],
      ['sms', 'failed'],
    ]);
    const at = clock.clock();
    expect(await readStats(ctx, { orgId: 'org-deliver-stats', from: at, to: at })).toMatchObject({
      'channel.email.sent': 1,
      'channel.sms.failed': 1,
      'channel.slack.skipped': 1,
    });
  });
});
