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
//      `skipped stale_fence` (logged as stale); recovered/completed/cancelled → `skipped <status>`; paused by an
//      operator → `skipped paused` (the attempt does not count: resuming the session schedules it again)
//   4. render + provider call
//      ok → `sent` (first, within the invocation's time), then lastNotifiedAt and the counter · permanent →
//      `failed` (reason) · anything else → lease released (`sending`, lastError) and
//      RetryableDeliveryError (kind transient) so SQS redelivers it.
// The window the design cannot close: a crash after the provider accepted and before step 5 is recorded
// leaves `sending` with a lease; once it expires the next delivery sends again (at most two sends).
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext, Clock } from '../context.ts';
import { inQuietHours, outOfQuietHours, quietEndSpreadSeconds } from '../domain/retry-policy.ts';
import { CHANNEL_QUEUES } from '../infra/resources.ts';
import type { ChannelMessage, RecoveryMessage } from '../messages.ts';
import { logger as defaultLogger } from '../observability/logger.ts';
import {
  PermanentProviderError,
  ProviderConfigError,
  RecipientOptedOutError,
  RenderError,
  TransientProviderError,
} from '../providers/errors.ts';
import type { ProviderResult, RenderedNotification } from '../providers/types.ts';
import { lookUpSuppression, recordProviderOptOut } from '../recipients/sender-checks.ts';
import {
  type ClaimResult,
  claimOutcome,
  completeOutcome,
  newClaimId,
  noteUnanswered,
  type OutcomeItem,
  type OutcomeKey,
  type OutcomeStatus,
  outcomeKey,
  PAUSED_AT_SEND,
  possibleSends,
  recordSentOutcome,
  releaseOutcome,
  skipOutcome,
  WINDOW_EXCEEDED,
} from '../repositories/outcomes.ts';
import { recordStats } from '../repositories/stats.ts';
import { type RenderContext, renderNotification } from '../templates/render.ts';
import type { ChannelConfigSource } from './config.ts';
import type { ProviderSource } from './providers.ts';
import { markSessionNotified, readSessionForDelivery, type SessionView } from './session-access.ts';

/**
 * The outcome's error for a notification that could not be rendered or composed: permanent, names the
 * template, and no provider was called.
 */
function renderFailure(message: ChannelMessage, error: RenderError): string {
  return `render_error: template ${message.templateId} (${message.channel}): ${error.reason}`.slice(0, 1000);
}

type LogFn = (message: string, ...extra: Record<string, unknown>[]) => void;
/** Provider calls without any answer after which the outcome is `failed` (each may have delivered). */
const MAX_UNANSWERED_TRIES = 2;
/**
 * Provider calls that may have delivered one notification, at most: a crash or a lost answer after the
 * provider accepted leaves the outcome unknown, so one more try is allowed, never a third.
 */
const MAX_POSSIBLE_SENDS = 2;

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

/** Where a sender says whether its channel can send (readyz, the DLQ listing): see channel-health.ts. */
export interface ChannelHealthReporter {
  misconfigured(reason: string, at: Date): Promise<void>;
  working(at: Date): Promise<void>;
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
  /** Reports misconfiguration and recovery from it; none in unit tests of the protocol. */
  readonly health?: ChannelHealthReporter;
  /** The invocation's remaining time in ms (Lambda's context): the `sent` write never outlives it. */
  readonly remainingMs?: () => number;
  /**
   * Applies the provider receipts that arrived before the send was recorded (receipts/apply.ts), right after
   * it is: given to the senders whose provider never retries a receipt (Twilio). Absent where receipts are
   * retried until the outcome is `sent` (SES, through EventBridge) or there are none (Slack, webhooks), so
   * those bundles do not carry the receipts code.
   */
  readonly keptReceipts?: KeptReceiptsApplier;
}

export type KeptReceiptsApplier = (ctx: AppContext, outcome: OutcomeKey) => Promise<unknown>;

/** Tries of a small write the delivery cannot hand back to SQS (a retry would send again), and the pause after each. */
const LOCAL_RETRY_BACKOFF_MS = [100, 400] as const;

/** `work`, tried again after a short pause when it throws, up to LOCAL_RETRY_BACKOFF_MS.length more times. */
async function withLocalRetries<T>(work: () => Promise<T>): Promise<T> {
  for (const pauseMs of LOCAL_RETRY_BACKOFF_MS) {
    try {
      return await work();
    } catch {
      await sleep(pauseMs);
    }
  }
  return work();
}

/** Left of the invocation when the `sent` write gives up: the handler still answers its batch. */
const INVOCATION_MARGIN_MS = 500;

export type DeliveryResult =
  | {
      readonly status: 'sent';
      readonly provider: string;
      readonly providerMessageId: string;
      readonly durationMs: number;
      /** Best-effort writes after the send that did not land in time (lastNotifiedAt, the counter). */
      readonly missed?: readonly string[];
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

/**
 * The record must come back later: a transient provider error, another sender holds the lease, or the channel
 * is misconfigured (the message fails until the configuration is fixed, then reaches the DLQ and pages).
 */
export class RetryableDeliveryError extends Error {
  constructor(
    message: string,
    readonly kind: 'transient' | 'in_flight' | 'misconfigured' | 'window_exceeded' | 'quiet_hours',
    readonly retryAfterSeconds?: number,
    readonly durationMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetryableDeliveryError';
  }
}

/**
 * Why a reminder must not reach this session now, or undefined when it may: only a session still being
 * recovered gets one — stalled or recovering, or exhausted for the final attempt that exhausted it. Never
 * one now active, processing, recovered, completed, cancelled, failed or timed out.
 */
function notRemindable(session: SessionView, message: RecoveryMessage): string | undefined {
  if (session.status === 'stalled' || session.status === 'recovering') return undefined;
  if (session.status === 'exhausted' && message.templateId === 'final_attempt') return undefined;
  return session.status;
}

function defaultLeaseSeconds(channel: ChannelMessage['channel']): number {
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

/**
 * Throws (kind `quiet_hours`, retry after the window's end) when `now` falls in the message's quiet hours:
 * its attempt was scheduled outside them, but a queue backlog, a retry-now or a replay brought it here
 * inside. Checked before anything is claimed or written, so a deferral costs no write.
 */
function deferInsideQuietHours(
  message: RecoveryMessage,
  now: Date,
  log: DeliveryLogger,
  keys: Record<string, unknown>,
): void {
  const quiet = message.quietHours;
  if (!quiet || !inQuietHours(now, quiet, quiet.timezone)) return;
  const end = outOfQuietHours(now, quiet, quiet.timezone);
  // Spread so a night of deferred messages does not come back at once; the claim counts the next attempt
  // from the same moment (goesOutAt).
  const spread = quietEndSpreadSeconds(message.attemptId, message.channel, message.number);
  const seconds = Math.ceil((end.getTime() - now.getTime()) / 1000) + spread;
  log.info('quiet hours: delivery deferred', {
    ...keys,
    quietHours: quiet,
    retryAfterSeconds: seconds,
  });
  throw new RetryableDeliveryError(`quiet hours until ${end.toISOString()}`, 'quiet_hours', seconds);
}

export async function deliverMessage(deps: DeliveryDeps, message: ChannelMessage): Promise<DeliveryResult> {
  const { ctx, clock } = deps;
  const log = deps.log ?? defaultLogger;
  const keys = logKeys(message);
  let orgId = orgOf(message);

  // Delivery stats are an org's: an ops alert belongs to none (it would land under the default org's sends).
  const count = async (status: 'sent' | 'failed' | 'skipped', at: Date, delta = 1) => {
    if (message.type !== 'recovery') return;
    await recordStats(ctx, { orgId, at, counts: { [`channel.${message.channel}.${status}`]: delta } });
  };

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
    if (current.status === 'failed' && current.error?.startsWith(WINDOW_EXCEEDED)) {
      // Kept failing until it reaches the DLQ, where only an operator's forced replay sends it again.
      throw new RetryableDeliveryError(current.error, 'window_exceeded');
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
  if (!config.enabled) {
    if (!('misconfigured' in config)) return skip(config.reason);
    // Enabled but unable to send: an error, never a skip. The message is retried and waits in the DLQ.
    log.error('channel misconfigured; the message fails and waits for a fix', {
      ...keys,
      reason: config.reason,
    });
    await deps.health?.misconfigured(config.reason, clock());
    throw new RetryableDeliveryError(config.reason, 'misconfigured');
  }
  if (!message.recipient) return skip('no_recipient');
  if (message.type === 'recovery') deferInsideQuietHours(message, clock(), log, keys);

  // #13: the recipient store is asked beside the claim (no extra round trip) and answered before the provider.
  const suppression = lookUpSuppression(ctx, message);
  const claimedAt = clock();
  const claimId = newClaimId();
  // Both settle before anything else happens: a claim whose answer comes after its delivery gave up would
  // still hold the lease and count as a possible send.
  const [claimed, read] = await Promise.allSettled([
    claimOutcome(ctx, message, {
      now: claimedAt,
      leaseSeconds: deps.leaseSeconds ?? defaultLeaseSeconds(message.channel),
      claimId,
    }),
    message.type === 'recovery' ? readSessionForDelivery(ctx, message.sessionId) : Promise.resolve(undefined),
  ]);
  /**
   * #20: this delivery dies before calling the provider, so its claim was never a possible send: it is
   * released (only while it is still ours; after a lost answer it may not exist), then the error goes on.
   */
  const dieBeforeProviderCall = async (error: unknown): Promise<never> => {
    // Tried again briefly: an unreleased claim counts toward the two possible sends.
    const released = await withLocalRetries(() =>
      releaseOutcome(ctx, message, {
        now: clock(),
        error: `died before the provider call: ${error instanceof Error ? error.message : String(error)}`,
        claimId,
        ownClaimOnly: true,
      }),
    ).catch(() => false);
    log.warn('died before the provider call; claim released', {
      ...keys,
      error: String(error),
      claimReleased: released,
    });
    throw error;
  };
  if (claimed.status === 'rejected') return dieBeforeProviderCall(claimed.reason);
  const claim: ClaimResult = claimed.value;
  if (!claim.claimed) return alreadyTaken(claim.current, claimedAt);
  if (read.status === 'rejected') return dieBeforeProviderCall(read.reason);
  const session = read.value;
  let provider: ReturnType<ProviderSource>;
  let renderContext: RenderContext = { stage: deps.stage };
  try {
    if (claim.item && possibleSends(claim.item) > MAX_POSSIBLE_SENDS) {
      // Two earlier tries may each have reached the person (a crash or a lost answer after the provider
      // took the message): a third call is refused. The message goes to the DLQ; a forced replay can lift it.
      const error = `${WINDOW_EXCEEDED}: ${possibleSends(claim.item) - 1} earlier provider calls may have delivered it; replay with force only after checking the provider`;
      await completeOutcome(ctx, message, { now: clock(), status: 'failed', provider: 'none', error });
      log.error('a third provider call refused: at most two sends', { ...keys, tries: claim.item.tries });
      await count('failed', clock());
      throw new RetryableDeliveryError(error, 'window_exceeded');
    }

    if (message.type === 'recovery') {
      let reason: string | undefined;
      if (!session) reason = 'session_not_found';
      else if (session.attemptFence !== undefined && message.fence < session.attemptFence) {
        log.warn('stale message dropped: a newer attempt fenced this one', {
          ...keys,
          attemptFence: session.attemptFence,
        });
        reason = 'stale_fence';
      } else
        reason = notRemindable(session, message) ?? (session.automation?.paused ? PAUSED_AT_SEND : undefined);
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

    provider = deps.providers(config);
  } catch (error) {
    // Deliberate outcomes and refusals (held lease, window exceeded) are no death: nothing to release.
    if (error instanceof RetryableDeliveryError) throw error;
    return dieBeforeProviderCall(error);
  }
  // Outside the try below: a crash here must not be taken for a provider error (which releases the lease).
  if (deps.faults?.beforeProviderCall) await deps.faults.beforeProviderCall(message);
  const started = performance.now();
  let providerMessageId: string;
  try {
    let rendered: RenderedNotification;
    try {
      rendered = renderNotification(message, message.channel, renderContext);
    } catch (error) {
      throw new RenderError(error instanceof Error ? error.message : String(error), { cause: error });
    }
    ({ providerMessageId } = await provider.send(message, rendered));
  } catch (error) {
    const durationMs = performance.now() - started;
    const now = clock();
    if (error instanceof ProviderConfigError) {
      // The provider refused our credentials or identity: nothing was sent, the channel is misconfigured.
      // Only our own claim: if our lease ran out mid-call, another delivery's claim is not ours to clear.
      await releaseOutcome(ctx, message, {
        now,
        error: error.reason,
        claimId: claim.claimId,
        ownClaimOnly: true,
      }).catch(() => false);
      log.error('the provider refused our configuration; the message fails and waits for a fix', {
        ...keys,
        provider: provider.name,
        error: error.reason,
      });
      await deps.health?.misconfigured(`channel_unconfigured: ${error.reason}`, now);
      throw new RetryableDeliveryError(error.reason, 'misconfigured', undefined, durationMs, {
        cause: error,
      });
    }
    if (error instanceof PermanentProviderError) {
      // #18: rendering or composing (a malformed header) failed before anything reached the provider: a
      // permanent failure that names the template, never "the provider did not answer".
      const reason = error instanceof RenderError ? renderFailure(message, error) : error.reason;
      const recorded = await completeOutcome(ctx, message, {
        now,
        status: 'failed',
        provider: provider.name,
        error: reason,
      });
      log.warn('notification failed for good', { ...keys, provider: provider.name, error: reason });
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
      await Promise.all([recorded ? count('failed', now) : undefined, deps.health?.working(now)]);
      return { status: 'failed', provider: provider.name, error: reason, durationMs };
    }
    const description = error instanceof Error ? error.message : String(error);
    // No answer at all (timeout, connection lost): the provider may have taken the message. One more try
    // is allowed, after the lease; a second unanswered try ends `failed`, so a provider that accepts but
    // answers late gets the message at most twice, the same bound as a crash in the provider window.
    const answered = error instanceof TransientProviderError && error.status !== undefined;
    if (!answered) {
      const unanswered = await noteUnanswered(ctx, message, { now, error: description, claimId }).catch(
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
      await releaseOutcome(ctx, message, {
        now,
        error: description,
        claimId: claim.claimId,
        ownClaimOnly: true,
      });
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

  if (deps.faults?.afterProviderCall) await deps.faults.afterProviderCall(message, { providerMessageId });
  const durationMs = performance.now() - started;
  const sentAt = clock();
  // The `sent` write first, alone, and within the invocation's remaining time (less the margin the handler
  // needs to answer its batch): it is the one write a retry depends on. Bounded per SDK call too, not only
  // between retries: one call's own retries once took 1.9 s of an 800 ms invocation (#20 item 8).
  // The budget bounds the retries (a slow call that lands is kept); the invocation's end bounds every call.
  const budget = CHANNEL_QUEUES.find((q) => q.channel === message.channel)?.sentWriteBudgetMs ?? 4000;
  const deadline = deps.remainingMs
    ? Date.now() + deps.remainingMs() - INVOCATION_MARGIN_MS
    : Number.POSITIVE_INFINITY;
  const recorded = await beforeDeadline(
    recordSentOutcome(
      ctx,
      message,
      { now: sentAt, provider: provider.name, providerMessageId },
      Math.min(Date.now() + budget, deadline),
    ),
    deadline,
    'the `sent` write',
  );
  // Then the best-effort writes, bounded by what is left of the invocation. The send is recorded: a
  // missed one must not turn into a retry (a second message). Each miss is logged and counted on the
  // result (the handler's BookkeepingMissed metric on the channel's dashboard row).
  const missed: string[] = [];
  const bestEffort = async (what: string, work: () => Promise<unknown> | undefined) => {
    try {
      await beforeDeadline(Promise.resolve(work()), deadline, what);
    } catch (error) {
      missed.push(what);
      log.error(`could not write ${what} after the send`, { ...keys, error: String(error) });
    }
  };
  await Promise.all([
    message.type === 'recovery'
      ? bestEffort('lastNotifiedAt', () => markSessionNotified(ctx, message.sessionId, sentAt))
      : undefined,
    // Counted only when this delivery recorded the outcome: another may have, after this one's lease ran out
    // mid-send.
    bestEffort('the sent counter', () => (recorded ? count('sent', sentAt) : undefined)),
    bestEffort('the channel health', () => deps.health?.working(sentAt)),
  ]);
  if (!recorded) {
    log.warn('sent, but another delivery had already recorded the outcome', { ...keys, providerMessageId });
  } else if (message.type === 'recovery' && deps.keptReceipts) {
    const applyKept = deps.keptReceipts;
    try {
      // Provider receipts that came before this write (a Twilio callback is never retried) move it now.
      // A throttled Query must not lose them for good: tried again briefly.
      await withLocalRetries(() => applyKept(ctx, outcomeKey(message)));
    } catch (error) {
      // The send is recorded: a retry would message the customer again. The receipts stay on the timeline;
      // the outcome shows `sent` where they say otherwise, so the org's stats count it for an operator.
      log.error('could not apply the receipts that arrived before the send was recorded', {
        ...keys,
        error: String(error),
      });
      await recordStats(ctx, { orgId, at: sentAt, counts: { 'receipts.unapplied': 1 } }).catch(
        () => undefined,
      );
    }
  }
  log.info('notification sent', { ...keys, provider: provider.name, providerMessageId, durationMs });
  return {
    status: 'sent',
    provider: provider.name,
    providerMessageId,
    durationMs,
    ...(missed.length > 0 ? { missed } : {}),
  };
}

/**
 * `work`, or an error once `deadline` (epoch ms) passes, whichever comes first. The work is not cancelled:
 * in Lambda it is frozen with the invocation; what matters is that the handler answers in time.
 */
async function beforeDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  if (deadline === Number.POSITIVE_INFINITY) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within the invocation's remaining time`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
