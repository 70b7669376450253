// The versioned contract of what goes on a channel queue: one recovery notification per attempt × channel,
// or one ops alert per run × channel. Producers build it with these schemas, senders parse it with them.
import * as v from 'valibot';
import { QuietHoursSchema } from './domain/quiet-hours.ts';
import type { Contact } from './domain/session.ts';
import { CHANNELS, type Channel } from './infra/resources.ts';
import { e164, email, httpUrl, type Infer, integer, isoDateTime as iso, jsonObject, text } from './schema.ts';

export const TEMPLATE_IDS = ['recovery_attempt', 'final_attempt', 'timeout_notice', 'ops_alert'] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

export const RecoveryMessageSchema = v.strictObject({
  v: v.literal(1),
  type: v.literal('recovery'),
  attemptId: text(1),
  sessionId: text(1),
  /** 1-based attempt number, and the policy's maximum, so a template can say "last reminder". */
  number: integer(1),
  maxRetries: integer(0),
  /** The session version the claim wrote; a message older than the session's `attemptFence` is stale. */
  fence: integer(0),
  /** When the attempt was made: with number and channel it fixes the outcome's timeline key. */
  attemptAt: iso,
  channel: v.picklist(CHANNELS),
  /** Address on that channel; absent when the contact has none (the sender records `skipped`). */
  recipient: v.optional(text(1)),
  templateId: v.picklist(TEMPLATE_IDS),
  data: jsonObject,
  createdAt: iso,
  /**
   * The policy's quiet hours, in the zone that decides them (the recipient's when valid, resolved at the
   * claim): the sender checks them again at send time and defers a message that arrives inside them.
   */
  quietHours: v.optional(QuietHoursSchema),
});
export type RecoveryMessage = Infer<typeof RecoveryMessageSchema>;

export const OpsAlertMessageSchema = v.strictObject({
  v: v.literal(1),
  type: v.literal('ops_alert'),
  /** One alert per run: the run id, so a re-delivery is recognised. */
  alertId: text(1),
  source: v.picklist(['recovery-sweep', 'timeout-monitor']),
  severity: v.picklist(['info', 'warning', 'critical']),
  channel: v.picklist(CHANNELS),
  recipient: v.optional(text(1)),
  templateId: v.literal('ops_alert'),
  summary: text(1),
  data: jsonObject,
  createdAt: iso,
});
export type OpsAlertMessage = Infer<typeof OpsAlertMessageSchema>;

export const ChannelMessageSchema = v.variant('type', [RecoveryMessageSchema, OpsAlertMessageSchema]);
export type ChannelMessage = Infer<typeof ChannelMessageSchema>;

/** The address a contact has on a channel, if any. */
export function recipientFor(channel: Channel, contact: Contact | undefined): string | undefined {
  switch (channel) {
    case 'email':
      return contact?.email;
    case 'slack':
      return contact?.slackChannel;
    case 'sms':
      return contact?.phone;
    case 'whatsapp':
      return contact?.whatsapp ?? contact?.phone;
    case 'webhook':
      return contact?.webhookUrl;
  }
}

/** Ops alert recipients per channel, from config (`OPS_ALERT_RECIPIENTS`, JSON). */
export const OpsRecipientsSchema = v.strictObject({
  email: v.optional(v.array(email)),
  slack: v.optional(v.array(text(1))),
  sms: v.optional(v.array(e164)),
  whatsapp: v.optional(v.array(e164)),
  webhook: v.optional(v.array(httpUrl())),
});
export type OpsRecipients = Infer<typeof OpsRecipientsSchema>;

/** The timeline sort key of an attempt × channel outcome: right after its attempt, fixed by the message. */
export function outcomeSortKey(attemptAt: string, number: number, channel: Channel): string {
  return `${attemptAt}#notification#${String(number).padStart(4, '0')}#${channel}`;
}

export function attemptSortKey(attemptAt: string, number: number): string {
  return `${attemptAt}#attempt#${String(number).padStart(4, '0')}`;
}
