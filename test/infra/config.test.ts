// Deployment configuration: cdk.json defaults parse, `-c` strings are coerced, and a bad or incomplete
// context fails synth with every problem named.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, secretName } from '../../lib/config.ts';

// Read directly (not through ./synth.ts) so this file does not load aws-cdk-lib.
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

describe('config', () => {
  it('parses the cdk.json defaults: nothing enabled that needs an operator decision', () => {
    const config = parseConfig(CDK_JSON_CONTEXT);
    expect(config).toMatchObject({
      stage: 'dev',
      enabledChannels: [],
      removalPolicy: 'retain',
      bundling: 'esbuild',
    });
  });

  it('coerces `-c key=value` strings: lists, booleans, numbers', () => {
    const config = parseConfig({
      ...CDK_JSON_CONTEXT,
      enabledChannels: 'email, slack',
      sesFromAddress: 'noreply@example.com',
      apiWaf: 'true',
      logRetentionDays: '90',
      onCallEmails: 'a@example.com,b@example.com',
    });
    expect(config).toMatchObject({
      enabledChannels: ['email', 'slack'],
      apiWaf: true,
      logRetentionDays: 90,
      onCallEmails: ['a@example.com', 'b@example.com'],
    });
  });

  it('names every bad key in one error', () => {
    const attempt = () =>
      parseConfig({
        stage: 'Prod!',
        enabledChannels: 'email,fax',
        logRetentionDays: 31,
        onCallHttpsUrls: 'http://x.io',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/stage[\s\S]*logRetentionDays[\s\S]*enabledChannels[\s\S]*onCallHttpsUrls/);
  });

  it('refuses the removed publicThrottle keys, naming what replaced them, instead of ignoring them', () => {
    const attempt = () => parseConfig({ stage: 'dev', publicThrottleRateLimit: 5 });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/at publicThrottleRateLimit/);
    expect(attempt).toThrow(/callbackThrottleRateLimit and unsubscribeThrottleRateLimit/);
  });

  it('requires the sender identity of an enabled channel', () => {
    expect(() => parseConfig({ stage: 'dev', enabledChannels: 'email,sms' })).toThrow(
      /sesFromAddress[\s\S]*smsFromNumber/,
    );
  });

  it('accepts structured settings as objects or JSON text, and rejects malformed ones', () => {
    const rules = { default: { baseMinutes: 30, perMbMinutes: 1, maxMinutes: 120, warnMinutes: 15 } };
    expect(parseConfig({ stage: 'dev', timeoutRules: JSON.stringify(rules) }).timeoutRules).toEqual(rules);
    expect(parseConfig({ stage: 'dev', timeoutRules: rules }).timeoutRules).toEqual(rules);
    expect(() => parseConfig({ stage: 'dev', timeoutRules: '{not json' })).toThrow(
      /timeoutRules[\s\S]*not valid JSON|not valid JSON[\s\S]*timeoutRules/,
    );
    expect(() => parseConfig({ stage: 'dev', opsAlertRecipients: { pager: ['x'] } })).toThrow(
      /opsAlertRecipients/,
    );
  });

  it('derives secret names from the stage unless configured', () => {
    const config = parseConfig({ stage: 'prod', twilioSecretName: 'shared/twilio' });
    expect(secretName(config, 'slackWebhook')).toBe('session-recovery/prod/slack-webhook');
    expect(secretName(config, 'twilio')).toBe('shared/twilio');
  });

  it('bounds the provider timeout below the sender timeout, less the sent-write budget and a second', () => {
    expect(parseConfig({ stage: 'dev' }).providerTimeoutMs).toBe(5000);
    expect(parseConfig({ stage: 'dev', providerTimeoutMs: '3000' }).providerTimeoutMs).toBe(3000);
    expect(() => parseConfig({ stage: 'dev', providerTimeoutMs: 5001 })).toThrow(
      /at most 5000: the sender's 10 s timeout must cover it[\s\S]*→ at providerTimeoutMs/,
    );
    expect(() => parseConfig({ stage: 'dev', providerTimeoutMs: 9000 })).toThrow(ConfigError);
  });
});
