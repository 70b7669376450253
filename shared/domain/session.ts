// The session as stored and as registered: its schemas. Its statuses and state machine are in
// ./session-status.ts.
import * as v from 'valibot';
import { CHANNELS } from '../infra/resources.ts';
import { e164, email, httpUrl, type Infer, integer, isoDateTime, jsonObject, text } from '../schema.ts';
import { AmountSchema } from './amount.ts';
import { SESSION_STATUSES } from './session-status.ts';
import { isValidTimeZone } from './time-zone.ts';

// The statuses and the state machine live in ./session-status.ts (no schemas there, so a function that
// only needs them builds none); re-exported here for the modules that use both.
export * from './session-status.ts';

export const SESSION_ID = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits and . _ : - only, 1 to 128 characters'),
);

export const ContactSchema = v.strictObject({
  email: v.optional(v.pipe(email, v.maxLength(254))),
  phone: v.optional(e164),
  whatsapp: v.optional(e164),
  slackChannel: v.optional(text(1, 80)),
  webhookUrl: v.optional(httpUrl()),
  timezone: v.optional(
    v.pipe(text(0, 64), v.check(isValidTimeZone, 'an IANA time zone such as Europe/Paris')),
  ),
  name: v.optional(text(0, 200)),
});
export type Contact = Infer<typeof ContactSchema>;

const optionalIso = v.optional(isoDateTime);
const optionalString = v.optional(v.string());

const AutomationSchema = v.object({
  paused: v.optional(v.boolean(), false),
  overrideNextRetryAt: optionalIso,
  triggeredBy: optionalString,
  triggeredAt: optionalIso,
  reason: optionalString,
});
export type Automation = Infer<typeof AutomationSchema>;

const ChannelSchemaOf = v.picklist(CHANNELS);

/**
 * What preceded a recovery (#14): the attempt and the channels whose notification was sent or delivered before
 * it, within the attribution window. `attempt` 0 and no channels: nothing we sent preceded it. Written by
 * shared/usecases/attribution.ts only; stored as a plain object (every function bundles this schema).
 */
export interface RecoveryAttribution {
  /** When the session was recovered (the event's time, or the API call's). */
  readonly at: string;
  /** The attempt credited with the recovery (0: none). */
  readonly attempt: number;
  readonly attemptId?: string;
  readonly channels: readonly (typeof CHANNELS)[number][];
  /** Attempts made before the recovery (the session's retryCount then). */
  readonly attemptsMade: number;
  readonly amount?: { readonly value: number; readonly currency: string };
  /** The attribution window, in hours, the channels were looked for in. */
  readonly windowHours: number;
}

/** A session as stored. A loose object keeps attributes a newer writer added. */
export const SessionSchema = v.looseObject({
  sessionId: SESSION_ID,
  kind: text(1, 64),
  status: v.picklist(SESSION_STATUSES),
  orgId: v.optional(text(1, 128)),
  policyId: v.optional(text(1, 128)),
  contact: v.optional(ContactSchema),
  recoveryUrl: v.optional(text(0, 2048)),
  metadata: v.optional(jsonObject),
  /** What the session is worth (a checkout's total, an invoice's amount due). */
  amount: v.optional(AmountSchema),
  retryCount: integer(0),
  maxRetries: v.optional(integer(0)),
  nextRetryAt: optionalIso,
  lastAttemptAt: optionalIso,
  lastNotifiedAt: optionalIso,
  attemptFence: v.optional(integer()),
  /**
   * The latest attempt while it is still in the outbox (claimed, not yet on its channel queues). A session
   * with one is not claimable: attempts that cannot be dispatched never stack up.
   */
  pendingAttempt: v.optional(v.object({ attemptId: text(1), number: integer(1), claimedAt: isoDateTime })),
  /** When the latest attempt left the outbox; the next attempt's delay runs from here. */
  dispatchedAt: optionalIso,
  /** The channels of the latest attempt: the next attempt waits (bounded) until each has a final outcome. */
  lastAttemptChannels: v.optional(v.array(ChannelSchemaOf)),
  /** While the next attempt waits for the previous one's outcomes: when it was due (the wait is counted from here). */
  deferredRetryAt: optionalIso,
  /** `retryCount` when the current budget of retries began: the backoff restarts at delay(1) for each. */
  budgetStart: v.optional(integer(0)),
  /** The attempt a resume gave back (its reminders were skipped because the session was paused): once each. */
  rescheduledAttempt: v.optional(integer(1)),
  automation: v.optional(AutomationSchema),
  processingStartedAt: optionalIso,
  sizeBytes: v.optional(integer(0)),
  deadlineAt: optionalIso,
  warnAt: optionalIso,
  timedOutAt: optionalIso,
  previousStatus: v.optional(v.picklist(SESSION_STATUSES)),
  error: optionalString,
  version: integer(0),
  leaseOwner: optionalString,
  leaseUntil: optionalIso,
  dueShard: optionalString,
  deadlineShard: optionalString,
  /**
   * `byStatus` index keys: `<status>#<shard>`, and `<when the session entered its status>#<sessionId>` (a stamp
   * keeps it: only a change of status moves the index entry).
   */
  statusShard: optionalString,
  statusKey: optionalString,
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
});
/**
 * Written by our own code only, so not in the schema (a loose object keeps them as they are, and every
 * function bundles this schema): the recovery's attribution, and the latest product event applied (#14).
 */
export interface SessionEventFields {
  /** Set when the session was recovered: what preceded it. */
  recovery?: RecoveryAttribution;
  /** The time and id of the latest product event applied to it: older events no longer change it. */
  lastEventAt?: string;
  lastEventId?: string;
}
export type Session = Infer<typeof SessionSchema> & SessionEventFields;

export const ChannelSchema = ChannelSchemaOf;
