// A provider receipt in the one shape the service applies, whatever sent it (SES event, Twilio callback).
import type { Channel } from '../infra/resources.ts';
import type { SuppressionReason } from '../recipients/store.ts';
import type { OutcomeRef } from './outcome-ref.ts';

/**
 * What the receipt says happened. `sent` (the provider took it) and `delayed` (still trying) move no
 * outcome; the others are outcome statuses, reached forward only.
 */
export type ReceiptStatus =
  | 'sent'
  | 'delayed'
  | 'delivered'
  | 'read'
  | 'bounced'
  | 'complained'
  | 'undelivered';

export interface Receipt {
  readonly provider: 'ses' | 'twilio';
  readonly channel: Channel;
  readonly providerMessageId: string;
  readonly status: ReceiptStatus;
  /** The provider's own words: `Bounce/Permanent/General`, `undelivered`, … */
  readonly providerStatus: string;
  /** The provider's error code (`5.1.1`, `30003`, `21610`), when it gave one. */
  readonly errorCode?: string;
  /** Diagnostic text (an SMTP answer, a complaint's feedback type); kept short. */
  readonly detail?: string;
  /** When the provider saw it happen. */
  readonly at: Date;
  /** The addresses it concerns (a bounce names the bounced ones). */
  readonly recipients: readonly string[];
  /** The outcome it belongs to, when the message was one of ours with a ref. */
  readonly ref?: OutcomeRef;
  /** The recipients must not be messaged again on this channel, and why. */
  readonly suppress?: SuppressionReason;
}

/** Order of a receipt in an outcome's life: the timeline lists receipts after their outcome, in this order. */
export const RECEIPT_RANK: Record<ReceiptStatus, number> = {
  sent: 1,
  delayed: 2,
  delivered: 3,
  read: 4,
  undelivered: 5,
  bounced: 6,
  complained: 7,
};

/** The statuses an outcome may be in for a receipt to move it to `status`: only ever forward. */
export const FORWARD_FROM: Partial<Record<ReceiptStatus, readonly string[]>> = {
  delivered: ['sent'],
  read: ['sent', 'delivered'],
  bounced: ['sent', 'delivered'],
  undelivered: ['sent'],
  complained: ['sent', 'delivered', 'read'],
};
