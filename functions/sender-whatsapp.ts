// Lambda entry of the whatsapp sender: the channel's SQS queue → one idempotent delivery per record, via
// Twilio WhatsApp. Its credential comes from Secrets Manager, cached.

import { withLambdaContext } from '../shared/handler/lambda-context.ts';
import { secretsMaxAge, twilioConfig } from '../shared/senders/config.ts';
import { twilioProviderFactory } from '../shared/senders/factories/twilio.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';
import { powertoolsSecretReader } from '../shared/senders/secrets.ts';

// The shared middleware: every line of an invocation carries its request id and cold start.
export const handler = withLambdaContext(
  deployedSenderHandler({
    channel: 'whatsapp',
    configure: twilioConfig,
    provider: twilioProviderFactory,
    readSecret: powertoolsSecretReader(secretsMaxAge()),
  }),
);
