// Lambda entry of the webhook sender: the channel's SQS queue → one idempotent delivery per record, via
// a signed HTTPS POST. Its credential comes from Secrets Manager, cached.
import { secretsMaxAge } from '../shared/senders/config.ts';
import { webhookProviderFactory } from '../shared/senders/factories/webhook.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';
import { powertoolsSecretReader } from '../shared/senders/secrets.ts';

export const handler = deployedSenderHandler({
  channel: 'webhook',
  provider: webhookProviderFactory,
  readSecret: powertoolsSecretReader(secretsMaxAge()),
});
