// The provider of the email sender, from its channel configuration.
import { type ClientEndpoints, createSesClient } from '../../aws/clients.ts';
import { createSesProvider } from '../../providers/ses.ts';
import { narrowConfig, type ProviderFactory } from '../providers.ts';

/** The email provider, its SES client signing with `credentials` locally (the email sender's own key). */
export function sesProviderFactoryWith(credentials?: ClientEndpoints['credentials']): ProviderFactory {
  return (raw, clock) => {
    const config = narrowConfig(raw, ['email']);
    return createSesProvider({
      client: createSesClient({
        ses: config.sesEndpoint,
        region: config.region,
        ...(credentials ? { credentials } : {}),
      }),
      fromAddress: config.fromAddress,
      configurationSetName: config.configurationSetName,
      timeoutMs: config.timeoutMs,
      unsubscribe: config.unsubscribe,
      clock,
    });
  };
}

export const sesProviderFactory: ProviderFactory = sesProviderFactoryWith();
