// A deployed sender's wiring: its context and channel settings from env, its one provider, and a secret
// reader only when its channel has a credential. Each functions/sender-*.ts passes its own provider
// factory (and reader), so a sender's bundle holds no other channel's provider or SDK client: the email
// sender carries no Secrets Manager client, the others no SES client.
import { type AppContext, systemClock } from '../context.ts';
import type { Channel } from '../infra/resources.ts';
import { type ChannelResolver, noSecrets, ownChannelConfig, type SecretReader } from './config.ts';
import type { KeptReceiptsApplier } from './deliver.ts';
import { createSenderHandler, type SenderHandler } from './handler.ts';
import { cachedProviders, type ProviderFactory } from './providers.ts';

export interface DeployedSender {
  readonly channel: Channel;
  readonly provider: ProviderFactory;
  /** Its channel's settings from env (./config.ts): only its own, like the provider. */
  readonly configure: ChannelResolver;
  /** Reads the channel's credential (./secrets.ts); absent for a channel that has none (email). */
  readonly readSecret?: SecretReader;
  /** The function's context, when the caller built it already (the email sender's pause gate shares it). */
  readonly ctx?: AppContext;
  /** Receipts that can arrive before the send is recorded and are never retried (Twilio's). */
  readonly keptReceipts?: KeptReceiptsApplier;
}

export function deployedSenderHandler(sender: DeployedSender): SenderHandler {
  return createSenderHandler(sender.channel, {
    ...(sender.ctx ? { ctx: sender.ctx } : {}),
    ...(sender.keptReceipts ? { keptReceipts: sender.keptReceipts } : {}),
    config: ownChannelConfig(sender.configure, process.env, sender.readSecret ?? noSecrets),
    providers: cachedProviders(systemClock, sender.provider),
  });
}
