// Lambda entry of the webhook sender: the channel's SQS queue → one idempotent delivery per record, via
// a signed HTTPS POST. Its credential comes from Secrets Manager through the Parameters and Secrets extension, cached.

import { withLambdaContext } from '../shared/handler/lambda-context.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { webhookConfig } from '../shared/senders/config.ts';
import { webhookProviderFactory } from '../shared/senders/factories/webhook.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';

// The shared middleware: every line of an invocation carries its request id and cold start.
export const handler = withLambdaContext(
  deployedSenderHandler({
    channel: 'webhook',
    configure: webhookConfig,
    provider: webhookProviderFactory,
    readSecret: extensionSecretReader(),
  }),
);
