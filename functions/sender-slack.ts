// Lambda entry of the slack sender: the channel's SQS queue → one idempotent delivery per record, via
// a Slack incoming webhook. Its credential comes from Secrets Manager through the Parameters and Secrets extension, cached.

import { withLambdaContext } from '../shared/handler/lambda-context.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { slackConfig } from '../shared/senders/config.ts';
import { slackProviderFactory } from '../shared/senders/factories/slack.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';

// The shared middleware: every line of an invocation carries its request id and cold start.
export const handler = withLambdaContext(
  deployedSenderHandler({
    channel: 'slack',
    configure: slackConfig,
    provider: slackProviderFactory,
    readSecret: extensionSecretReader(),
  }),
);
