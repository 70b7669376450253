// The versioned contract of what goes on a channel queue: one recovery notification per attempt × channel,
// or one ops alert per run × channel. Producers build it with these schemas, senders parse it with them.
import * as z from 'zod';
import type { Contact } from './domain/session.ts';
import { CHANNELS, type Channel } from './infra/resources.ts';

export const TEMPLATE_IDS = ['recovery_attempt', 'final_attempt', 'timeout_notice', 'ops_alert'] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

const iso = z.iso.datetime({ offset: true });

export const RecoveryMessageSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('recovery'),
    attemptId: z.string().min(1),
    sessionId: z.string().min(1),
    /** 1-based attempt number, and the policy's maximum, so a template can say "last reminder". */
    number: z.number().int().min(1),
    maxRetries: z.number().int().min(0),
    /** The session version the claim wrote; a message older than the session's `attemptFence` is stale. */
    fence: z.number().int().min(0),
    /** When the attempt was made: with number and channel it fixes the outcome's timeline key. */
    attemptAt: iso,
    channel: z.enum(CHANNELS),
    /** Address on that channel; absent when the contact has none (the sender records `skipped`). */
    recipient: z.string().min(1).optional(),
    templateId: z.enum(TEMPLATE_IDS),
    data: z.record(z.string(), z.unknown()),
    createdAt: iso,
  })
  .strict();
export type RecoveryMessage = z.infer<typeof RecoveryMessageSchema>;

export const OpsAlertMessageSchema = z
  .object({
    v: z.literal(1),
    type: z.literal('ops_alert'),
    /** One alert per run: the run id, so a re-delivery is recognised. */
    alertId: z.string().min(1),
    source: z.enum(['recovery-sweep', 'timeout-monitor']),
    severity: z.enum(['info', 'warning', 'critical']),
    channel: z.enum(CHANNELS),
    recipient: z.string().min(1).optional(),
    templateId: z.literal('ops_alert'),
    summary: z.string().min(1),
    data: z.record(z.string(), z.unknown()),
    createdAt: iso,
  })
  .strict();
export type OpsAlertMessage = z.infer<typeof OpsAlertMessageSchema>;

export const ChannelMessageSchema = z.discriminatedUnion('type', [
  RecoveryMessageSchema,
  OpsAlertMessageSchema,
]);
export type ChannelMessage = z.infer<typeof ChannelMessageSchema>;

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
export const OpsRecipientsSchema = z
  .object({
    email: z.array(z.email()).optional(),
    slack: z.array(z.string().min(1)).optional(),
    sms: z.array(z.string().regex(/^\+[1-9]\d{6,14}$/)).optional(),
    whatsapp: z.array(z.string().regex(/^\+[1-9]\d{6,14}$/)).optional(),
    webhook: z.array(z.url()).optional(),
  })
  .strict();
export type OpsRecipients = z.infer<typeof OpsRecipientsSchema>;

/** The timeline sort key of an attempt × channel outcome: right after its attempt, fixed by the message. */
export function outcomeSortKey(attemptAt: string, number: number, channel: Channel): string {
  return `${attemptAt}#notification#${String(number).padStart(4, '0')}#${channel}`;
}

export function attemptSortKey(attemptAt: string, number: number): string {
  return `${attemptAt}#attempt#${String(number).padStart(4, '0')}`;
}
