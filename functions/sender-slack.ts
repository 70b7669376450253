// Lambda entry of the slack sender: the channel's SQS queue → one idempotent delivery per record, via
// a Slack incoming webhook. Its credential comes from Secrets Manager, cached.
import { secretsMaxAge } from '../shared/senders/config.ts';
import { slackProviderFactory } from '../shared/senders/factories/slack.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';
import { powertoolsSecretReader } from '../shared/senders/secrets.ts';

export const handler = deployedSenderHandler({
  channel: 'slack',
  provider: slackProviderFactory,
  readSecret: powertoolsSecretReader(secretsMaxAge()),
});
