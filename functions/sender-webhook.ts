// Lambda entry of the webhook sender: the channel's SQS queue → one idempotent delivery per record, via
// a signed HTTPS POST. Its credential comes from Secrets Manager, cached.

import { withLambdaContext } from '../shared/handler/lambda-context.ts';
import { secretsMaxAge, webhookConfig } from '../shared/senders/config.ts';
import { webhookProviderFactory } from '../shared/senders/factories/webhook.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';
import { powertoolsSecretReader } from '../shared/senders/secrets.ts';

// The shared middleware: every line of an invocation carries its request id and cold start.
export const handler = withLambdaContext(
  deployedSenderHandler({
    channel: 'webhook',
    configure: webhookConfig,
    provider: webhookProviderFactory,
    readSecret: powertoolsSecretReader(secretsMaxAge()),
  }),
);
