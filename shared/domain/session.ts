// The session: its schema (what every stored item and incoming registration must satisfy) and the
// state machine that decides which status changes are legal.
import * as z from 'zod';
import { CHANNELS } from '../infra/resources.ts';
import { DomainError } from './errors.ts';

export const SESSION_STATUSES = [
  'active',
  'stalled',
  'recovering',
  'recovered',
  'exhausted',
  'cancelled',
  'processing',
  'completed',
  'failed',
  'timed_out',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses in which the sweep may make a recovery attempt. */
export const RETRYABLE_STATUSES: readonly SessionStatus[] = ['stalled', 'recovering'];

/**
 * Legal transitions. `completed` and `cancelled` are final. `exhausted` still accepts a late `recovered`
 * (a customer who comes back after the last reminder counts), `cancelled`, and `stalled` (an operator
 * gives it a new budget). `timed_out` can be sent back to `processing` by an operator.
 */
const TRANSITIONS: Record<SessionStatus, readonly SessionStatus[]> = {
  active: ['stalled', 'processing', 'completed', 'cancelled', 'failed', 'recovered'],
  stalled: ['recovering', 'recovered', 'exhausted', 'cancelled', 'active', 'completed', 'processing'],
  recovering: ['recovered', 'exhausted', 'cancelled', 'stalled', 'active', 'completed', 'processing'],
  recovered: ['completed', 'processing'],
  exhausted: ['recovered', 'cancelled', 'stalled'],
  cancelled: [],
  processing: ['completed', 'failed', 'timed_out', 'cancelled', 'stalled'],
  completed: [],
  failed: ['stalled', 'processing'],
  timed_out: ['processing', 'failed', 'completed', 'cancelled'],
};

export class IllegalTransitionError extends DomainError {
  constructor(
    readonly from: SessionStatus,
    readonly to: SessionStatus,
  ) {
    super('illegal_transition', `a session cannot go from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

export function assertTransition(from: SessionStatus, to: SessionStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

export const SESSION_ID = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits and . _ : - only, 1 to 128 characters');

const isoDate = z.iso.datetime({ offset: true });

export const ContactSchema = z
  .object({
    email: z.email().max(254).optional(),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, 'E.164, e.g. +14155550100')
      .optional(),
    whatsapp: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, 'E.164, e.g. +14155550100')
      .optional(),
    slackChannel: z.string().min(1).max(80).optional(),
    webhookUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    timezone: z.string().max(64).refine(isValidTimeZone, 'an IANA time zone such as Europe/Paris').optional(),
    name: z.string().max(200).optional(),
  })
  .strict();
export type Contact = z.infer<typeof ContactSchema>;

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const AutomationSchema = z.object({
  paused: z.boolean().default(false),
  overrideNextRetryAt: isoDate.optional(),
  triggeredBy: z.string().optional(),
  triggeredAt: isoDate.optional(),
  reason: z.string().optional(),
});
export type Automation = z.infer<typeof AutomationSchema>;

/** A session as stored. `.passthrough()` keeps attributes a newer writer added. */
export const SessionSchema = z
  .object({
    sessionId: SESSION_ID,
    kind: z.string().min(1).max(64),
    status: z.enum(SESSION_STATUSES),
    orgId: z.string().min(1).max(128).optional(),
    policyId: z.string().min(1).max(128).optional(),
    contact: ContactSchema.optional(),
    recoveryUrl: z.string().max(2048).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    retryCount: z.number().int().min(0),
    maxRetries: z.number().int().min(0).optional(),
    nextRetryAt: isoDate.optional(),
    lastAttemptAt: isoDate.optional(),
    lastNotifiedAt: isoDate.optional(),
    attemptFence: z.number().int().optional(),
    automation: AutomationSchema.optional(),
    processingStartedAt: isoDate.optional(),
    sizeBytes: z.number().int().min(0).optional(),
    deadlineAt: isoDate.optional(),
    warnAt: isoDate.optional(),
    timedOutAt: isoDate.optional(),
    previousStatus: z.enum(SESSION_STATUSES).optional(),
    error: z.string().optional(),
    version: z.number().int().min(0),
    leaseOwner: z.string().optional(),
    leaseUntil: isoDate.optional(),
    dueShard: z.string().optional(),
    deadlineShard: z.string().optional(),
    createdAt: isoDate,
    updatedAt: isoDate,
  })
  .passthrough();
export type Session = z.infer<typeof SessionSchema>;

export const ChannelSchema = z.enum(CHANNELS);
