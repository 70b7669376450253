// Providers per channel configuration, memoised: a rotated secret yields a new provider, an unchanged one
// reuses the old (and its SES client's connections). The factories live one per provider in ./factories,
// so a sender's Lambda imports only its own provider and SDK client (the email sender carries no Secrets
// Manager client, the others no SES client); ./factories/index.ts serves every channel for the local
// runtime and tests, which host all senders in one process.
import type { Clock } from '../context.ts';
import type { NotificationProvider } from '../providers/types.ts';
import type { EnabledChannelConfig } from './config.ts';

export type ProviderSource = (config: EnabledChannelConfig) => NotificationProvider;

/** Builds a provider for one configuration; throws for a channel it does not serve. */
export type ProviderFactory = (config: EnabledChannelConfig, clock: Clock) => NotificationProvider;

type ConfigOf<C extends EnabledChannelConfig['channel']> = Extract<EnabledChannelConfig, { channel: C }>;

/** The configuration as its channel's type; a factory handed another channel's configuration throws. */
export function narrowConfig<C extends EnabledChannelConfig['channel']>(
  config: EnabledChannelConfig,
  channels: readonly C[],
): ConfigOf<C> {
  if (!(channels as readonly string[]).includes(config.channel))
    throw new Error(`a ${config.channel} configuration reached the ${channels.join('/')} provider`);
  return config as ConfigOf<C>;
}

/** Memoises providers by configuration. */
export function cachedProviders(clock: Clock, factory: ProviderFactory): ProviderSource {
  const cache = new Map<string, NotificationProvider>();
  return (config) => {
    const key = JSON.stringify(config);
    let provider = cache.get(key);
    if (!provider) {
      provider = factory(config, clock);
      // Only the latest configuration per channel stays: old ones would hold rotated secrets in memory.
      for (const [k, p] of cache) if (p.channel === config.channel) cache.delete(k);
      cache.set(key, provider);
    }
    return provider;
  };
}
