// The recipient lookup key: a session is found by its customer's email (or, when it has none, phone)
// through the `byRecipient` index, keyed by a hash of the normalised address so the index key carries no
// readable contact. Normalising here is what makes `Grace@Example.com ` and `grace@example.com`, or
// `+1 (415) 555-0100` and `+14155550100`, find the same session.
import { createHash } from 'node:crypto';

export interface ContactLike {
  readonly email?: string;
  readonly phone?: string;
  readonly whatsapp?: string;
}

export type RecipientKind = 'email' | 'phone';

export interface NormalisedRecipient {
  readonly kind: RecipientKind;
  readonly address: string;
}

/**
 * An email (lower case, trimmed) or a phone number (E.164: spaces, dots, dashes and brackets dropped, a
 * leading 00 read as +). Undefined when the text is neither.
 */
export function normaliseRecipient(text: string): NormalisedRecipient | undefined {
  const trimmed = text.trim();
  if (trimmed.includes('@')) {
    const address = trimmed.toLowerCase();
    return /^[^\s@]+@[^\s@]+$/.test(address) ? { kind: 'email', address } : undefined;
  }
  let digits = trimmed.replace(/[\s().-]/g, '');
  if (digits.startsWith('00')) digits = `+${digits.slice(2)}`;
  return /^\+[1-9]\d{6,14}$/.test(digits) ? { kind: 'phone', address: digits } : undefined;
}

export function recipientKeyOf(recipient: NormalisedRecipient): string {
  return createHash('sha256').update(`${recipient.kind}:${recipient.address}`).digest('hex').slice(0, 40);
}

/**
 * The one address a session is indexed by: its email, else its phone, else its WhatsApp number. One
 * index and one key per session: CloudFormation adds one GSI per table update, and each extra key
 * would be one more index (see the README's design notes).
 */
export function recipientKeyOfContact(contact: ContactLike | undefined): string | undefined {
  for (const text of [contact?.email, contact?.phone, contact?.whatsapp]) {
    const recipient = text ? normaliseRecipient(text) : undefined;
    if (recipient) return recipientKeyOf(recipient);
  }
  return undefined;
}
