// Lambda entry of the email sender: the channel's SQS queue → one idempotent delivery per record.
import { createSenderHandler } from '../shared/senders/handler.ts';

export const handler = createSenderHandler('email');
