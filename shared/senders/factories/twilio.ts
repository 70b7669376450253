// The provider of the sms and whatsapp sender, from its channel configuration.
import { createTwilioProvider } from '../../providers/twilio.ts';
import { narrowConfig, type ProviderFactory } from '../providers.ts';

export const twilioProviderFactory: ProviderFactory = (raw, clock) => {
  const config = narrowConfig(raw, ['sms', 'whatsapp']);
  return createTwilioProvider({
    channel: config.channel,
    accountSid: config.accountSid,
    authToken: config.authToken,
    from: config.from,
    apiBaseUrl: config.apiBaseUrl,
    statusCallbackUrl: config.statusCallbackUrl,
    timeoutMs: config.timeoutMs,
    clock,
  });
};
