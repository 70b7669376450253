// Twilio message status callbacks (the `StatusCallback` of each send), form-encoded. Mapped to receipts:
//   sent → sent · delivered → delivered · read (WhatsApp) → read · undelivered, failed → undelivered
//   (error 21610, the recipient replied STOP, also suppresses: `stop`) · queued, accepted, sending, … → none
// The outcome ref is the `ref` query parameter of the callback URL, which Twilio's signature covers.
import * as v from 'valibot';
import { type Infer, safeParse } from '../schema.ts';
import { decodeOutcomeRef } from './outcome-ref.ts';
import type { Receipt, ReceiptStatus } from './receipt.ts';

/** Twilio's error code for a message to a recipient who replied STOP. */
const TWILIO_UNSUBSCRIBED = '21610';

const Field = v.pipe(v.string(), v.maxLength(1600));

const TwilioStatusFormSchema = v.looseObject({
  MessageSid: v.pipe(v.string(), v.regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'a Twilio message SID')),
  MessageStatus: v.pipe(v.string(), v.toLowerCase(), v.regex(/^[a-z_]{1,32}$/)),
  AccountSid: v.pipe(v.string(), v.regex(/^AC[0-9a-fA-F]{32}$/, 'a Twilio account SID')),
  To: v.optional(Field),
  From: v.optional(Field),
  ErrorCode: v.optional(v.pipe(v.string(), v.regex(/^\d{0,10}$/))),
  ErrorMessage: v.optional(Field),
});
export type TwilioStatusForm = Infer<typeof TwilioStatusFormSchema>;

const STATUS: Record<string, ReceiptStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  undelivered: 'undelivered',
  failed: 'undelivered',
};

export function parseTwilioStatus(form: Record<string, string>) {
  return safeParse(TwilioStatusFormSchema, form);
}

/** The receipt a callback stands for; undefined for an intermediate status (queued, sending, …). */
export function receiptFromTwilioStatus(
  form: TwilioStatusForm,
  refParam: string | undefined,
  now: Date,
): Receipt | undefined {
  const status = STATUS[form.MessageStatus];
  if (!status) return undefined;
  const ref = decodeOutcomeRef(refParam);
  const to = form.To ?? '';
  const channel = ref?.channel ?? (to.startsWith('whatsapp:') ? 'whatsapp' : 'sms');
  const code = form.ErrorCode || undefined;
  return {
    provider: 'twilio',
    channel,
    providerMessageId: form.MessageSid,
    status,
    providerStatus: form.MessageStatus,
    ...(code ? { errorCode: code } : {}),
    ...(form.ErrorMessage ? { detail: form.ErrorMessage } : {}),
    // Twilio's callbacks carry no event time: the time it reached us.
    at: now,
    recipients: to ? [to] : [],
    ...(ref ? { ref } : {}),
    ...(code === TWILIO_UNSUBSCRIBED ? { suppress: 'stop' as const } : {}),
  };
}
