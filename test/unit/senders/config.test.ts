import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadLocalEnvFile, resolveChannelConfig, type SecretReader } from '../../../shared/senders/config.ts';

const noSecrets: SecretReader = async () => {
  throw new Error('no secret should be read');
};
const SID = `AC${'0'.repeat(32)}`;

describe('resolveChannelConfig', () => {
  it('disables a channel that ENABLED_CHANNELS does not list, whatever else is set', async () => {
    // Prepare
    const env = { ENABLED_CHANNELS: 'email', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X' };
    // Act
    const config = await resolveChannelConfig('slack', env, noSecrets);
    // Assess
    expect(config).toEqual({ enabled: false, channel: 'slack', reason: 'channel_disabled' });
  });

  it('reports an enabled but unconfigured channel as misconfigured (an error, not a skip), with what is missing', async () => {
    // Prepare
    const env = { ENABLED_CHANNELS: 'email, sms ,webhook' };
    // Act
    const email = await resolveChannelConfig('email', env, noSecrets);
    const sms = await resolveChannelConfig('sms', { ...env, SMS_FROM_NUMBER: '+15005550006' }, noSecrets);
    const webhook = await resolveChannelConfig(
      'webhook',
      { ...env, WEBHOOK_SIGNING_SECRET: 'short' },
      noSecrets,
    );
    // Assess
    expect(email).toMatchObject({
      enabled: false,
      misconfigured: true,
      reason: expect.stringMatching(/^channel_unconfigured: SES_FROM_ADDRESS/),
    });
    expect(sms).toMatchObject({
      enabled: false,
      misconfigured: true,
      reason: expect.stringContaining('TWILIO_SECRET_NAME'),
    });
    expect(webhook).toMatchObject({
      enabled: false,
      misconfigured: true,
      reason: expect.stringContaining('shorter than 16'),
    });
  });

  it('builds the local configuration from plain variables', async () => {
    // Prepare
    const env = {
      ENABLED_CHANNELS: 'whatsapp',
      WHATSAPP_FROM_NUMBER: 'whatsapp:+15005550006',
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: 'a'.repeat(32),
      TWILIO_API_BASE_URL: 'http://127.0.0.1:4010',
      PROVIDER_TIMEOUT_MS: '1500',
    };
    // Act
    const config = await resolveChannelConfig('whatsapp', env, noSecrets);
    // Assess
    expect(config).toEqual({
      enabled: true,
      channel: 'whatsapp',
      timeoutMs: 1500,
      accountSid: SID,
      authToken: 'a'.repeat(32),
      from: '+15005550006',
      apiBaseUrl: 'http://127.0.0.1:4010',
    });
  });

  it('reads credentials from secrets by name when *_SECRET_NAME is set', async () => {
    // Prepare
    const readSecret = vi.fn<SecretReader>(async (name) =>
      name === 'prod/twilio'
        ? JSON.stringify({ accountSid: SID, authToken: 'b'.repeat(32) })
        : 'https://hooks.slack.com/services/T/B/Y',
    );
    const env = {
      ENABLED_CHANNELS: 'sms,slack',
      SMS_FROM_NUMBER: '+15005550006',
      TWILIO_SECRET_NAME: 'prod/twilio',
      SLACK_WEBHOOK_SECRET_NAME: 'prod/slack',
      // Ignored: the secret wins.
      SLACK_WEBHOOK_URL: 'http://127.0.0.1:1/ignored',
    };
    // Act
    const sms = await resolveChannelConfig('sms', env, readSecret);
    const slack = await resolveChannelConfig('slack', env, readSecret);
    // Assess
    expect(sms).toMatchObject({ enabled: true, accountSid: SID, authToken: 'b'.repeat(32) });
    expect(slack).toMatchObject({ enabled: true, webhookUrl: 'https://hooks.slack.com/services/T/B/Y' });
    expect(readSecret.mock.calls.map(([name]) => name)).toEqual(['prod/twilio', 'prod/slack']);
  });

  it('treats a missing or malformed secret as misconfigured, without echoing its value', async () => {
    // Prepare
    const env = {
      ENABLED_CHANNELS: 'sms,webhook',
      SMS_FROM_NUMBER: '+15005550006',
      TWILIO_SECRET_NAME: 'prod/twilio',
      WEBHOOK_SIGNING_SECRET_NAME: 'prod/webhook',
    };
    const readSecret: SecretReader = async (name) =>
      name === 'prod/twilio'
        ? JSON.stringify({ accountSid: 'nope', authToken: 'super-secret-value-123' })
        : undefined;
    // Act
    const sms = await resolveChannelConfig('sms', env, readSecret);
    const webhook = await resolveChannelConfig('webhook', env, readSecret);
    // Assess
    expect(sms).toMatchObject({ misconfigured: true, reason: expect.stringContaining('accountSid') });
    expect(JSON.stringify(sms)).not.toContain('super-secret-value-123');
    expect(webhook).toMatchObject({ misconfigured: true, reason: expect.stringContaining('prod/webhook') });
  });

  it('reports a secret that cannot be read as misconfigured, saying why (the record then fails and waits)', async () => {
    // Prepare
    const env = { ENABLED_CHANNELS: 'webhook', WEBHOOK_SIGNING_SECRET_NAME: 'prod/webhook' };
    const readSecret: SecretReader = async () => {
      throw new Error('Secrets Manager unavailable');
    };
    // Act
    const config = await resolveChannelConfig('webhook', env, readSecret);
    // Assess
    expect(config).toEqual({
      enabled: false,
      misconfigured: true,
      channel: 'webhook',
      reason:
        'channel_unconfigured: secret prod/webhook (WEBHOOK_SIGNING_SECRET_NAME) could not be read: Error: Secrets Manager unavailable',
    });
  });
});

describe('loadLocalEnvFile', () => {
  it('loads an untracked .env without overriding variables already set, and ignores a missing file', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'sender-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'SENDER_TEST_FROM_FILE=file\nSENDER_TEST_ALREADY_SET=file\n');
    process.env.SENDER_TEST_ALREADY_SET = 'process';
    // Act
    const loaded = loadLocalEnvFile(file);
    const missing = loadLocalEnvFile(join(dir, 'absent.env'));
    // Assess
    expect(loaded).toBe(true);
    expect(missing).toBe(false);
    expect(process.env.SENDER_TEST_FROM_FILE).toBe('file');
    expect(process.env.SENDER_TEST_ALREADY_SET).toBe('process');
  });
});
