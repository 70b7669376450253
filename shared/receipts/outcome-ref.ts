// Where a notification's outcome item lives, carried through the provider and back: as SES message tags
// (published with every event of the message) and in the Twilio StatusCallback URL (signed by Twilio with
// the rest of the URL). A receipt then finds its outcome with one key lookup, no index on provider ids.
// The value is base64url of a small JSON array: SES tag values allow only letters, digits, `_` and `-`.
import type { Channel } from '../infra/resources.ts';
import type { ChannelMessage } from '../messages.ts';
import { outcomeSortKey } from '../messages.ts';

export interface OutcomeRef {
  readonly sessionId: string;
  readonly attemptAt: string;
  readonly number: number;
  readonly channel: Channel;
  readonly orgId?: string;
}

/** SES tag values are at most 256 characters. */
const MAX_REF_LENGTH = 256;
const CHANNELS = new Set(['email', 'slack', 'sms', 'whatsapp', 'webhook']);

export function outcomeRefOf(message: ChannelMessage): OutcomeRef | undefined {
  if (message.type !== 'recovery') return undefined;
  const orgId = typeof message.data.orgId === 'string' ? message.data.orgId : undefined;
  return {
    sessionId: message.sessionId,
    attemptAt: message.attemptAt,
    number: message.number,
    channel: message.channel,
    ...(orgId ? { orgId } : {}),
  };
}

/** The encoded ref, without the org when that is what keeps it within `max`; undefined when nothing fits. */
export function encodeOutcomeRef(ref: OutcomeRef, max = MAX_REF_LENGTH): string | undefined {
  const base = [ref.sessionId, ref.attemptAt, ref.number, ref.channel];
  for (const parts of ref.orgId ? [[...base, ref.orgId], base] : [base]) {
    const encoded = Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
    if (encoded.length <= max) return encoded;
  }
  return undefined;
}

/** Undefined for anything that is not a ref this service wrote (the input comes from outside). */
export function decodeOutcomeRef(value: string | undefined): OutcomeRef | undefined {
  if (!value || value.length > MAX_REF_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length < 4 || parts.length > 5) return undefined;
  const [sessionId, attemptAt, number, channel, orgId] = parts as unknown[];
  if (typeof sessionId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(sessionId))
    return undefined;
  if (typeof attemptAt !== 'string' || Number.isNaN(Date.parse(attemptAt)) || attemptAt.length > 40)
    return undefined;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 100_000)
    return undefined;
  if (typeof channel !== 'string' || !CHANNELS.has(channel)) return undefined;
  if (orgId !== undefined && (typeof orgId !== 'string' || orgId.length > 128)) return undefined;
  return { sessionId, attemptAt, number, channel: channel as Channel, ...(orgId ? { orgId } : {}) };
}

/** The outcome item's key in the timeline table. */
export function outcomeKeyOf(ref: OutcomeRef): { sessionId: string; sk: string } {
  return { sessionId: ref.sessionId, sk: outcomeSortKey(ref.attemptAt, ref.number, ref.channel) };
}
