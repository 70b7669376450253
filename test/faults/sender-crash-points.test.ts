// Every point where a sender can die, and what the redelivery makes of it, for each channel: real channel
// queues (fauxqs), real SQS records handed to the real handler the way the event source mapping does,
// DynamoDB Local, and the real providers against the local receivers and the SES emulator. The outcome lease
// runs on a manual clock; SQS visibility runs on real time (a second or two).
//   before the provider call (after the `sending` claim) → exactly one provider call after the lease expires
//   after the provider call, before the outcome write  → exactly two calls, one `sent`: the documented window
//   a duplicate delivery of a sent message               → no further call
//   the same window without a crash (the provider accepted, its answer came after the sender's timeout)
//                                                         → at most two calls, like the crash window
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalReceivers, type ReceiverName, startLocalReceivers } from '../../local/receivers.ts';
import type { AppContext } from '../../shared/context.ts';
import { CHANNELS, type Channel } from '../../shared/infra/resources.ts';
import type { RecoveryMessage } from '../../shared/messages.ts';
import { WEBHOOK_ID_HEADER } from '../../shared/providers/webhook-signature.ts';
import { getOutcome, type OutcomeItem, outcomeKey } from '../../shared/repositories/outcomes.ts';
import { parse } from '../../shared/schema.ts';
import { staticChannelConfig } from '../../shared/senders/config.ts';
import type { DeliveryFaults } from '../../shared/senders/deliver.ts';
import { createProvider } from '../../shared/senders/factories/index.ts';
import { createSenderHandler } from '../../shared/senders/handler.ts';
import { cachedProviders } from '../../shared/senders/providers.ts';
import { SimulatedCrash } from '../../shared/usecases/job-run.ts';
import { putSession, receiverConfigs, recoveryMessage, uniqueId } from '../integration/senders/fixtures.ts';
import { invokeLikeMapping, receiveEvent } from '../soak/sqs-mapping.ts';
import { createTestContext, manualClock } from '../support/context.ts';

const T0 = '2026-03-02T10:00:00.000Z';
/** The outcome lease, in seconds of the manual clock. */
const LEASE_SECONDS = 5;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let receivers: LocalReceivers;

const StoreSchema = v.object({
  emails: v.array(v.looseObject({ destination: v.object({ to: v.array(v.string()) }) })),
});

function receiverOf(channel: Exclude<Channel, 'email'>): ReceiverName {
  return channel === 'sms' || channel === 'whatsapp' ? 'twilio' : channel;
}

interface Setup {
  readonly ctx: AppContext;
  readonly clock: ReturnType<typeof manualClock>;
  readonly message: RecoveryMessage;
  readonly queueUrl: string;
  readonly handler: (faults?: DeliveryFaults) => ReturnType<typeof createSenderHandler>;
  /** Requests that reached the channel's provider (receiver or SES emulator), accepted or not. */
  readonly providerCalls: () => Promise<number>;
  readonly outcome: () => Promise<OutcomeItem | undefined>;
  readonly depth: (url: string) => Promise<number>;
}

/** One session at attempt 1, one recovery message for `channel` on the channel's real queue. */
async function setup(channel: Channel): Promise<Setup> {
  const clock = manualClock(T0);
  const { ctx, endpoints } = await createTestContext({ clock: clock.clock });
  const sessionId = uniqueId('crash');
  const email = `${sessionId}@crash-points.example.com`;
  await putSession(ctx, sessionId);
  const recipient = {
    email,
    slack: '#recovery',
    sms: '+14155550100',
    whatsapp: '+14155550100',
    webhook: receivers.urls.webhook,
  }[channel];
  const message = recoveryMessage({ sessionId, channel, recipient, attemptId: `att-${sessionId}` });
  const queueUrl = ctx.queues[channel].url;
  await ctx.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
  const config = staticChannelConfig(receiverConfigs(receivers, endpoints.ses));
  return {
    ctx,
    clock,
    message,
    queueUrl,
    handler: (faults) =>
      createSenderHandler(channel, {
        ctx,
        clock: clock.clock,
        config,
        // Real time for the providers: the webhook receiver checks the signature's timestamp against its clock.
        providers: cachedProviders(() => new Date(), createProvider),
        leaseSeconds: LEASE_SECONDS,
        log: quiet,
        faults,
      }),
    providerCalls: async () => {
      if (channel !== 'email') return receivers.control.requests(receiverOf(channel)).length;
      const store = parse(StoreSchema, await (await fetch(`${endpoints.ses}/store`)).json());
      return store.emails.filter((e) => e.destination.to.includes(email)).length;
    },
    outcome: () => getOutcome(ctx, outcomeKey(message)),
    depth: async (url) => {
      const out = await ctx.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
  };
}

const crashBefore: DeliveryFaults = {
  beforeProviderCall: () => {
    throw new SimulatedCrash('killed after the sending claim, before the provider call');
  },
};
const crashAfter: DeliveryFaults = {
  afterProviderCall: () => {
    throw new SimulatedCrash('killed after the provider call, before the outcome write');
  },
};

/**
 * The crash, then the two redeliveries SQS makes: one while the dead sender's lease still runs (4 s of
 * 5), one after it expired. Each receive hides the message for 1 s of real time, so it comes back by itself.
 */
async function crashThenRedeliver(s: Setup, faults: DeliveryFaults) {
  const first = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 1 });
  const crashed = await invokeLikeMapping(s.ctx.sqs, s.queueUrl, s.handler(faults), first);
  const afterCrash = { calls: await s.providerCalls(), outcome: await s.outcome() };
  s.clock.advance((LEASE_SECONDS - 1) * 1000);
  const early = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 1 });
  const duringLease = await invokeLikeMapping(s.ctx.sqs, s.queueUrl, s.handler(), early);
  const callsDuringLease = await s.providerCalls();
  s.clock.advance(2000);
  const late = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 1 });
  const afterLease = await invokeLikeMapping(s.ctx.sqs, s.queueUrl, s.handler(), late);
  return { first, crashed, afterCrash, early, duringLease, callsDuringLease, late, afterLease };
}

beforeAll(async () => {
  receivers = await startLocalReceivers();
});
beforeEach(() => {
  receivers.control.reset();
  receivers.control.clearRequests();
});
afterAll(async () => {
  await receivers.stop();
});

describe('sender crash points', () => {
  it.each(CHANNELS)(
    '%s: killed after the sending claim, before the provider call → after the lease the redelivery sends exactly once',
    async (channel) => {
      // Prepare
      const s = await setup(channel);

      // Act
      const run = await crashThenRedeliver(s, crashBefore);

      // Assess: the invocation died and deleted nothing; the claim it left holds the lease.
      expect(run.crashed.error).toBeInstanceOf(SimulatedCrash);
      expect(run.crashed.deleted).toBe(0);
      expect(run.afterCrash.calls).toBe(0);
      expect(run.afterCrash.outcome).toMatchObject({
        status: 'sending',
        tries: 1,
        sendingUntil: new Date(Date.parse(T0) + LEASE_SECONDS * 1000).toISOString(),
      });
      // Within the lease a redelivery sends nothing and puts the record back for the second left.
      expect(run.early.Records[0]?.attributes.ApproximateReceiveCount).toBe('2');
      expect(run.duringLease.response?.batchItemFailures).toEqual([
        { itemIdentifier: run.early.Records[0]?.messageId },
      ]);
      expect(run.callsDuringLease).toBe(0);
      // After it: one send, one final outcome, nothing left on the queue or in the DLQ.
      expect(run.late.Records[0]?.attributes.ApproximateReceiveCount).toBe('3');
      expect(run.afterLease.response).toEqual({ batchItemFailures: [] });
      expect(await s.providerCalls()).toBe(1);
      expect(await s.outcome()).toMatchObject({ status: 'sent', tries: 2 });
      expect(await s.depth(s.queueUrl)).toBe(0);
      expect(await s.depth(s.ctx.queues[channel].dlqUrl)).toBe(0);
    },
  );

  it.each(CHANNELS)(
    '%s: killed after the provider call, before the outcome write → the redelivery sends again: exactly 2 calls, 1 sent outcome (the documented window)',
    async (channel) => {
      // Prepare
      const s = await setup(channel);

      // Act
      const run = await crashThenRedeliver(s, crashAfter);

      // Assess: the provider accepted the first send, but the outcome still says `sending` under the lease.
      expect(run.crashed.error).toBeInstanceOf(SimulatedCrash);
      expect(run.crashed.deleted).toBe(0);
      expect(run.afterCrash.calls).toBe(1);
      expect(run.afterCrash.outcome).toMatchObject({ status: 'sending', tries: 1 });
      expect(run.afterCrash.outcome?.providerMessageId).toBeUndefined();
      // The lease keeps a second send away while the first sender could still be alive.
      expect(run.duringLease.response?.batchItemFailures).toHaveLength(1);
      expect(run.callsDuringLease).toBe(1);
      // After it, the redelivery cannot know the first send happened: it sends again. At most twice.
      expect(run.afterLease.response).toEqual({ batchItemFailures: [] });
      expect(await s.providerCalls()).toBe(2);
      expect(await s.outcome()).toMatchObject({ status: 'sent', tries: 2 });
      expect(await s.depth(s.queueUrl)).toBe(0);
      expect(await s.depth(s.ctx.queues[channel].dlqUrl)).toBe(0);
      if (channel === 'webhook') {
        // Both copies carry the same delivery id, so the product can drop the second one.
        const ids = receivers.control.requests('webhook').map((r) => r.headers[WEBHOOK_ID_HEADER]);
        expect(ids).toEqual([`${s.message.attemptId}:webhook`, `${s.message.attemptId}:webhook`]);
      }
    },
  );

  it.each(CHANNELS)(
    '%s: a duplicate SQS delivery of a sent message (a second copy, and the same record again) makes no call',
    async (channel) => {
      // Prepare
      const s = await setup(channel);
      await s.ctx.sqs.send(
        new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: JSON.stringify(s.message) }),
      );
      const handler = s.handler();
      const original = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 30, max: 1 });
      const delivered = await handler(original);
      const callsAfterFirst = await s.providerCalls();

      // Act
      const copy = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 30, max: 1 });
      const copyRun = await invokeLikeMapping(s.ctx.sqs, s.queueUrl, handler, copy);
      const sameRecordAgain = await invokeLikeMapping(s.ctx.sqs, s.queueUrl, handler, original);

      // Assess
      expect(delivered).toEqual({ batchItemFailures: [] });
      expect(callsAfterFirst).toBe(1);
      expect(copy.Records[0]?.messageId).not.toBe(original.Records[0]?.messageId);
      expect(copyRun).toMatchObject({ response: { batchItemFailures: [] }, deleted: 1 });
      expect(sameRecordAgain).toMatchObject({ response: { batchItemFailures: [] }, deleted: 1 });
      expect(await s.providerCalls()).toBe(1);
      expect(await s.outcome()).toMatchObject({ status: 'sent', tries: 1 });
      expect(await s.depth(s.queueUrl)).toBe(0);
    },
  );

  it('two copies in two invocations at once: the one that finds the claim held sends nothing, comes back after the lease and finds it sent', async () => {
    // Prepare: invocation A claims and is held just before its provider call until B has run.
    const s = await setup('webhook');
    await s.ctx.sqs.send(
      new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: JSON.stringify(s.message) }),
    );
    const a = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 30, max: 1 });
    const b = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 30, max: 1 });
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });

    // Act
    const aRun = invokeLikeMapping(s.ctx.sqs, s.queueUrl, s.handler({ beforeProviderCall: () => held }), a);
    await vi.waitFor(async () => expect((await s.outcome())?.status).toBe('sending'), { timeout: 10_000 });
    const bRun = await invokeLikeMapping(s.ctx.sqs, s.queueUrl, s.handler(), b);
    const callsWhileHeld = await s.providerCalls();
    release();
    const aDone = await aRun;
    // B's copy reappears once the visibility B gave it (the lease left: 5 s) has passed.
    const bAgain = await receiveEvent(s.ctx.sqs, s.queueUrl, { visibilitySeconds: 30 });
    const bRetry = await invokeLikeMapping(s.ctx.sqs, s.queueUrl, s.handler(), bAgain);

    // Assess
    expect(bRun.response?.batchItemFailures).toEqual([{ itemIdentifier: b.Records[0]?.messageId }]);
    expect(callsWhileHeld).toBe(0);
    expect(aDone).toMatchObject({ response: { batchItemFailures: [] }, deleted: 1 });
    expect(bAgain.Records[0]?.messageId).toBe(b.Records[0]?.messageId);
    expect(bRetry).toMatchObject({ response: { batchItemFailures: [] }, deleted: 1 });
    expect(await s.providerCalls()).toBe(1);
    expect(await s.outcome()).toMatchObject({ status: 'sent', tries: 1 });
    expect(await s.depth(s.queueUrl)).toBe(0);
  });
});

/**
 * A Slack-style incoming webhook that takes every message (records it on arrival) and answers `200 ok` only
 * after `answerAfterMs`: a provider that accepted the message but whose answer is later than the sender waits.
 * The local receivers can fail, limit or hang, but not accept-and-answer-late, hence this stand-in.
 */
async function startLateProvider(answerAfterMs: number) {
  const accepted: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      accepted.push(body);
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('ok');
      }, answerAfterMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/T0/B0/late`,
    accepted,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the provider window without a crash', () => {
  it('a provider that accepts the message but answers after the sender’s timeout is called twice, then the outcome is failed: provider_unanswered', async () => {
    // Prepare: the provider takes 1 s to answer; the sender gives it 200 ms.
    const late = await startLateProvider(1000);
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    const sessionId = uniqueId('late');
    await putSession(ctx, sessionId);
    const message = recoveryMessage({ sessionId, channel: 'slack', recipient: '#recovery' });
    const queueUrl = ctx.queues.slack.url;
    await ctx.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
    const handler = createSenderHandler('slack', {
      ctx,
      clock: clock.clock,
      config: staticChannelConfig({
        slack: { enabled: true, channel: 'slack', webhookUrl: late.url, timeoutMs: 200 },
      }),
      providers: cachedProviders(() => new Date(), createProvider),
      leaseSeconds: LEASE_SECONDS,
      log: quiet,
    });

    // Act: SQS redelivers the failed record after each 1 s visibility, until the redrive policy
    // (maxReceiveCount 5) takes it to the DLQ.
    const failures: number[] = [];
    try {
      for (let receive = 0; receive < 8; receive++) {
        const event = await receiveEvent(ctx.sqs, queueUrl, { visibilitySeconds: 1, timeoutMs: 5000 });
        // In AWS the sender's lease (15 s) runs out long before the queue's visibility (60 s) does.
        clock.advance((LEASE_SECONDS + 1) * 1000);
        const run = await invokeLikeMapping(ctx.sqs, queueUrl, handler, event);
        failures.push(run.response?.batchItemFailures.length ?? -1);
        if (run.deleted > 0) break;
      }
    } catch {
      // No message became visible again: it went to the DLQ.
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await late.stop();

    // Assess: the first try got no answer and was retried after the lease; the second got none either, so
    // the outcome is `failed` (provider_unanswered) and the record is done. The provider took the message
    // twice: the bound the README states for the provider window, without a crash too.
    expect(failures).toEqual([1, 0]);
    expect(await getOutcome(ctx, outcomeKey(message))).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('provider_unanswered'),
      unanswered: 2,
    });
    expect(late.accepted.length).toBe(2);
  });
});
