// The provider of the slack sender, from its channel configuration.
import { createSlackProvider } from '../../providers/slack.ts';
import { narrowConfig, type ProviderFactory } from '../providers.ts';

export const slackProviderFactory: ProviderFactory = (raw, clock) => {
  const config = narrowConfig(raw, ['slack']);
  return createSlackProvider({ webhookUrl: config.webhookUrl, timeoutMs: config.timeoutMs, clock });
};
