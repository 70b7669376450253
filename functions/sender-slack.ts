// Lambda entry of the slack sender: the channel's SQS queue → one idempotent delivery per record.
import { createSenderHandler } from '../shared/senders/handler.ts';

export const handler = createSenderHandler('slack');
