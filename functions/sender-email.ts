// Lambda entry of the email sender: the channel's SQS queue → one idempotent delivery per record, via SES.

import { sesProviderFactory } from '../shared/senders/factories/ses.ts';
import { deployedSenderHandler } from '../shared/senders/lambda.ts';

export const handler = deployedSenderHandler({ channel: 'email', provider: sesProviderFactory });
