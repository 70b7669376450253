// What a sender asks the recipient store (shared/senders/deliver.ts calls these two, nothing else):
//   - before the provider call: is this recipient suppressed on this channel? (`skipped suppressed:<reason>`)
//   - after a provider refusal because the recipient opted out (Twilio 21610): remember it, so the next
//     attempt is skipped without calling the provider.
import type { AppContext } from '../context.ts';
import type { ChannelMessage } from '../messages.ts';
import { isConsentChannel } from './address.ts';
import { getSuppression, type SuppressionReason, suppressRecipient } from './store.ts';

/**
 * Starts the lookup at once (so it runs beside the outcome claim) and returns a function that awaits it.
 * A failed lookup is not "not suppressed": awaiting it throws, and the record is retried.
 */
export function lookUpSuppression(
  ctx: AppContext,
  message: ChannelMessage,
): () => Promise<SuppressionReason | undefined> {
  const channel = message.channel;
  if (!message.recipient || !isConsentChannel(channel)) return async () => undefined;
  const found = getSuppression(ctx, channel, message.recipient).then((state) =>
    state ? (state.reason ?? 'operator') : undefined,
  );
  // Awaited later; until then a rejection must not count as unhandled.
  found.catch(() => {});
  return () => found;
}

/** Records an opt-out the provider reported (Twilio 21610) as a STOP. Never throws; false when it failed. */
export async function recordProviderOptOut(
  ctx: AppContext,
  message: ChannelMessage,
  input: { readonly now: Date; readonly provider: string; readonly detail: string },
): Promise<boolean> {
  if (!message.recipient || !isConsentChannel(message.channel)) return false;
  try {
    await suppressRecipient(ctx, {
      channel: message.channel,
      address: message.recipient,
      reason: 'stop',
      source: `${input.provider}:opted-out`,
      at: input.now,
      orgId: typeof message.data.orgId === 'string' ? message.data.orgId : undefined,
      detail: input.detail,
    });
    return true;
  } catch {
    return false;
  }
}
