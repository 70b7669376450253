// The delivery use case: one channel message → at most one provider call per lease, and exactly one
// final outcome item. Runs the same in Lambda, in the local runtime and in tests (collaborators are
// arguments). The protocol, in order:
//   1. channel disabled/unconfigured → `skipped` (reason); no recipient → `skipped no_recipient`
//      (written with the claim's condition, so a skip never overwrites a send either)
//   2. claim the outcome `sending` with a lease (conditional) and, for a recovery message, read the
//      session (consistent) at the same time — one round trip instead of two on the hot path.
//      Already final → duplicate, nothing done; held by a live lease → retry after the lease
//      (RetryableDeliveryError, kind in_flight).
//   3. with the claim held: session missing → `skipped session_not_found`; fence < attemptFence →
//      `skipped stale_fence` (logged as stale); recovered/completed/cancelled → `skipped <status>`
//   4. render + provider call
//      ok → `sent`, then the session's lastNotifiedAt and the stats counter together · permanent →
//      `failed` (reason) · anything else → lease released (`sending`, lastError) and
//      RetryableDeliveryError (kind transient) so SQS redelivers it.
// The window the design cannot close: a crash after the provider accepted and before step 5 is recorded
// leaves `sending` with a lease; once it expires the next delivery sends again (at most two sends).
import type { AppContext, Clock } from '../context.ts';
import { CHANNEL_QUEUES } from '../infra/resources.ts';
import type { ChannelMessage } from '../messages.ts';
import { logger as defaultLogger } from '../observability/logger.ts';
import {
  PermanentProviderError,
  RecipientOptedOutError,
  TransientProviderError,
} from '../providers/errors.ts';
import type { ProviderResult } from '../providers/types.ts';
import { lookUpSuppression, recordProviderOptOut } from '../recipients/sender-checks.ts';
import {
  claimOutcome,
  completeOutcome,
  noteUnanswered,
  type OutcomeItem,
  type OutcomeStatus,
  recordSentOutcome,
  releaseOutcome,
  skipOutcome,
} from '../repositories/outcomes.ts';
import { recordStats } from '../repositories/stats.ts';
import { type RenderContext, renderNotification } from '../templates/render.ts';
import type { ChannelConfigSource } from './config.ts';
import type { ProviderSource } from './providers.ts';
import { markSessionNotified, readSessionForDelivery } from './session-access.ts';

type LogFn = (message: string, ...extra: Record<string, unknown>[]) => void;
/** Provider calls without any answer after which the outcome is `failed` (each may have delivered). */
export const MAX_UNANSWERED_TRIES = 2;

export interface DeliveryLogger {
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

/**
 * Test-only crash points (test/faults and the soak pass them; production wiring never does, so they are off
 * unless a caller hands them in). A hook that throws stops the delivery right there, the way a killed
 * process would: nothing after it runs, no lease is released, no outcome is written.
 */
export interface DeliveryFaults {
  /** After the outcome `sending` claim (and the session checks), before the provider is called. */
  beforeProviderCall?(message: ChannelMessage): void | Promise<void>;
  /** After the provider accepted the message, before the `sent` outcome is written: the window. */
  afterProviderCall?(message: ChannelMessage, result: ProviderResult): void | Promise<void>;
}

export interface DeliveryDeps {
  readonly ctx: AppContext;
  readonly clock: Clock;
  readonly config: ChannelConfigSource;
  readonly providers: ProviderSource;
  /** How long a claim owns the send. Default: the sender's timeout + 5 s (below the queue's visibility). */
  readonly leaseSeconds?: number;
  /** Deployment stage, shown in ops alerts. */
  readonly stage?: string;
  readonly log?: DeliveryLogger;
  /** Test-only crash points; absent in production. */
  readonly faults?: DeliveryFaults;
}

export type DeliveryResult =
  | {
      readonly status: 'sent';
      readonly provider: string;
      readonly providerMessageId: string;
      readonly durationMs: number;
    }
  | {
      readonly status: 'failed';
      readonly provider: string;
      readonly error: string;
      readonly durationMs: number;
    }
  | { readonly status: 'skipped'; readonly reason: string }
  /** The outcome was already final: a duplicate delivery, a re-dispatch or a DLQ replay. */
  | { readonly status: 'duplicate'; readonly current: OutcomeStatus };

/** The record must come back later: a transient provider error, or another sender holds the lease. */
export class RetryableDeliveryError extends Error {
  constructor(
    message: string,
    readonly kind: 'transient' | 'in_flight',
    readonly retryAfterSeconds?: number,
    readonly durationMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetryableDeliveryError';
  }
}

/** Sessions that need no more reminders. */
const DONE_STATUSES = new Set(['recovered', 'completed', 'cancelled']);

export function defaultLeaseSeconds(channel: ChannelMessage['channel']): number {
  const queue = CHANNEL_QUEUES.find((q) => q.channel === channel);
  return (queue?.senderTimeoutSeconds ?? 10) + 5;
}

function logKeys(message: ChannelMessage): Record<string, unknown> {
  return message.type === 'recovery'
    ? {
        channel: message.channel,
        sessionId: message.sessionId,
        attemptId: message.attemptId,
        attemptNumber: message.number,
        fence: message.fence,
      }
    : { channel: message.channel, alertId: message.alertId, recipient: message.recipient };
}

function orgOf(message: ChannelMessage): string | undefined {
  const orgId = message.data.orgId;
  return typeof orgId === 'string' && orgId.length > 0 ? orgId : undefined;
}

export async function deliverMessage(deps: DeliveryDeps, message: ChannelMessage): Promise<DeliveryResult> {
  const { ctx, clock } = deps;
  const log = deps.log ?? defaultLogger;
  const keys = logKeys(message);
  let orgId = orgOf(message);

  const count = async (status: 'sent' | 'failed' | 'skipped', at: Date) =>
    recordStats(ctx, { orgId, at, counts: { [`channel.${message.channel}.${status}`]: 1 } });

  /** A final outcome already exists, or another sender is on it right now. */
  const alreadyTaken = (current: OutcomeItem, now: Date): DeliveryResult => {
    if (current.status === 'sending' && current.sendingUntil) {
      const left = Math.max(1, Math.ceil((Date.parse(current.sendingUntil) - now.getTime()) / 1000));
      log.info('another delivery holds this notification; retrying after its lease', {
        ...keys,
        retryAfterSeconds: left,
      });
      throw new RetryableDeliveryError(
        `another delivery holds the lease until ${current.sendingUntil}`,
        'in_flight',
        left,
      );
    }
    log.info('duplicate delivery ignored: the notification is already final', {
      ...keys,
      status: current.status,
    });
    return { status: 'duplicate', current: current.status };
  };

  const skip = async (reason: string): Promise<DeliveryResult> => {
    const now = clock();
    const written = await skipOutcome(ctx, message, { now, reason });
    if (!written.claimed) return alreadyTaken(written.current, now);
    log.info('notification skipped', { ...keys, reason });
    await count('skipped', now);
    return { status: 'skipped', reason };
  };

  const config = await deps.config(message.channel);
  if (!config.enabled) return skip(config.reason);
  if (!message.recipient) return skip('no_recipient');

  // #13: the recipient store is asked beside the claim (no extra round trip) and answered before the provider.
  const suppression = lookUpSuppression(ctx, message);
  const claimedAt = clock();
  const [claim, session] = await Promise.all([
    claimOutcome(ctx, message, {
      now: claimedAt,
      leaseSeconds: deps.leaseSeconds ?? defaultLeaseSeconds(message.channel),
    }),
    message.type === 'recovery' ? readSessionForDelivery(ctx, message.sessionId) : Promise.resolve(undefined),
  ]);
  if (!claim.claimed) return alreadyTaken(claim.current, claimedAt);

  let renderContext: RenderContext = { stage: deps.stage };
  if (message.type === 'recovery') {
    let reason: string | undefined;
    if (!session) reason = 'session_not_found';
    else if (session.attemptFence !== undefined && message.fence < session.attemptFence) {
      log.warn('stale message dropped: a newer attempt fenced this one', {
        ...keys,
        attemptFence: session.attemptFence,
      });
      reason = 'stale_fence';
    } else if (DONE_STATUSES.has(session.status)) reason = session.status;
    if (reason || !session) {
      const now = clock();
      const why = reason ?? 'session_not_found';
      if (await completeOutcome(ctx, message, { now, status: 'skipped', reason: why })) {
        log.info('notification skipped', { ...keys, reason: why });
        await count('skipped', now);
      }
      return { status: 'skipped', reason: why };
    }
    orgId = session.orgId ?? orgId;
    renderContext = {
      stage: deps.stage,
      recoveryUrl: session.recoveryUrl,
      name: session.contact?.name,
      kind: session.kind,
    };
  }

  // #13: a suppressed recipient (bounce, complaint, unsubscribe, STOP, operator) gets no provider call.
  const suppressed = await suppression();
  if (suppressed) {
    const now = clock();
    const why = `suppressed:${suppressed}`;
    if (await completeOutcome(ctx, message, { now, status: 'skipped', reason: why })) {
      log.info('notification skipped', { ...keys, reason: why });
      await count('skipped', now);
    }
    return { status: 'skipped', reason: why };
  }

  const provider = deps.providers(config);
  // Outside the try below: a crash here must not be taken for a provider error (which releases the lease).
  await deps.faults?.beforeProviderCall?.(message);
  const started = performance.now();
  let providerMessageId: string;
  try {
    const rendered = renderNotification(message, message.channel, renderContext);
    ({ providerMessageId } = await provider.send(message, rendered));
  } catch (error) {
    const durationMs = performance.now() - started;
    const now = clock();
    if (error instanceof PermanentProviderError) {
      const recorded = await completeOutcome(ctx, message, {
        now,
        status: 'failed',
        provider: provider.name,
        error: error.reason,
      });
      log.warn('notification failed for good', { ...keys, provider: provider.name, error: error.reason });
      // #13: the recipient opted out at the provider (Twilio 21610): no later attempt calls it again.
      if (error instanceof RecipientOptedOutError) {
        const noted = await recordProviderOptOut(ctx, message, {
          now,
          provider: provider.name,
          detail: error.reason,
        });
        if (!noted)
          log.error('could not record the opt-out the provider reported', { ...keys, error: error.reason });
      }
      if (recorded) await count('failed', now);
      return { status: 'failed', provider: provider.name, error: error.reason, durationMs };
    }
    const description = error instanceof Error ? error.message : String(error);
    // No answer at all (timeout, connection lost): the provider may have taken the message. One more try
    // is allowed, after the lease; a second unanswered try ends `failed`, so a provider that accepts but
    // answers late gets the message at most twice, the same bound as a crash in the provider window.
    const answered = error instanceof TransientProviderError && error.status !== undefined;
    if (!answered) {
      const unanswered = await noteUnanswered(ctx, message, { now, error: description }).catch(
        () => undefined,
      );
      if (unanswered !== undefined && unanswered >= MAX_UNANSWERED_TRIES) {
        const reason = `provider_unanswered: ${unanswered} tries got no answer (${description}); replay only after checking the provider`;
        const recorded = await completeOutcome(ctx, message, {
          now,
          status: 'failed',
          provider: provider.name,
          error: reason,
        });
        log.warn('notification failed: the provider never answered', {
          ...keys,
          provider: provider.name,
          error: reason,
        });
        if (recorded) await count('failed', now);
        return { status: 'failed', provider: provider.name, error: reason, durationMs };
      }
      log.warn('provider did not answer; one more try after the lease', {
        ...keys,
        provider: provider.name,
        error: description,
      });
      throw new RetryableDeliveryError(description, 'transient', undefined, durationMs, { cause: error });
    }
    try {
      await releaseOutcome(ctx, message, { now, error: description });
    } catch (releaseError) {
      // The lease then simply runs out; the next delivery after it takes over.
      log.error('could not release the outcome after a transient error', {
        ...keys,
        error: String(releaseError),
      });
    }
    const retryAfterSeconds = error instanceof TransientProviderError ? error.retryAfterSeconds : undefined;
    log.warn('transient send error; the message will be retried', {
      ...keys,
      provider: provider.name,
      error: description,
      retryAfterSeconds,
    });
    throw new RetryableDeliveryError(description, 'transient', retryAfterSeconds, durationMs, {
      cause: error,
    });
  }

  await deps.faults?.afterProviderCall?.(message, { providerMessageId });
  const durationMs = performance.now() - started;
  const sentAt = clock();
  const recorded = await recordSentOutcome(ctx, message, {
    now: sentAt,
    provider: provider.name,
    providerMessageId,
  });
  if (!recorded) {
    // Only after a lease expired mid-send: a second sender took over and finished first; its outcome stands.
    log.warn('sent, but another delivery had already recorded the outcome', { ...keys, providerMessageId });
  }
  const stamp = async () => {
    if (message.type !== 'recovery') return;
    try {
      await markSessionNotified(ctx, message.sessionId, sentAt);
    } catch (error) {
      // The send is recorded; a missed stamp must not turn into a retry (and a second message).
      log.error('could not stamp lastNotifiedAt on the session', { ...keys, error: String(error) });
    }
  };
  // Independent writes, one round trip; the counter only when this delivery's outcome is the one recorded.
  await Promise.all([stamp(), recorded ? count('sent', sentAt) : Promise.resolve()]);
  log.info('notification sent', { ...keys, provider: provider.name, providerMessageId, durationMs });
  return { status: 'sent', provider: provider.name, providerMessageId, durationMs };
}
