// SES event publishing, as EventBridge delivers it: `source: aws.ses`, `detail` = the SES event record
// (eventType, mail, and bounce | complaint | delivery | reject | failure | deliveryDelay | send). Parsed
// with a schema (it is input from outside), then mapped to the receipt the service applies:
//   Send → sent · Delivery → delivered · Bounce → bounced (Permanent also suppresses: `bounce`)
//   Complaint → complained (suppresses: `complaint`) · Reject, Rendering Failure → undelivered
//   DeliveryDelay → delayed (timeline only)
// The outcome is found through the `sr_ref` message tag the email sender set (./outcome-ref.ts).
import * as v from 'valibot';
import { type Infer, safeParse } from '../schema.ts';
import { decodeOutcomeRef } from './outcome-ref.ts';
import type { Receipt } from './receipt.ts';
import { REF_TAG } from './ses-tags.ts';

const Str = v.pipe(v.string(), v.maxLength(4096));
const Time = v.pipe(
  v.string(),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'a timestamp'),
);

const MailSchema = v.looseObject({
  messageId: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  timestamp: Time,
  destination: v.optional(v.array(Str), []),
  tags: v.optional(v.record(v.string(), v.array(Str)), {}),
});

const Recipient = v.looseObject({
  emailAddress: Str,
  status: v.optional(Str),
  diagnosticCode: v.optional(Str),
});

const SesEventDetailSchema = v.looseObject({
  eventType: v.picklist([
    'Send',
    'Delivery',
    'Bounce',
    'Complaint',
    'Reject',
    'Rendering Failure',
    'DeliveryDelay',
  ]),
  mail: MailSchema,
  bounce: v.optional(
    v.looseObject({
      bounceType: Str,
      bounceSubType: v.optional(Str),
      bouncedRecipients: v.array(Recipient),
      timestamp: Time,
    }),
  ),
  complaint: v.optional(
    v.looseObject({
      complainedRecipients: v.array(v.looseObject({ emailAddress: Str })),
      complaintFeedbackType: v.optional(Str),
      timestamp: Time,
    }),
  ),
  delivery: v.optional(v.looseObject({ timestamp: Time, recipients: v.optional(v.array(Str)) })),
  reject: v.optional(v.looseObject({ reason: v.optional(Str) })),
  failure: v.optional(v.looseObject({ errorMessage: v.optional(Str), templateName: v.optional(Str) })),
  deliveryDelay: v.optional(
    v.looseObject({
      delayType: v.optional(Str),
      timestamp: Time,
      delayedRecipients: v.optional(v.array(Recipient)),
    }),
  ),
});
export type SesEventDetail = Infer<typeof SesEventDetailSchema>;

const SesEventBridgeEventSchema = v.looseObject({
  id: v.optional(v.string()),
  source: v.literal('aws.ses'),
  'detail-type': v.string(),
  time: v.optional(v.string()),
  detail: SesEventDetailSchema,
});
export type SesEventBridgeEvent = Infer<typeof SesEventBridgeEventSchema>;

class InvalidSesEventError extends Error {
  constructor(
    message: string,
    readonly issues: unknown,
  ) {
    super(message);
    this.name = 'InvalidSesEventError';
  }
}

export function parseSesEvent(input: unknown): SesEventBridgeEvent {
  const parsed = safeParse(SesEventBridgeEventSchema, input);
  if (!parsed.success) throw new InvalidSesEventError('not an SES event this service reads', parsed.issues);
  return parsed.data;
}

/** The receipt an SES event stands for. */
export function receiptFromSesEvent(event: SesEventBridgeEvent): Receipt {
  const { detail } = event;
  const { mail } = detail;
  const ref = decodeOutcomeRef(mail.tags[REF_TAG]?.[0]);
  const common = {
    provider: 'ses' as const,
    channel: 'email' as const,
    providerMessageId: mail.messageId,
    ...(ref ? { ref } : {}),
  };
  const at = (time: string | undefined) => new Date(time ?? event.time ?? mail.timestamp);
  switch (detail.eventType) {
    case 'Send':
      return {
        ...common,
        status: 'sent',
        providerStatus: 'Send',
        at: at(mail.timestamp),
        recipients: mail.destination,
      };
    case 'Delivery':
      return {
        ...common,
        status: 'delivered',
        providerStatus: 'Delivery',
        at: at(detail.delivery?.timestamp),
        recipients: detail.delivery?.recipients ?? mail.destination,
      };
    case 'Bounce': {
      const bounce = detail.bounce;
      const permanent = bounce?.bounceType === 'Permanent';
      const first = bounce?.bouncedRecipients[0];
      return {
        ...common,
        status: 'bounced',
        providerStatus: ['Bounce', bounce?.bounceType, bounce?.bounceSubType].filter(Boolean).join('/'),
        ...(first?.status ? { errorCode: first.status } : {}),
        ...(first?.diagnosticCode ? { detail: first.diagnosticCode } : {}),
        at: at(bounce?.timestamp),
        recipients: bounce?.bouncedRecipients.map((r) => r.emailAddress) ?? mail.destination,
        ...(permanent ? { suppress: 'bounce' as const } : {}),
      };
    }
    case 'Complaint': {
      const complaint = detail.complaint;
      return {
        ...common,
        status: 'complained',
        providerStatus: ['Complaint', complaint?.complaintFeedbackType].filter(Boolean).join('/'),
        at: at(complaint?.timestamp),
        recipients: complaint?.complainedRecipients.map((r) => r.emailAddress) ?? mail.destination,
        suppress: 'complaint',
      };
    }
    case 'Reject':
      return {
        ...common,
        status: 'undelivered',
        providerStatus: 'Reject',
        ...(detail.reject?.reason ? { detail: detail.reject.reason } : {}),
        at: at(undefined),
        recipients: mail.destination,
      };
    case 'Rendering Failure':
      return {
        ...common,
        status: 'undelivered',
        providerStatus: 'Rendering Failure',
        ...(detail.failure?.errorMessage ? { detail: detail.failure.errorMessage } : {}),
        at: at(undefined),
        recipients: mail.destination,
      };
    case 'DeliveryDelay':
      return {
        ...common,
        status: 'delayed',
        providerStatus: ['DeliveryDelay', detail.deliveryDelay?.delayType].filter(Boolean).join('/'),
        at: at(detail.deliveryDelay?.timestamp),
        recipients: detail.deliveryDelay?.delayedRecipients?.map((r) => r.emailAddress) ?? mail.destination,
      };
  }
}
