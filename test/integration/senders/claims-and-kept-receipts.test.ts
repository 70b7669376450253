// Review fixes around the outcome claim: a kept receipt never settles a channel still `sending`, a release
// never clears another delivery's claim, kept receipts survive a throttled Query, and a failed release of a
// delivery that died before the provider call is tried again instead of counting as a possible send.
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalReceivers } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import { applyKeptReceipts, applyReceipt } from '../../../shared/receipts/apply.ts';
import { outcomeRefOf } from '../../../shared/receipts/outcome-ref.ts';
import {
  claimOutcome,
  getOutcome,
  newClaimId,
  outcomeKey,
  unsettledChannels,
} from '../../../shared/repositories/outcomes.ts';
import { readStats } from '../../../shared/repositories/stats.ts';
import {
  type DeliveryDeps,
  deliverMessage,
  RetryableDeliveryError,
} from '../../../shared/senders/deliver.ts';
import { manualClock } from '../../support/context.ts';
import { injectDynamoFaults } from '../../support/faults.ts';
import { deliveryTestBed, putSession, quietLog, receiverDeliveryDeps, recoveryMessage } from './fixtures.ts';

let receivers: LocalReceivers;
let ctx: AppContext;
let sesEndpoint: string;
const clock = manualClock('2026-03-02T10:00:05.000Z');

function deps(overrides: Partial<DeliveryDeps> = {}): DeliveryDeps {
  const base = receiverDeliveryDeps(ctx, clock.clock, receivers, sesEndpoint);
  // Kept receipts applied after `sent`, as the Twilio senders are wired; the mechanism is the same for any
  // provider's receipt, so an SES bounce stands in for a Twilio callback where the emulator makes that easy.
  return { ...base, leaseSeconds: 15, log: quietLog(), keptReceipts: applyKeptReceipts, ...overrides };
}

const bed = deliveryTestBed(clock, '2026-03-02T10:00:05.000Z');
beforeAll(() => {
  ({ receivers, ctx, sesEndpoint } = bed);
});

describe('a receipt kept under an outcome still sending', () => {
  it('does not settle its channel: the attempt stays unsettled until the send is recorded', async () => {
    // Prepare: the sender holds the claim; the provider's callback comes before `sent` is written.
    const message = recoveryMessage({ channel: 'sms', recipient: '+14155550100' });
    await putSession(ctx, message.sessionId);
    const claim = await claimOutcome(ctx, message, { now: clock.clock(), leaseSeconds: 15 });
    const early = await applyReceipt(ctx, {
      provider: 'twilio',
      channel: 'sms',
      providerMessageId: 'SM0123456789abcdef0123456789abcdef',
      status: 'undelivered',
      providerStatus: 'undelivered',
      errorCode: '30003',
      at: clock.clock(),
      recipients: [String(message.recipient)],
      ref: outcomeRefOf(message),
    });
    // Act
    const unsettled = await unsettledChannels(ctx, {
      sessionId: message.sessionId,
      number: message.number,
      at: message.attemptAt,
      channels: ['sms'],
    });
    // Assess
    expect(claim.claimed).toBe(true);
    expect(early.outcome).toBe('pending');
    expect(unsettled).toEqual(['sms']);
  });
});

describe('a delivery whose lease ran out while the provider answered', () => {
  it.each([
    ['the provider refused our configuration', 401, 'misconfigured'],
    ['the provider answered with a transient error', 503, 'transient'],
  ] as const)('%s: its release leaves the claim another delivery took over', async (_name, status, kind) => {
    // Prepare: while this delivery is at the provider its lease runs out and a second delivery claims it.
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    receivers.control.failNext('slack', 1, { status });
    const secondClaim = newClaimId();
    const faults = {
      beforeProviderCall: async () => {
        clock.advance(20_000);
        const taken = await claimOutcome(ctx, message, {
          now: clock.clock(),
          leaseSeconds: 15,
          claimId: secondClaim,
        });
        expect(taken.claimed).toBe(true);
      },
    };
    // Act
    const first = await deliverMessage(deps({ faults }), message).catch((e: unknown) => e);
    // Assess
    expect(first).toBeInstanceOf(RetryableDeliveryError);
    expect(first).toMatchObject({ kind });
    const outcome = await getOutcome(ctx, outcomeKey(message));
    expect(outcome).toMatchObject({ status: 'sending', sendingOwner: secondClaim });
    expect(outcome?.sendingUntil).toBe(new Date(clock.clock().getTime() + 15_000).toISOString());
    expect(outcome?.releasedBy?.has(secondClaim) ?? false).toBe(false);
  });
});

describe('receipts kept before the send was recorded', () => {
  it('are applied after the Query for them failed twice', async () => {
    // Prepare: SES reports a bounce before the sender writes `sent`; then the Query for kept receipts
    // fails on every SDK attempt, twice (a throttled table).
    const message = recoveryMessage({ channel: 'email' });
    await putSession(ctx, message.sessionId);
    let failed = 0;
    const injector = injectDynamoFaults(ctx.ddb, {
      schedule: (call) =>
        call.command === 'Query' &&
        String((call.input as { KeyConditionExpression?: string }).KeyConditionExpression).includes(
          ':kept',
        ) &&
        failed++ < 6
          ? { kind: 'throttle', timing: 'before-send' }
          : undefined,
    });
    const log = quietLog();
    const faults = {
      afterProviderCall: async (_m: unknown, result: { providerMessageId: string }) => {
        await applyReceipt(ctx, {
          provider: 'ses',
          channel: 'email',
          providerMessageId: result.providerMessageId,
          status: 'bounced',
          providerStatus: 'Bounce/Permanent/General',
          at: clock.clock(),
          recipients: [String(message.recipient)],
          ref: outcomeRefOf(message),
        });
      },
    };
    // Act
    const result = await deliverMessage(deps({ faults, log }), message).finally(() => injector.remove());
    // Assess
    expect(result.status).toBe('sent');
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({ status: 'bounced' });
    expect(failed).toBeGreaterThanOrEqual(6);
    expect(log.error).not.toHaveBeenCalled();
  });
  it('are counted for an operator when the Query keeps failing; the send stays recorded', async () => {
    // Prepare: every try of the Query for kept receipts fails.
    const orgId = `org-${Date.now().toString(36)}`;
    const message = recoveryMessage({ channel: 'email' });
    const sent = recoveryMessage({ ...message, data: { ...message.data, orgId } });
    await putSession(ctx, sent.sessionId);
    const injector = injectDynamoFaults(ctx.ddb, {
      schedule: (call) =>
        call.command === 'Query' &&
        String((call.input as { KeyConditionExpression?: string }).KeyConditionExpression).includes(':kept')
          ? { kind: 'throttle', timing: 'before-send' }
          : undefined,
    });
    const log = quietLog();
    // Act
    const result = await deliverMessage(deps({ log }), sent).finally(() => injector.remove());
    // Assess
    expect(result.status).toBe('sent');
    expect(await getOutcome(ctx, outcomeKey(sent))).toMatchObject({ status: 'sent' });
    expect(log.error).toHaveBeenCalledWith(
      'could not apply the receipts that arrived before the send was recorded',
      expect.objectContaining({ sessionId: sent.sessionId }),
    );
    const at = clock.clock();
    expect(await readStats(ctx, { orgId, from: at, to: at })).toMatchObject({ 'receipts.unapplied': 1 });
  });
});

describe('a delivery that dies before the provider call', () => {
  it('tries its release again, so two such deaths leave the message deliverable', async () => {
    // Prepare: the session read beside the claim fails (every SDK attempt) for two deliveries, and the
    // first release of each fails too (every SDK attempt).
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    await putSession(ctx, message.sessionId);
    let armed = true;
    let releaseCalls = 0;
    let failReleases = 0;
    const injector = injectDynamoFaults(ctx.ddb, {
      schedule: (call) => {
        if (!armed || call.key?.sessionId !== message.sessionId) return undefined;
        if (call.command === 'GetItem' && call.tables.includes(ctx.tables.sessions))
          return { kind: '500', timing: 'before-send' };
        const update = String((call.input as { UpdateExpression?: string }).UpdateExpression);
        if (
          call.command === 'UpdateItem' &&
          update.includes('releasedBy') &&
          releaseCalls++ >= 0 &&
          failReleases-- > 0
        )
          return { kind: '500', timing: 'before-send' };
        return undefined;
      },
    });
    // Act
    const deaths: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      failReleases = 3;
      deaths.push(await deliverMessage(deps(), message).catch((e: unknown) => e));
      clock.advance(20_000);
    }
    armed = false;
    injector.remove();
    const third = await deliverMessage(deps(), message).catch((e: unknown) => e);
    // Assess
    expect(deaths.map((d) => (d as Error).name)).toEqual(['InternalServerError', 'InternalServerError']);
    expect(third).toMatchObject({ status: 'sent' });
    expect(releaseCalls).toBeGreaterThanOrEqual(8);
    const outcome = await getOutcome(ctx, outcomeKey(message));
    expect([outcome?.claimedBy?.size, outcome?.releasedBy?.size]).toEqual([3, 2]);
  });
});
