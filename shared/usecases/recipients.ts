// Operators read and change a recipient's consent through the admin API; every change is audited with the
// caller (shared/recipients/store.ts writes state and audit record together).
import type { AppContext } from '../context.ts';
import { DomainError, NotFoundError } from '../domain/errors.ts';
import { type ConsentChannel, classifyAddress } from '../recipients/address.ts';
import {
  liftSuppression,
  type RecipientView,
  readRecipient,
  suppressRecipient,
} from '../recipients/store.ts';

function addressOf(raw: string) {
  const found = classifyAddress(raw);
  // A path value that can name no recipient is a missing resource, like an unknown id.
  if (!found) throw new NotFoundError('recipient', raw.slice(0, 80));
  return found;
}

export async function getRecipient(ctx: AppContext, raw: string): Promise<RecipientView> {
  const { address, channels } = addressOf(raw);
  return readRecipient(ctx, address, channels);
}

export interface ConsentChange {
  readonly address: string;
  readonly channel: ConsentChannel;
  readonly changed: boolean;
  readonly recipient: RecipientView;
}

function checkChannel(kind: 'email' | 'phone', channels: readonly ConsentChannel[], channel: ConsentChannel) {
  if (!channels.includes(channel))
    throw new DomainError(
      'validation',
      `a ${kind} address has no ${channel} channel (${channels.join(', ')})`,
    );
}

export async function suppressByOperator(
  ctx: AppContext,
  raw: string,
  input: { channel: ConsentChannel; reason?: string },
  audit: { triggeredBy: string },
): Promise<ConsentChange> {
  const { kind, address, channels } = addressOf(raw);
  checkChannel(kind, channels, input.channel);
  const changed = await suppressRecipient(ctx, {
    channel: input.channel,
    address,
    reason: 'operator',
    source: audit.triggeredBy,
    at: ctx.clock(),
    ...(input.reason ? { detail: input.reason } : {}),
  });
  return { address, channel: input.channel, changed, recipient: await readRecipient(ctx, address, channels) };
}

export async function liftByOperator(
  ctx: AppContext,
  raw: string,
  channel: ConsentChannel,
  audit: { triggeredBy: string; reason?: string },
): Promise<ConsentChange> {
  const { kind, address, channels } = addressOf(raw);
  if (!channels.includes(channel)) throw new NotFoundError(`${channel} recipient`, address);
  checkChannel(kind, channels, channel);
  const changed = await liftSuppression(ctx, {
    channel,
    address,
    source: audit.triggeredBy,
    at: ctx.clock(),
    ...(audit.reason ? { reason: audit.reason } : {}),
  });
  return { address, channel, changed, recipient: await readRecipient(ctx, address, channels) };
}
