// Lambda entry of the sms sender: the channel's SQS queue → one idempotent delivery per record, via
// Twilio SMS. Its credential comes from Secrets Manager through the Parameters and Secrets extension, cached.

import { withLambdaContext } from '../shared/handler/lambda-context.ts';
import { applyKeptReceipts } from '../shared/receipts/apply.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { twilioConfig } from '../shared/senders/config.ts';
import { twilioProviderFactory } from '../shared/senders/factories/twilio.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';

// The shared middleware: every line of an invocation carries its request id and cold start.
export const handler = withLambdaContext(
  deployedSenderHandler({
    channel: 'sms',
    configure: twilioConfig,
    provider: twilioProviderFactory,
    readSecret: extensionSecretReader(),
    // Twilio never retries a status callback: one that came before `sent` was recorded is applied after it.
    keptReceipts: applyKeptReceipts,
  }),
);
