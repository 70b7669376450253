// End to end on the emulators: 200 stalled sessions, a policy with every channel, the real sweep
// publishing to the channel queues, five senders behind queue pollers delivering to the SES emulator and
// the local receivers. Two attempts per session, then a replay of every first-attempt message (as a
// re-dispatch or DLQ redrive would do): outcomes = attempts × channels, none missing, none duplicated.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { functionCredentials } from '../../../local/iam-gate.ts';
import { type QueuePoller, startQueuePoller } from '../../../local/queue-poller.ts';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import type { AppContext } from '../../../shared/context.ts';
import { CHANNELS, type Channel } from '../../../shared/infra/resources.ts';
import { ChannelMessageSchema, type RecoveryMessage } from '../../../shared/messages.ts';
import { type OutcomeItem, OutcomeItemSchema } from '../../../shared/repositories/outcomes.ts';
import { createPolicy } from '../../../shared/repositories/policies.ts';
import { parse, safeParse } from '../../../shared/schema.ts';
import { staticChannelConfig } from '../../../shared/senders/config.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { sesProviderFactoryWith } from '../../../shared/senders/factories/ses.ts';
import { createSenderHandler } from '../../../shared/senders/handler.ts';
import { cachedProviders } from '../../../shared/senders/providers.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { registerSession } from '../../../shared/usecases/sessions.ts';
import { asFunction, createTestContext, manualClock } from '../../support/context.ts';
import { queueDepth as depthOf } from '../../support/queues.ts';
import { receiverConfigs, uniqueId } from './fixtures.ts';

const SESSIONS = 200;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let ctx: AppContext;
let sesEndpoint: string;
let receivers: LocalReceivers;
let pollers: QueuePoller[] = [];
const clock = manualClock('2026-03-02T10:00:00.000Z');
/** Every message body the senders were handed, to replay the first attempt's later. */
const seen: RecoveryMessage[] = [];

async function scanAll(): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await ctx.ddb.send(
      new ScanCommand({ TableName: ctx.tables.timeline, ExclusiveStartKey: cursor }),
    );
    items.push(...(page.Items ?? []));
    cursor = page.LastEvaluatedKey;
  } while (cursor);
  return items;
}

async function outcomes(): Promise<OutcomeItem[]> {
  return (await scanAll()).filter((i) => i.type === 'notification').map((i) => parse(OutcomeItemSchema, i));
}

function queueDepth(url: string): Promise<number> {
  return depthOf(ctx, url);
}

async function settled(expectedOutcomes: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const all = await outcomes();
      expect(all.filter((o) => o.status !== 'sending')).toHaveLength(expectedOutcomes);
      for (const c of CHANNELS) expect(await queueDepth(ctx.queues[c].url)).toBe(0);
    },
    { timeout: 120_000, interval: 500 },
  );
}

const StoreSchema = v.object({
  emails: v.array(v.looseObject({ destination: v.object({ to: v.array(v.string()) }) })),
});

beforeAll(async () => {
  receivers = await startLocalReceivers();
  const test = await createTestContext({ clock: clock.clock });
  ctx = test.ctx;
  sesEndpoint = test.endpoints.ses;
  pollers = CHANNELS.map((channel) => {
    // Each sender under its own key, judged by local IAM as in AWS (its SES client too).
    const senderCtx = asFunction(ctx, `sender-${channel}`);
    const handler = createSenderHandler(channel, {
      ctx: senderCtx,
      // Senders run on real time (leases, timestamps); only the sweep's schedule is driven by the test clock.
      clock: () => new Date(),
      // The receivers run in this process: under a loaded machine one may answer after 2 s, and an unanswered
      // call is rightly tried a second time, which this test's one-call-per-outcome count would read as a bug.
      config: staticChannelConfig(receiverConfigs(receivers, sesEndpoint, 8_000)),
      providers: cachedProviders(
        () => new Date(),
        (config, clock) =>
          config.channel === 'email'
            ? sesProviderFactoryWith(functionCredentials('sender-email'))(config, clock)
            : createProvider(config, clock),
      ),
      log: quiet,
    });
    return startQueuePoller({
      sqs: senderCtx.sqs,
      queueUrl: ctx.queues[channel].url,
      waitSeconds: 1,
      handler: async (event) => {
        for (const r of event.Records) {
          const parsed = safeParse(ChannelMessageSchema, JSON.parse(r.body));
          if (parsed.success && parsed.data.type === 'recovery') seen.push(parsed.data);
        }
        return handler(event);
      },
    });
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  await receivers.stop();
});

describe('sweep → channel queues → senders', () => {
  it('turns 2 attempts × 5 channels for 200 sessions into exactly 2000 outcomes, and a replay into none', async () => {
    // Prepare
    await createPolicy(
      ctx,
      {
        name: 'e2e, every channel',
        maxRetries: 2,
        initialDelaySeconds: 60,
        backoffMultiplier: 1,
        maxDelaySeconds: 60,
        jitter: 'none',
        enabledChannels: [...CHANNELS],
      },
      { triggeredBy: 'test', at: clock.clock() },
    );
    const domain = `${uniqueId('e2e')}.example.com`;
    const ids = Array.from({ length: SESSIONS }, (_, i) => `e2e-${String(i).padStart(3, '0')}`);
    for (const [i, sessionId] of ids.entries()) {
      await registerSession(
        ctx,
        {
          sessionId,
          kind: 'checkout',
          status: 'stalled',
          // Half the contacts have no phone: their SMS and WhatsApp outcomes are `skipped no_recipient`.
          contact: {
            email: `${sessionId}@${domain}`,
            slackChannel: '#recovery',
            webhookUrl: receivers.urls.webhook,
            ...(i % 2 === 0 ? { phone: '+14155550100' } : {}),
          },
          recoveryUrl: `https://shop.example.com/recover/${sessionId}`,
        },
        { triggeredBy: 'test' },
      );
    }

    // Act
    clock.advance(61_000);
    const first = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    await settled(SESSIONS * CHANNELS.length);
    clock.advance(61_000);
    const second = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    await settled(2 * SESSIONS * CHANNELS.length);
    // Replay every first-attempt message, as a re-dispatch or a DLQ redrive would.
    // Once each: under load SQS may deliver a message twice (a visibility timeout passing), and `seen` has both.
    const replay = [
      ...new Map(seen.filter((m) => m.number === 1).map((m) => [JSON.stringify(m), m])).values(),
    ];
    for (const channel of CHANNELS) {
      const bodies = replay.filter((m) => m.channel === channel).map((m) => JSON.stringify(m));
      for (let i = 0; i < bodies.length; i += 10) {
        await ctx.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: ctx.queues[channel].url,
            Entries: bodies.slice(i, i + 10).map((MessageBody, k) => ({ Id: String(k), MessageBody })),
          }),
        );
      }
    }
    await vi.waitFor(
      async () => {
        for (const c of CHANNELS) expect(await queueDepth(ctx.queues[c].url)).toBe(0);
      },
      { timeout: 60_000, interval: 500 },
    );

    // Assess
    expect(first.counts.claimed).toBe(SESSIONS);
    expect(second.counts.claimed).toBe(SESSIONS);
    expect(replay).toHaveLength(SESSIONS * CHANNELS.length);
    const all = await outcomes();
    const attempts = new Set(all.map((o) => o.attemptId));
    const pairs = new Set(all.map((o) => `${o.attemptId}|${o.channel}`));
    expect(attempts.size).toBe(2 * SESSIONS);
    expect(all).toHaveLength(attempts.size * CHANNELS.length);
    expect(pairs.size).toBe(all.length);
    const byStatus = (status: string, channels: readonly Channel[]) =>
      all.filter((o) => o.status === status && channels.includes(o.channel)).length;
    expect(byStatus('sent', ['email', 'slack', 'webhook'])).toBe(2 * SESSIONS * 3);
    expect(byStatus('sent', ['sms', 'whatsapp'])).toBe(2 * (SESSIONS / 2) * 2);
    expect(byStatus('skipped', ['sms', 'whatsapp'])).toBe(2 * (SESSIONS / 2) * 2);
    expect(all.filter((o) => o.status === 'skipped').every((o) => o.reason === 'no_recipient')).toBe(true);
    // One provider call per sent outcome, replay included.
    expect(receivers.control.requests('slack')).toHaveLength(2 * SESSIONS);
    expect(receivers.control.requests('webhook')).toHaveLength(2 * SESSIONS);
    expect(receivers.control.requests('webhook').every((r) => r.verified)).toBe(true);
    expect(receivers.control.requests('twilio')).toHaveLength(2 * (SESSIONS / 2) * 2);
    const store = parse(StoreSchema, await (await fetch(`${sesEndpoint}/store`)).json());
    expect(store.emails.filter((e) => e.destination.to.some((to) => to.endsWith(`@${domain}`)))).toHaveLength(
      2 * SESSIONS,
    );
    for (const c of CHANNELS) expect(await queueDepth(ctx.queues[c].dlqUrl)).toBe(0);
  }, 300_000);
});
