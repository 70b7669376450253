// Delivery feedback and consent end to end, against DynamoDB Local, the SES simulator (aws-ses-v2-local
// behind ./local/ses-simulator.ts) and the Twilio stand-in: the real sender, the real receipt handlers and
// the public routes over HTTP. The acceptance tests of issue #13.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RunningApiServer, startApiServer } from '../../../local/http-server.ts';
import { type LocalReceivers, startLocalReceivers } from '../../../local/receivers.ts';
import { readSimulatedEvents } from '../../../local/ses-simulator.ts';
import type { AppContext } from '../../../shared/context.ts';
import type { Channel } from '../../../shared/infra/resources.ts';
import type { RecoveryMessage } from '../../../shared/messages.ts';
import type { NotificationProvider } from '../../../shared/providers/types.ts';
import { publicSecretsFromEnv } from '../../../shared/public/secrets.ts';
import { twilioSignature } from '../../../shared/public/twilio-signature.ts';
import { applyKeptReceipts } from '../../../shared/receipts/apply.ts';
import { handleSesEvent } from '../../../shared/receipts/ses-handler.ts';
import { getSuppression } from '../../../shared/recipients/store.ts';
import { getOutcome, outcomeKey } from '../../../shared/repositories/outcomes.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { readStats } from '../../../shared/repositories/stats.ts';
import { DEFAULT_GUARD } from '../../../shared/reputation/guard.ts';
import { type ChannelConfig, staticChannelConfig } from '../../../shared/senders/config.ts';
import { type DeliveryDeps, deliverMessage } from '../../../shared/senders/deliver.ts';
import { createProvider } from '../../../shared/senders/factories/index.ts';
import { attributeRecovery } from '../../../shared/usecases/attribution.ts';
import { createTestContext } from '../../support/context.ts';
import {
  putSession,
  receiverConfigs,
  recoveryMessage,
  TEST_UNSUBSCRIBE_KEY,
  uniqueId,
} from '../senders/fixtures.ts';

let receivers: LocalReceivers;
let ctx: AppContext;
let sesEndpoint: string;
let api: RunningApiServer;
let configs: Record<Channel, ChannelConfig>;
const providerCalls: Array<{ channel: Channel; recipient?: string }> = [];

/** The real providers, counted: "no provider call" is checked against this list. */
function countedProviders() {
  return (config: Parameters<typeof createProvider>[0]): NotificationProvider => {
    const provider = createProvider(config, () => new Date());
    return {
      ...provider,
      send: (message, rendered) => {
        providerCalls.push({ channel: message.channel, recipient: message.recipient });
        return provider.send(message, rendered);
      },
    };
  };
}

function deps(): DeliveryDeps {
  return {
    ctx,
    clock: () => new Date(),
    config: staticChannelConfig(configs),
    providers: countedProviders(),
    log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
    // As the Twilio senders are wired (functions/sender-sms.ts).
    keptReceipts: applyKeptReceipts,
  };
}

/** Applies every SES event the simulator has for `messageId`, as the receipts function would. */
async function applySesEvents(messageId: string, expected: number): Promise<string[]> {
  const deadline = Date.now() + 5000;
  let events: Awaited<ReturnType<typeof readSimulatedEvents>> = [];
  while (Date.now() < deadline) {
    events = (await readSimulatedEvents(sesEndpoint)).filter(
      (e) => (e.event.detail as { mail: { messageId: string } }).mail.messageId === messageId,
    );
    if (events.length >= expected) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const e of events) await handleSesEvent(ctx, e.event, DEFAULT_GUARD);
  return events.map((e) => String(e.event['detail-type']));
}

async function timelineOf(sessionId: string) {
  const out = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :s',
      ExpressionAttributeValues: { ':s': sessionId },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

async function sendFirstAndSecond(channel: Channel, recipient: string) {
  const first = recoveryMessage({ channel, recipient, data: { orgId: 'org-a', kind: 'checkout' } });
  await putSession(ctx, first.sessionId, { orgId: 'org-a' });
  const second: RecoveryMessage = { ...first, attemptId: `${first.sessionId}#2`, number: 2 };
  return { first, second };
}

async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

beforeAll(async () => {
  receivers = await startLocalReceivers();
  const test = await createTestContext();
  ctx = test.ctx;
  sesEndpoint = test.endpoints.ses;
  const env = { ...receivers.env, UNSUBSCRIBE_TOKEN_KEY: TEST_UNSUBSCRIBE_KEY };
  api = await startApiServer({
    ctx,
    port: 0,
    publicRoutes: { secrets: publicSecretsFromEnv(env, async () => undefined) },
  });
  receivers.control.setInboundUrl(`${api.url}/v1/public/hooks/twilio/inbound`);
  const base = receiverConfigs(receivers, sesEndpoint);
  const email = base.email.enabled && base.email.channel === 'email' ? base.email : undefined;
  const sms = base.sms.enabled && base.sms.channel === 'sms' ? base.sms : undefined;
  if (!email || !sms) throw new Error('fixtures changed');
  configs = {
    ...base,
    email: { ...email, unsubscribe: { key: TEST_UNSUBSCRIBE_KEY, publicBaseUrl: api.url } },
    sms: { ...sms, statusCallbackUrl: `${api.url}/v1/public/hooks/twilio/status` },
  };
});
afterAll(async () => {
  await api.stop();
  await receivers.stop();
});
beforeEach(() => {
  providerCalls.length = 0;
  receivers.control.reset();
});

describe('email receipts from SES (mailbox simulator)', () => {
  it.each([
    ['bounce', 'bounced', 'Email Bounced'],
    ['complaint', 'complained', 'Email Complaint Received'],
  ] as const)(
    'a send to %s@ ends %s, suppresses the address, and the next attempt calls no provider',
    async (box, status, detailType) => {
      // Prepare
      const recipient = `${box}+${uniqueId('t')}@simulator.amazonses.com`;
      const { first, second } = await sendFirstAndSecond('email', recipient);
      // Act
      const sent = await deliverMessage(deps(), first);
      if (sent.status !== 'sent') throw new Error(`not sent: ${JSON.stringify(sent)}`);
      const types = await applySesEvents(sent.providerMessageId, box === 'complaint' ? 3 : 2);
      const next = await deliverMessage(deps(), second);
      // Assess
      expect(types).toContain(detailType);
      expect(await getOutcome(ctx, outcomeKey(first))).toMatchObject({
        status,
        providerMessageId: sent.providerMessageId,
      });
      expect(await getSuppression(ctx, 'email', recipient.toUpperCase())).toMatchObject({
        reason: box,
        source: 'ses',
        orgId: 'org-a',
      });
      expect(next).toEqual({ status: 'skipped', reason: `suppressed:${box}` });
      expect(providerCalls.filter((c) => c.recipient === recipient)).toHaveLength(1);
      expect(await getOutcome(ctx, outcomeKey(second))).toMatchObject({
        status: 'skipped',
        reason: `suppressed:${box}`,
      });
      const receipts = (await timelineOf(first.sessionId)).filter((i) => i.type === 'receipt');
      expect(receipts.map((r) => r.status)).toEqual(expect.arrayContaining(['sent', status]));
      const stats = await readStats(ctx, { orgId: 'org-a', from: new Date(), to: new Date() });
      expect(stats[`channel.email.${status}`]).toBeGreaterThanOrEqual(1);
    },
  );

  it('a replayed SES event changes nothing and counts nothing again', async () => {
    // Prepare
    const recipient = `success+${uniqueId('t')}@simulator.amazonses.com`;
    const { first } = await sendFirstAndSecond('email', recipient);
    const sent = await deliverMessage(deps(), first);
    if (sent.status !== 'sent') throw new Error('not sent');
    await applySesEvents(sent.providerMessageId, 2);
    const before = await timelineOf(first.sessionId);
    const reputation = await ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.control,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'reputation#email' },
        ConsistentRead: true,
      }),
    );
    // Act
    await applySesEvents(sent.providerMessageId, 2);
    // Assess
    expect(await getOutcome(ctx, outcomeKey(first))).toMatchObject({ status: 'delivered' });
    expect(await timelineOf(first.sessionId)).toEqual(before);
    const after = await ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.control,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'reputation#email' },
        ConsistentRead: true,
      }),
    );
    expect(after.Items).toEqual(reputation.Items);
  });
});

describe('one-click unsubscribe (RFC 8058)', () => {
  it('POST with the token from a sent email suppresses; GET does not; one changed character is 404', async () => {
    // Prepare: a real send, and the headers SES received in the raw MIME.
    const recipient = `Ada.${uniqueId('u')}@Example.com`;
    const { first, second } = await sendFirstAndSecond('email', recipient);
    const sent = await deliverMessage(deps(), first);
    if (sent.status !== 'sent') throw new Error('not sent');
    const raw = await (await fetch(`${sesEndpoint}/raw/${sent.providerMessageId}`)).text();
    const link = /^List-Unsubscribe: <([^>]+)>\r$/m.exec(raw)?.[1] ?? '';
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    expect(link.startsWith(`${api.url}/v1/public/unsubscribe/`)).toBe(true);
    const token = link.slice(link.lastIndexOf('/') + 1);
    const altered = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    // Act
    const page = await fetch(link);
    const pageHtml = await page.text();
    const afterGet = await getSuppression(ctx, 'email', recipient);
    const forged = await fetch(`${api.url}/v1/public/unsubscribe/${altered}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    const afterForged = await getSuppression(ctx, 'email', recipient);
    const oneClick = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    const next = await deliverMessage(deps(), second);
    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(pageHtml).toContain('<form method="post">');
    expect(afterGet).toBeUndefined();
    expect(forged.status).toBe(404);
    expect(afterForged).toBeUndefined();
    expect(oneClick.status).toBe(200);
    expect(await getSuppression(ctx, 'email', recipient)).toMatchObject({
      reason: 'unsubscribe',
      source: 'one-click',
      address: recipient.toLowerCase(),
    });
    expect(next).toEqual({ status: 'skipped', reason: 'suppressed:unsubscribe' });
    // The visible link is in the body too.
    expect(raw).toContain('Content-Type: multipart/alternative');
  });
});

describe('Twilio: status callbacks, STOP, START and 21610', () => {
  it('callbacks from the stand-in move the outcome to delivered; a late `sent` and a replay change nothing', async () => {
    // Prepare
    const phone = `+1415555${String(Math.floor(Math.random() * 9000) + 1000)}`;
    const { first } = await sendFirstAndSecond('sms', phone);
    // Act
    const sent = await deliverMessage(deps(), first);
    if (sent.status !== 'sent') throw new Error('not sent');
    const delivered = await waitFor(
      () => getOutcome(ctx, outcomeKey(first)),
      (o) => o?.status === 'delivered',
    );
    const statusUrl = receivers.control.callbacks()[0]?.url;
    const { TWILIO_ACCOUNT_SID: sid = '', TWILIO_AUTH_TOKEN: token = '' } = receivers.env;
    const callback = (status: string) => ({
      MessageSid: sent.providerMessageId,
      AccountSid: sid,
      MessageStatus: status,
      To: phone,
      From: '+15005550006',
    });
    const post = (url: string, params: Record<string, string>, signature: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body: new URLSearchParams(params).toString(),
      });
    const before = await timelineOf(first.sessionId);
    const late = await post(
      statusUrl ?? '',
      callback('sent'),
      twilioSignature(token, statusUrl ?? '', callback('sent')),
    );
    const replay = await post(
      statusUrl ?? '',
      callback('delivered'),
      twilioSignature(token, statusUrl ?? '', callback('delivered')),
    );
    // Assess
    expect(delivered).toMatchObject({ status: 'delivered', providerStatus: 'delivered' });
    expect(receivers.control.callbacks().map((c) => [c.status, c.answer])).toEqual(
      expect.arrayContaining([
        ['sent', 200],
        ['delivered', 200],
      ]),
    );
    expect(late.status).toBe(200);
    expect(replay.status).toBe(200);
    expect(await getOutcome(ctx, outcomeKey(first))).toMatchObject({ status: 'delivered' });
    expect(await timelineOf(first.sessionId)).toEqual(before);
  });

  it('an `undelivered` that arrives before the sender recorded `sent` is kept and applied then; no credit', async () => {
    // Prepare: the stand-in's own callbacks go to a path the API does not serve; this test posts Twilio's
    // `sent` and `undelivered` itself, signed, in the window after Twilio accepted the message and before the
    // sender wrote `sent` (a callback that outruns the sender's DynamoDB write).
    const phone = `+1415777${String(Math.floor(Math.random() * 9000) + 1000)}`;
    const { first } = await sendFirstAndSecond('sms', phone);
    const { TWILIO_ACCOUNT_SID: sid = '', TWILIO_AUTH_TOKEN: token = '' } = receivers.env;
    const sms = configs.sms.enabled && configs.sms.channel === 'sms' ? configs.sms : undefined;
    if (!sms) throw new Error('fixtures changed');
    const elsewhere = `${api.url}/v1/public/hooks/twilio/elsewhere`;
    const answers: number[] = [];
    const early: DeliveryDeps = {
      ...deps(),
      config: staticChannelConfig({ ...configs, sms: { ...sms, statusCallbackUrl: elsewhere } }),
      faults: {
        async afterProviderCall(_message, result) {
          const request = receivers.control
            .requests('twilio')
            .findLast((r) => r.body.includes(encodeURIComponent(phone)));
          const callback = new URLSearchParams(request?.body ?? '').get('StatusCallback') ?? '';
          const url = callback.replace(elsewhere, `${api.url}/v1/public/hooks/twilio/status`);
          for (const status of ['sent', 'undelivered']) {
            const params: Record<string, string> = {
              MessageSid: result.providerMessageId,
              AccountSid: sid,
              MessageStatus: status,
              To: phone,
              From: '+15005550006',
              ...(status === 'undelivered'
                ? { ErrorCode: '30003', ErrorMessage: 'Unreachable handset' }
                : {}),
            };
            const res = await fetch(url, {
              method: 'POST',
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                'x-twilio-signature': twilioSignature(token, url, params),
              },
              body: new URLSearchParams(params).toString(),
            });
            answers.push(res.status);
          }
          // Both were answered while the outcome was still `sending`.
          expect((await getOutcome(ctx, outcomeKey(first)))?.status).toBe('sending');
        },
      },
    };
    // Act
    const sent = await deliverMessage(early, first);
    // Assess: the kept `undelivered` moved the outcome once `sent` was recorded.
    expect(sent.status).toBe('sent');
    expect(answers).toEqual([200, 200]);
    expect(await getOutcome(ctx, outcomeKey(first))).toMatchObject({
      status: 'undelivered',
      providerStatus: 'undelivered',
      providerErrorCode: '30003',
    });
    // And a recovery now credits no reminder: the only one never arrived.
    const session = await getSession(ctx, first.sessionId);
    if (!session) throw new Error('no session');
    const credited = await attributeRecovery(ctx, session, {
      at: new Date(Date.now() + 1000),
      windowHours: 24 * 365 * 5,
    });
    expect(credited).toMatchObject({ attempt: 0, channels: [] });
  });

  it('a callback with a wrong signature is 403 and changes nothing; ours is the official algorithm', async () => {
    // Prepare
    const phone = '+14155550199';
    const { first } = await sendFirstAndSecond('sms', phone);
    const url = `${api.url}/v1/public/hooks/twilio/status?ref=abc`;
    const { TWILIO_ACCOUNT_SID: sid = '', TWILIO_AUTH_TOKEN: token = '' } = receivers.env;
    const params = {
      MessageSid: `SM${'0'.repeat(32)}`,
      AccountSid: sid,
      MessageStatus: 'delivered',
      To: phone,
    };
    const good = twilioSignature(token, url, params);
    const wrong = twilioSignature('not-the-auth-token-000000', url, params);
    // Act
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': wrong },
      body: new URLSearchParams(params).toString(),
    });
    const missing = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    // Assess
    expect(twilio.validateRequest(token, good, url, params)).toBe(true);
    expect(twilio.validateRequest(token, wrong, url, params)).toBe(false);
    expect(res.status).toBe(403);
    expect(missing.status).toBe(403);
    expect(await timelineOf(first.sessionId)).toEqual([]);
  });

  it('STOP from the stand-in suppresses SMS for that number, START lifts it, and a 21610 answer suppresses too', async () => {
    // Prepare
    const phone = `+1415666${String(Math.floor(Math.random() * 9000) + 1000)}`;
    const { first, second } = await sendFirstAndSecond('sms', phone);
    // Act: STOP
    const stop = await receivers.control.inbound(phone, 'Stop');
    const skipped = await deliverMessage(deps(), first);
    const whileStopped = await getSuppression(ctx, 'sms', phone);
    // Act: START
    const start = await receivers.control.inbound(phone, 'START');
    const afterStart = await getSuppression(ctx, 'sms', phone);
    // Act: Twilio refuses with 21610 (the recipient opted out at Twilio)
    receivers.control.failMatching('twilio', (r) => r.body.includes(encodeURIComponent(phone)), {
      status: 400,
      body: JSON.stringify({
        code: 21610,
        message: 'Attempt to send to unsubscribed recipient',
        status: 400,
      }),
    });
    const refused = await deliverMessage(deps(), second);
    const third: RecoveryMessage = { ...second, attemptId: `${second.sessionId}#3`, number: 3 };
    const callsBefore = providerCalls.length;
    const afterRefusal = await deliverMessage(deps(), third);
    // Assess
    expect(stop).toBe(200);
    expect(whileStopped).toMatchObject({ reason: 'stop', source: 'twilio:STOP' });
    expect(skipped).toEqual({ status: 'skipped', reason: 'suppressed:stop' });
    expect(start).toBe(200);
    expect(afterStart).toBeUndefined();
    expect(refused).toMatchObject({ status: 'failed' });
    expect(await getSuppression(ctx, 'sms', phone)).toMatchObject({
      reason: 'stop',
      source: 'twilio:opted-out',
    });
    expect(afterRefusal).toEqual({ status: 'skipped', reason: 'suppressed:stop' });
    expect(providerCalls.length).toBe(callsBefore);
  });
});
