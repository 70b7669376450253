// Each provider against its local stand-in (Slack, Twilio, webhook receivers) or the SES emulator: the
// real request code, the real answers, including the failure answers and a provider that never answers.

import { Webhook } from 'standardwebhooks';
import * as v from 'valibot';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type LocalReceivers, startLocalReceivers, TWILIO_INVALID_NUMBER } from '../../../local/receivers.ts';
import { createSesClient } from '../../../shared/aws/clients.ts';
import { PermanentProviderError, TransientProviderError } from '../../../shared/providers/errors.ts';
import { createSesProvider } from '../../../shared/providers/ses.ts';
import { createSlackProvider } from '../../../shared/providers/slack.ts';
import { createTwilioProvider } from '../../../shared/providers/twilio.ts';
import { createWebhookProvider, webhookDeliveryId } from '../../../shared/providers/webhook.ts';
import { signWebhook, verifyWebhook } from '../../../shared/providers/webhook-signature.ts';
import { parse } from '../../../shared/schema.ts';
import { renderNotification } from '../../../shared/templates/render.ts';
import { opsAlertMessage, recoveryMessage, uniqueId } from './fixtures.ts';

let receivers: LocalReceivers;

beforeAll(async () => {
  receivers = await startLocalReceivers();
});
afterAll(async () => {
  await receivers.stop();
});
beforeEach(() => {
  receivers.control.reset();
  receivers.control.clearRequests();
});

const twilio = (channel: 'sms' | 'whatsapp', timeoutMs = 2000) =>
  createTwilioProvider({
    channel,
    accountSid: receivers.env.TWILIO_ACCOUNT_SID!,
    authToken: receivers.env.TWILIO_AUTH_TOKEN!,
    from: '+15005550006',
    apiBaseUrl: receivers.urls.twilio,
    timeoutMs,
  });

describe('slack provider', () => {
  it('posts the mrkdwn text to the incoming webhook and gets ok', async () => {
    // Prepare
    const provider = createSlackProvider({ webhookUrl: receivers.urls.slack, timeoutMs: 2000 });
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    // Act
    const result = await provider.send(message, renderNotification(message));
    // Assess
    const [request] = receivers.control.requests('slack');
    expect(result.providerMessageId).toMatch(/^[0-9a-f]{32}$/);
    expect(request?.status).toBe(200);
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      text: expect.stringContaining('|Continue where you left off>'),
    });
  });

  it('treats no_service (a deleted webhook) as permanent, with Slack’s words', async () => {
    // Prepare
    const provider = createSlackProvider({ webhookUrl: `${receivers.urls.slack}-gone`, timeoutMs: 2000 });
    const message = recoveryMessage({ channel: 'slack', recipient: '#recovery' });
    // Act
    const failure = provider.send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(failure).rejects.toMatchObject({ reason: 'slack 404: no_service', status: 404 });
  });

  it('treats 429 as transient and carries Retry-After', async () => {
    // Prepare
    receivers.control.rateLimitNext('slack', 1, 7);
    const provider = createSlackProvider({ webhookUrl: receivers.urls.slack, timeoutMs: 2000 });
    const message = opsAlertMessage();
    // Act
    const failure = provider.send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
    await expect(failure).rejects.toMatchObject({ status: 429, retryAfterSeconds: 7 });
  });

  it('gives up on a provider that never answers within its timeout, as transient', async () => {
    // Prepare
    receivers.control.hangNext('slack', 1);
    const provider = createSlackProvider({ webhookUrl: receivers.urls.slack, timeoutMs: 300 });
    const message = opsAlertMessage();
    const started = Date.now();
    // Act
    const failure = provider.send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toThrow(/no answer within 300 ms/);
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('treats a refused connection as transient', async () => {
    // Prepare
    const provider = createSlackProvider({ webhookUrl: 'http://127.0.0.1:9/services/x', timeoutMs: 1000 });
    const message = opsAlertMessage();
    // Act
    const failure = provider.send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
  });
});

describe('twilio provider', () => {
  it('sends an SMS form-encoded with basic auth and returns the SM sid', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'sms', recipient: '+14155550100' });
    // Act
    const result = await twilio('sms').send(message, renderNotification(message));
    // Assess
    const [request] = receivers.control.requests('twilio');
    const form = new URLSearchParams(request?.body);
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(form.get('To')).toBe('+14155550100');
    expect(form.get('Body')).toContain('https://shop.example.com/recover/');
  });

  it('prefixes both addresses with whatsapp: on the WhatsApp channel', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'whatsapp', recipient: '+14155550100' });
    // Act
    await twilio('whatsapp').send(message, renderNotification(message));
    // Assess
    const form = new URLSearchParams(receivers.control.requests('twilio')[0]?.body);
    expect(form.get('To')).toBe('whatsapp:+14155550100');
    expect(form.get('From')).toBe('whatsapp:+15005550006');
  });

  it('reports an invalid number (21211) as permanent with Twilio’s code and message', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'sms', recipient: TWILIO_INVALID_NUMBER });
    // Act
    const failure = twilio('sms').send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(failure).rejects.toMatchObject({
      reason: `twilio 400: 21211 The 'To' number ${TWILIO_INVALID_NUMBER} is not a valid phone number.`,
    });
  });

  it('reports wrong credentials (20003) as our misconfiguration, not the message’s fault', async () => {
    // Prepare
    const provider = createTwilioProvider({
      channel: 'sms',
      accountSid: receivers.env.TWILIO_ACCOUNT_SID!,
      authToken: 'not-the-token',
      from: '+15005550006',
      apiBaseUrl: receivers.urls.twilio,
      timeoutMs: 2000,
    });
    const message = recoveryMessage({ channel: 'sms', recipient: '+14155550100' });
    // Act
    const failure = provider.send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'ProviderConfigError', status: 401 });
  });

  it('honours an HTTP-date Retry-After on 503', async () => {
    // Prepare
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    receivers.control.failNext('twilio', 1, { status: 503, retryAfter: inTenSeconds });
    const message = recoveryMessage({ channel: 'sms', recipient: '+14155550100' });
    // Act
    const failure = twilio('sms').send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
    const error = (await failure.catch((e: unknown) => e)) as TransientProviderError;
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(8);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(11);
  });
});

describe('webhook provider', () => {
  const provider = () =>
    createWebhookProvider({
      signingSecret: receivers.env.WEBHOOK_SIGNING_SECRET!,
      allowHttp: true,
      timeoutMs: 2000,
    });

  it('delivers a Standard Webhooks delivery that the standardwebhooks package verifies', async () => {
    // Prepare
    const message = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    // Act
    const result = await provider().send(message, renderNotification(message));
    // Assess: the off-the-shelf verifier a product would use, with the secret as configured.
    const [request] = receivers.control.requests('webhook');
    const headers = request?.headers ?? {};
    expect(result.providerMessageId).toBe(webhookDeliveryId(message));
    expect(headers['webhook-id']).toBe(webhookDeliveryId(message));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(request?.verified).toBe(true);
    const verified = new Webhook(receivers.env.WEBHOOK_SIGNING_SECRET!).verify(request?.body ?? '', headers);
    expect(verified).toMatchObject({
      type: 'recovery',
      sessionId: message.sessionId,
      attemptNumber: 1,
      recoveryUrl: `https://shop.example.com/recover/${message.sessionId}`,
    });
    expect(verifyWebhook(receivers.env.WEBHOOK_SIGNING_SECRET!, headers, request?.body ?? '')).toEqual({
      valid: true,
      timestamp: expect.any(Number),
      id: webhookDeliveryId(message),
    });
  });

  it("fails verification, ours and the package's, for a changed body and for an old timestamp", async () => {
    // Prepare
    const secret = receivers.env.WEBHOOK_SIGNING_SECRET!;
    const message = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    await provider().send(message, renderNotification(message));
    const [request] = receivers.control.requests('webhook');
    const body = request?.body ?? '';
    const headers = request?.headers ?? {};
    const tampered = body.replace('"attemptNumber":1', '"attemptNumber":2');
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 360;
    const oldHeaders = signWebhook(secret, headers['webhook-id'] ?? '', body, sixMinutesAgo);
    // Act
    const tamperedCheck = verifyWebhook(secret, headers, tampered);
    const oldCheck = verifyWebhook(secret, { ...oldHeaders }, body);
    // Assess
    expect(tampered).not.toBe(body);
    expect(tamperedCheck).toEqual({ valid: false, reason: 'signature_mismatch' });
    expect(oldCheck).toEqual({ valid: false, reason: 'timestamp_out_of_tolerance' });
    expect(() => new Webhook(secret).verify(tampered, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...oldHeaders })).toThrow();
  });

  it('is refused by the receiver when signed with another secret: a 401 from the recipient’s endpoint fails that message for good (#18 item 11)', async () => {
    // Prepare
    const wrong = createWebhookProvider({
      signingSecret: 'another-secret-entirely',
      allowHttp: true,
      timeoutMs: 2000,
    });
    const message = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    // Act
    const failure = wrong.send(message, renderNotification(message));
    // Assess
    // The endpoint is the session's own (contact.webhookUrl): its refusal is not the channel's configuration.
    await expect(failure).rejects.toMatchObject({
      name: 'PermanentProviderError',
      status: 401,
      reason: expect.stringContaining("webhook 401 from the recipient's endpoint"),
    });
    expect(receivers.control.requests('webhook')[0]?.verifyFailure).toBe('signature_mismatch');
  });

  it('refuses a plain-http endpoint unless allowed', async () => {
    // Prepare
    const strict = createWebhookProvider({ signingSecret: 'x'.repeat(32), timeoutMs: 2000 });
    const message = recoveryMessage({ channel: 'webhook', recipient: receivers.urls.webhook });
    // Act
    const failure = strict.send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toThrow(/http: URLs are not allowed/);
    expect(receivers.control.requests('webhook')).toHaveLength(0);
  });
});

const StoreSchema = v.object({
  emails: v.array(
    v.looseObject({
      messageId: v.string(),
      from: v.string(),
      destination: v.object({ to: v.array(v.string()) }),
      subject: v.string(),
      body: v.object({ html: v.optional(v.string()), text: v.optional(v.string()) }),
    }),
  ),
});

describe('ses provider', () => {
  it('sends through the SES emulator; the mail carries the recovery link in HTML and text', async () => {
    // Prepare
    const endpoints = inject('endpoints');
    const provider = createSesProvider({
      client: createSesClient({ ses: endpoints.ses, region: endpoints.region }),
      fromAddress: 'recovery@example.com',
      timeoutMs: 5000,
      unsubscribe: { key: 'k'.repeat(32), publicBaseUrl: 'https://api.example.com/prod' },
    });
    const id = uniqueId('mail');
    // A link with characters that must be escaped in HTML, to see the escaping survive the trip.
    const message = recoveryMessage({
      sessionId: id,
      channel: 'email',
      recipient: `${id}@example.com`,
      data: {
        kind: 'checkout',
        recoveryUrl: `https://shop.example.com/recover/${id}?step=pay&lang=en`,
        name: 'Ada',
      },
    });
    // Act
    const result = await provider.send(message, renderNotification(message));
    // Assess
    // The store is shared by every test file: find this mail by its unique recipient, never clear it.
    const store = parse(StoreSchema, await (await fetch(`${endpoints.ses}/store`)).json());
    const mail = store.emails.find((e) => e.destination.to.includes(`${id}@example.com`));
    const link = `https://shop.example.com/recover/${id}?step=pay&lang=en`;
    expect(mail?.messageId).toBe(result.providerMessageId);
    expect(mail?.from).toBe('recovery@example.com');
    expect(mail?.subject).toBe('Your checkout is waiting for you');
    expect(mail?.body.text).toContain(link);
    expect(mail?.body.html).toContain(`href="${link.replace('&', '&amp;')}"`);
  });

  it('reports an emulator that is not there as transient', async () => {
    // Prepare
    const provider = createSesProvider({
      client: createSesClient({ ses: 'http://127.0.0.1:9', region: 'us-east-1' }),
      fromAddress: 'recovery@example.com',
      timeoutMs: 2000,
      unsubscribe: { key: 'k'.repeat(32), publicBaseUrl: 'https://api.example.com/prod' },
    });
    const message = recoveryMessage();
    // Act
    const failure = provider.send(message, renderNotification(message));
    // Assess
    await expect(failure).rejects.toBeInstanceOf(TransientProviderError);
  });
});
