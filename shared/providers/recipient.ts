// The recipient a provider sends to; the sender skips a message without one before any provider is called.
import type { ChannelMessage } from '../messages.ts';
import { PermanentProviderError } from './errors.ts';

export function recipientOf(message: ChannelMessage, provider: string): string {
  if (!message.recipient) throw new PermanentProviderError(`${provider}: the message has no recipient`);
  return message.recipient;
}
