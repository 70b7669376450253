// Builds the provider for a channel's configuration, once per distinct configuration: a rotated secret
// yields a new provider, an unchanged one reuses the old (and its SES client's connections).
import { createSesClient } from '../aws/clients.ts';
import type { Clock } from '../context.ts';
import { createSesProvider } from '../providers/ses.ts';
import { createSlackProvider } from '../providers/slack.ts';
import { createTwilioProvider } from '../providers/twilio.ts';
import type { NotificationProvider } from '../providers/types.ts';
import { createWebhookProvider } from '../providers/webhook.ts';
import type { EnabledChannelConfig } from './config.ts';

export type ProviderSource = (config: EnabledChannelConfig) => NotificationProvider;

export function createProvider(config: EnabledChannelConfig, clock: Clock): NotificationProvider {
  switch (config.channel) {
    case 'email':
      return createSesProvider({
        client: createSesClient({ ses: config.sesEndpoint, region: config.region }),
        fromAddress: config.fromAddress,
        configurationSetName: config.configurationSetName,
        timeoutMs: config.timeoutMs,
      });
    case 'slack':
      return createSlackProvider({ webhookUrl: config.webhookUrl, timeoutMs: config.timeoutMs, clock });
    case 'sms':
    case 'whatsapp':
      return createTwilioProvider({
        channel: config.channel,
        accountSid: config.accountSid,
        authToken: config.authToken,
        from: config.from,
        apiBaseUrl: config.apiBaseUrl,
        timeoutMs: config.timeoutMs,
        clock,
      });
    case 'webhook':
      return createWebhookProvider({
        signingSecret: config.signingSecret,
        allowHttp: config.allowHttp,
        timeoutMs: config.timeoutMs,
        clock,
      });
  }
}

/** Memoises providers by configuration. */
export function cachedProviders(clock: Clock): ProviderSource {
  const cache = new Map<string, NotificationProvider>();
  return (config) => {
    const key = JSON.stringify(config);
    let provider = cache.get(key);
    if (!provider) {
      provider = createProvider(config, clock);
      // Only the latest configuration per channel stays: old ones would hold rotated secrets in memory.
      for (const [k, p] of cache) if (p.channel === config.channel) cache.delete(k);
      cache.set(key, provider);
    }
    return provider;
  };
}
