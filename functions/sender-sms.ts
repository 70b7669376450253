// Lambda entry of the sms sender: the channel's SQS queue → one idempotent delivery per record, via
// Twilio SMS. Its credential comes from Secrets Manager, cached.
import { secretsMaxAge } from '../shared/senders/config.ts';
import { twilioProviderFactory } from '../shared/senders/factories/twilio.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';
import { powertoolsSecretReader } from '../shared/senders/secrets.ts';

export const handler = deployedSenderHandler({
  channel: 'sms',
  provider: twilioProviderFactory,
  readSecret: powertoolsSecretReader(secretsMaxAge()),
});
