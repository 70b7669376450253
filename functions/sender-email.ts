// Lambda entry of the email sender: the channel's SQS queue → one idempotent delivery per record, via SES.
// Behind the reputation guard's pause gate (a paused channel's messages wait on the queue); the unsubscribe
// token key comes through the Parameters and Secrets extension (no Secrets Manager client in the bundle).
import { contextFromEnv } from '../shared/context.ts';
import { withLambdaContext } from '../shared/handler/lambda-context.ts';
import { pausable } from '../shared/reputation/pause-gate.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { emailConfig } from '../shared/senders/config.ts';
import { sesProviderFactory } from '../shared/senders/factories/ses.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';

const ctx = contextFromEnv();

// The shared middleware outermost: the pause gate's lines carry the request id and cold start too.
export const handler = withLambdaContext(
  pausable(
    deployedSenderHandler({
      channel: 'email',
      configure: emailConfig,
      provider: sesProviderFactory,
      readSecret: extensionSecretReader(),
      ctx,
    }),
    { ctx, channel: 'email' },
  ),
);
