// Recipient addresses in the one form they are keyed by: email lower-cased, phone numbers in E.164
// (`whatsapp:` and punctuation removed, a leading 00 read as +). Two spellings of one person's address
// must find the same suppression, or a STOP given as "+1 (415) 555-0100" would not stop "+14155550100".
import type { Channel } from '../infra/resources.ts';

/** The channels whose recipients can say no: an address of a person, not a Slack room or a product URL. */
export const CONSENT_CHANNELS = ['email', 'sms', 'whatsapp'] as const satisfies readonly Channel[];
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

export function isConsentChannel(channel: string): channel is ConsentChannel {
  return (CONSENT_CHANNELS as readonly string[]).includes(channel);
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export function normaliseEmail(raw: string): string | undefined {
  const value = raw.trim().toLowerCase();
  return EMAIL.test(value) && value.length <= 320 ? value : undefined;
}

export function normalisePhone(raw: string): string | undefined {
  let value = raw.trim().replace(/^whatsapp:/i, '');
  value = value.replace(/[\s().-]/g, '');
  if (value.startsWith('00')) value = `+${value.slice(2)}`;
  return E164.test(value) ? value : undefined;
}

/** The key form of an address on a channel; undefined when it is not an address of that channel. */
export function normaliseAddress(channel: ConsentChannel, raw: string): string | undefined {
  return channel === 'email' ? normaliseEmail(raw) : normalisePhone(raw);
}

/** An address as an operator types it: an email when it has an @, otherwise a phone number. */
export function classifyAddress(
  raw: string,
): { kind: 'email' | 'phone'; address: string; channels: readonly ConsentChannel[] } | undefined {
  if (raw.includes('@')) {
    const address = normaliseEmail(raw);
    return address ? { kind: 'email', address, channels: ['email'] } : undefined;
  }
  const address = normalisePhone(raw);
  return address ? { kind: 'phone', address, channels: ['sms', 'whatsapp'] } : undefined;
}
