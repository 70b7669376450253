// A product event (#14), whichever way it came in (EventBridge, POST /v1/events, a signed Stripe or Shopify
// webhook, a checkout's abandonment timer), once mapped: which session, what it asks for, when it happened,
// and the fields it carries. Mappings build these; ./apply.ts applies them through the session use cases.
import type { Amount } from '../domain/amount.ts';
import type { FieldIssue } from '../domain/errors.ts';
import type { Contact, SessionStatus } from '../domain/session.ts';

/** Where an event came from; its id is unique within its source (the ledger's namespace). */
export type EventSource = 'generic' | 'stripe' | 'shopify';

/**
 * What the event asks of its session.
 * - `register`: start the session (with `startStatus`); on an existing one, only its fields change.
 * - `touch`: a checkout seen again: start it `active`, or update its fields (and restart its abandonment clock).
 * - `stall` / `process`: move it to `stalled` / `processing`, starting it when absent.
 * - `recover` / `complete` / `cancel`: end it so.
 * - `finish`: the customer paid: `recovered` when we were recovering it (stalled, recovering, exhausted),
 *   `completed` when it never stalled.
 */
export type EventAction =
  | 'register'
  | 'touch'
  | 'stall'
  | 'process'
  | 'recover'
  | 'complete'
  | 'cancel'
  | 'finish';

export const ENDING_ACTIONS: readonly EventAction[] = ['recover', 'complete', 'cancel', 'finish'];

export interface EventFields {
  readonly kind?: string;
  readonly orgId?: string;
  readonly policyId?: string;
  readonly sizeBytes?: number;
  readonly contact?: Contact;
  readonly recoveryUrl?: string;
  readonly amount?: Amount;
  readonly metadata?: Record<string, unknown>;
}

export interface ProductEvent {
  readonly source: EventSource;
  /** Unique within the source: the provider's event id, or the product's. Duplicates are no-ops by it. */
  readonly id: string;
  /** The provider's or product's type, for logs and the timeline (`checkout.session.expired`). */
  readonly type: string;
  /** When it happened: events are applied in this order, whatever order they arrive in. */
  readonly time: Date;
  /**
   * Made by this service, not reported by the product or its provider (a checkout's abandonment timer): it
   * never moves the session's event clock (`lastEventAt`), so no real event is stale against it.
   */
  readonly synthetic?: boolean;
  /**
   * A digest of the signed body the event came in (Shopify): the ledger keys the event on it as well as on
   * its id, so a captured body replayed under a fresh id is a duplicate.
   */
  readonly bodyDigest?: string;
  readonly sessionId: string;
  readonly action: EventAction;
  /** The status a session this event starts begins in (register, touch, stall, process). */
  readonly startStatus?: 'active' | 'stalled' | 'processing';
  readonly fields: EventFields;
  /** A `process` event: when processing started, when not the event's time. */
  readonly processingStartedAt?: string;
  /**
   * An ending event for a session we have not seen yet is kept (a marker) so that the start arriving later
   * ends at once. False for an ending that no start can follow (a Stripe checkout completed without a
   * recovery link: that checkout can never expire).
   * @default true
   */
  readonly keepIfEarly?: boolean;
  /** Apply only while the session's latest event is this one (a checkout timer a later update superseded). */
  readonly onlyIfLastEventId?: string;
  /** Apply only to a session in one of these statuses (others: not applicable, ignored). */
  readonly onlyFrom?: readonly SessionStatus[];
  /** Shopify checkouts: after applying, the session becomes stalled this long after the event, unless ordered. */
  readonly abandonAfterMinutes?: number;
}

/** An event we cannot read or do not handle: rejected with its reasons, counted, never retried. */
export class RejectedEventError extends Error {
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[] = [],
    readonly eventId?: string,
  ) {
    super(message);
    this.name = 'RejectedEventError';
  }
}

/** A well-formed event that asks for nothing we do (a Stripe event type we do not map): answered, counted. */
export interface IgnoredEvent {
  readonly ignored: true;
  readonly reason: string;
  readonly id?: string;
  readonly type?: string;
}

export type Mapped = ProductEvent | IgnoredEvent;

export function isIgnored(m: Mapped): m is IgnoredEvent {
  return 'ignored' in m;
}

export type Outcome = 'applied' | 'pending' | 'duplicate' | 'stale' | 'ignored';

export interface ApplyResult {
  readonly outcome: Outcome;
  readonly sessionId?: string;
  /** The status the session has after the event (absent when it does not exist). */
  readonly status?: SessionStatus;
  readonly orgId?: string;
  readonly reason?: string;
}
