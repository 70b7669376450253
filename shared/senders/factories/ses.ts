// The provider of the email sender, from its channel configuration.
import { createSesClient } from '../../aws/clients.ts';
import { createSesProvider } from '../../providers/ses.ts';
import { narrowConfig, type ProviderFactory } from '../providers.ts';

export const sesProviderFactory: ProviderFactory = (raw, clock) => {
  const config = narrowConfig(raw, ['email']);
  return createSesProvider({
    client: createSesClient({ ses: config.sesEndpoint, region: config.region }),
    fromAddress: config.fromAddress,
    configurationSetName: config.configurationSetName,
    timeoutMs: config.timeoutMs,
    unsubscribe: config.unsubscribe,
    clock,
  });
};
