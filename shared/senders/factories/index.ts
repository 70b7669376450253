// Every channel's provider factory, for the processes that host all senders at once (the local runtime,
// tests, benchmarks). A deployed sender imports only its own factory.
import type { EnabledChannelConfig } from '../config.ts';
import type { ProviderFactory } from '../providers.ts';
import { sesProviderFactory } from './ses.ts';
import { slackProviderFactory } from './slack.ts';
import { twilioProviderFactory } from './twilio.ts';
import { webhookProviderFactory } from './webhook.ts';

const PROVIDER_FACTORIES: Record<EnabledChannelConfig['channel'], ProviderFactory> = {
  email: sesProviderFactory,
  slack: slackProviderFactory,
  sms: twilioProviderFactory,
  whatsapp: twilioProviderFactory,
  webhook: webhookProviderFactory,
};

/** Any channel's provider. */
export const createProvider: ProviderFactory = (config, clock) =>
  PROVIDER_FACTORIES[config.channel](config, clock);
