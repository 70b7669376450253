// The provider of the webhook sender, from its channel configuration.
import { createWebhookProvider } from '../../providers/webhook.ts';
import { narrowConfig, type ProviderFactory } from '../providers.ts';

export const webhookProviderFactory: ProviderFactory = (raw, clock) => {
  const config = narrowConfig(raw, ['webhook']);
  return createWebhookProvider({
    signingSecret: config.signingSecret,
    allowHttp: config.allowHttp,
    timeoutMs: config.timeoutMs,
    clock,
  });
};
