// Claiming and dispatching one recovery attempt: the only way an attempt is ever made, by the sweep and by the
// retry-now route alike. The claim and the attempt item commit together or not at all, fenced by the
// session's version, so two claimers of the same attempt cannot both win. An attempt counts when it has left
// the outbox: until then the session is not claimable again, and the next attempt's delay runs from the
// dispatch. After the dispatch, the next attempt also waits (bounded) for this one's notifications to reach
// a final outcome, so a queue backlog delays the next reminder instead of superseding this one. The truth
// of "final" is the outcome items themselves (one consistent Query at claim time), not a copy on the session.
import type { AppContext } from '../context.ts';
import { ConflictError } from '../domain/errors.ts';
import {
  delayIndex,
  goesOutAt,
  nextAttemptAt,
  quietHoursZone,
  type RetryPolicy,
} from '../domain/retry-policy.ts';
import { RETRYABLE_STATUSES, type Session, SessionSchema } from '../domain/session.ts';
import type { Channel } from '../infra/resources.ts';
import { attemptSortKey, type RecoveryMessage, recipientFor } from '../messages.ts';
import {
  type AttemptItem,
  attemptIdFor,
  dispatchedUpdate,
  markDispatched,
  outboxFields,
  publishMessages,
} from '../repositories/attempts.ts';
import { unsettledChannels } from '../repositories/outcomes.ts';
import { getSession, saveSession } from '../repositories/sessions.ts';
import { recordStats, type StatsBuffer } from '../repositories/stats.ts';
import { tryParse } from '../schema.ts';
import { settingsOf } from '../settings.ts';

export interface ClaimOptions {
  /** Who is claiming: a run id, or the API caller. */
  readonly owner: string;
  readonly triggeredBy: string;
  /** Dispatch lease: past it, the next sweep re-dispatches a still-queued attempt. */
  readonly leaseSeconds: number;
  /** `sweep` requires the retry to be due; `retry-now` makes it due now. */
  readonly mode: 'sweep' | 'retry-now';
  readonly reason?: string;
  /** Where counters go; written immediately when absent. */
  readonly stats?: StatsBuffer;
}

export interface Claimed {
  readonly session: Session;
  readonly attempt: AttemptItem;
}

export class NotClaimableError extends ConflictError {
  constructor(sessionId: string, why: string) {
    super(`session ${sessionId} cannot be attempted now: ${why}`);
    this.name = 'NotClaimableError';
  }
}

/** Whether a session can be attempted now, and if not, why. */
export type Claimability = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The checks a session's own item can answer (the claim's condition re-checks them on the base item). */
export function claimability(s: Session, now: Date, mode: ClaimOptions['mode']): Claimability {
  const no = (reason: string) => ({ ok: false as const, reason });
  if (!RETRYABLE_STATUSES.includes(s.status)) return no(`status is ${s.status}`);
  if (s.automation?.paused) return no('automation is paused');
  if (s.retryCount >= (s.maxRetries ?? 0)) return no(`all ${s.maxRetries ?? 0} retries are used`);
  if (s.pendingAttempt) {
    return no(
      `attempt ${s.pendingAttempt.number} (claimed ${s.pendingAttempt.claimedAt}) has not left the outbox yet`,
    );
  }
  if (s.leaseUntil && s.leaseUntil > now.toISOString())
    return no(`an attempt is being dispatched until ${s.leaseUntil}`);
  if (mode === 'sweep' && (!s.nextRetryAt || s.nextRetryAt > now.toISOString())) return no('no retry is due');
  return { ok: true };
}

/** The previous attempt's channels still without a final outcome, and how long the next one waits, at most. */
export interface Unsettled {
  readonly number: number;
  readonly channels: readonly Channel[];
  /** When the next attempt was due. */
  readonly dueAt: Date;
  /** Due + `outcomeWaitSeconds`: past it the next attempt goes ahead (a channel that stays down). */
  readonly waitEnds: Date;
}

/**
 * Whether the session's latest attempt still has notifications on their way (no final outcome) while the
 * next one may still wait for them: the next attempt is delayed past its due time by `outcomeWaitSeconds`
 * at most. Undefined when it need not wait: all settled, the wait is over, or the session has no attempt
 * whose channels it knows.
 */
export async function previousAttemptUnsettled(
  ctx: AppContext,
  s: Session,
  now: Date,
): Promise<Unsettled | undefined> {
  if (!s.retryCount || !s.lastAttemptAt || !s.lastAttemptChannels?.length) return undefined;
  const due = s.deferredRetryAt ?? s.nextRetryAt ?? now.toISOString();
  const dueAt = new Date(Math.min(Date.parse(due), now.getTime()));
  const waitEnds = new Date(dueAt.getTime() + settingsOf(ctx).outcomeWaitSeconds * 1000);
  if (waitEnds <= now) return undefined;
  const channels = await unsettledChannels(ctx, {
    sessionId: s.sessionId,
    number: s.retryCount,
    at: s.lastAttemptAt,
    channels: s.lastAttemptChannels,
  });
  return channels.length ? { number: s.retryCount, channels, dueAt, waitEnds } : undefined;
}

/** Why a retry now must wait for the previous attempt's outcomes, in words. */
export function unsettledReason(u: Unsettled): string {
  return `attempt ${u.number}'s notifications on ${u.channels.join(', ')} have no final outcome yet (the next attempt waits for them until ${u.waitEnds.toISOString()} at most)`;
}

/** A deferred reminder is looked at again no sooner than this (each look is a read and a write). */
const MIN_RECHECK_MS = 10_000;

/**
 * When a deferred session is looked at again: a quarter of the time it has waited past its due time, at
 * least one sweep period (and 10 s) and at most 5 minutes, never past the end of the wait.
 */
function recheckAt(ctx: AppContext, u: Unsettled, now: Date): Date {
  const rate = settingsOf(ctx).schedules['recovery-sweep'].rateSeconds * 1000;
  const waited = now.getTime() - u.dueAt.getTime();
  const step = Math.min(300_000, Math.max(rate, MIN_RECHECK_MS, waited / 4));
  return new Date(Math.min(now.getTime() + step, u.waitEnds.getTime()));
}

/** The messages an attempt publishes, one per enabled channel (also sized at registration: ./message-size.ts). */
export function buildMessages(
  s: Session,
  policy: RetryPolicy,
  attempt: { attemptId: string; number: number; fence: number; at: string; final: boolean },
): RecoveryMessage[] {
  return policy.enabledChannels.map((channel) => ({
    v: 1,
    type: 'recovery',
    attemptId: attempt.attemptId,
    sessionId: s.sessionId,
    number: attempt.number,
    maxRetries: s.maxRetries ?? policy.maxRetries,
    fence: attempt.fence,
    attemptAt: attempt.at,
    channel,
    recipient: recipientFor(channel, s.contact),
    templateId: attempt.final ? 'final_attempt' : 'recovery_attempt',
    data: {
      kind: s.kind,
      orgId: s.orgId,
      recoveryUrl: s.recoveryUrl,
      name: s.contact?.name,
    },
    createdAt: attempt.at,
    // Checked again by the sender: a message that reaches it inside the window waits for its end.
    ...(policy.quietHours
      ? {
          quietHours: {
            ...policy.quietHours,
            timezone: quietHoursZone(policy.quietHours, s.contact?.timezone),
          },
        }
      : {}),
  }));
}

/** Claims the next attempt of `seen` (as read, possibly from the eventually consistent index). */
export async function claimAttempt(
  ctx: AppContext,
  seen: Session,
  policy: RetryPolicy,
  options: ClaimOptions,
): Promise<Claimed> {
  const now = ctx.clock();
  const at = now.toISOString();
  const check = claimability(seen, now, options.mode);
  if (!check.ok) throw new NotClaimableError(seen.sessionId, check.reason);

  const number = seen.retryCount + 1;
  const maxRetries = seen.maxRetries ?? policy.maxRetries;
  const final = number >= maxRetries;
  const fence = seen.version + 1;
  const leaseUntil = new Date(now.getTime() + options.leaseSeconds * 1000).toISOString();
  const attemptId = attemptIdFor(seen.sessionId, number);
  const { overrideNextRetryAt: _applied, ...automation } = seen.automation ?? { paused: false };
  const channels = [...policy.enabledChannels];

  const next: Session = {
    ...seen,
    status: final ? 'exhausted' : 'recovering',
    retryCount: number,
    lastAttemptAt: at,
    attemptFence: fence,
    leaseOwner: options.owner,
    leaseUntil,
    automation,
    pendingAttempt: { attemptId, number, claimedAt: at },
    lastAttemptChannels: channels,
    // Tentative (the session is not due while its attempt is in the outbox): the dispatch sets it for real.
    nextRetryAt: final
      ? undefined
      : nextAttemptAt(
          policy,
          seen.sessionId,
          delayIndex(seen, number + 1),
          goesOutAt(now, policy.quietHours, seen.contact?.timezone, { attemptId, number, channels }),
          seen.contact?.timezone,
        ).toISOString(),
  };
  if (next.nextRetryAt === undefined) delete next.nextRetryAt;
  delete next.dispatchedAt;
  delete next.deferredRetryAt;

  const attempt: AttemptItem = {
    sessionId: seen.sessionId,
    sk: attemptSortKey(at, number),
    type: 'attempt',
    at,
    attemptId,
    number,
    maxRetries,
    final,
    channels,
    state: 'queued',
    fence,
    messages: buildMessages(seen, policy, { attemptId, number, fence, at, final }),
    triggeredBy: options.triggeredBy,
    reason: options.reason,
    ...outboxFields(attemptId, leaseUntil, ctx.shards, options.owner),
  };
  if (attempt.reason === undefined) delete attempt.reason;

  let session: Session;
  try {
    session = await saveSession(ctx, {
      previous: seen,
      next,
      stats: options.stats,
      condition: {
        expression:
          '#status IN (:stalled, :recovering) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        names: { '#status': 'status' },
        values: { ':stalled': 'stalled', ':recovering': 'recovering', ':now': at },
      },
      extraItems: [
        {
          Put: {
            TableName: ctx.tables.timeline,
            Item: attempt,
            ConditionExpression: 'attribute_not_exists(sk)',
          },
        },
      ],
    });
  } catch (error) {
    // A claim can commit and still answer with an error (the answer was lost on every SDK attempt).
    // If the stored session carries our fence and lease, the claim is ours: go on and publish it.
    // A retried transaction whose first try landed comes back as a conflict carrying that stored item.
    const stored =
      error instanceof ConflictError
        ? tryParse(SessionSchema, error.current)
        : await getSession(ctx, seen.sessionId).catch(() => undefined);
    if (stored?.attemptFence !== fence || stored.leaseOwner !== options.owner) throw error;
    session = stored;
  }
  if (final) {
    const counts = { orgId: seen.orgId, at: now, counts: { exhausted: 1 } };
    if (options.stats) options.stats.add(counts);
    else await recordStats(ctx, counts);
  }
  return { session, attempt };
}

/**
 * The session once `attempt` has left the outbox: no longer pending, its dispatch lease released, and its
 * next retry counted from now (an operator's override set meanwhile wins). Undefined when the session's
 * pending attempt is another one (or none): then the session has nothing to learn from this dispatch.
 */
function afterDispatch(
  s: Session,
  attempt: Pick<AttemptItem, 'attemptId'>,
  policy: RetryPolicy,
  now: Date,
): Session | undefined {
  if (s.pendingAttempt?.attemptId !== attempt.attemptId) return undefined;
  const next: Session = { ...s, dispatchedAt: now.toISOString() };
  delete next.pendingAttempt;
  delete next.leaseOwner;
  delete next.leaseUntil;
  if (RETRYABLE_STATUSES.includes(s.status) && s.retryCount < (s.maxRetries ?? 0)) {
    // Counted from when its messages go out: at the end of the quiet window when dispatched inside it.
    const out = goesOutAt(now, policy.quietHours, s.contact?.timezone, {
      attemptId: attempt.attemptId,
      number: s.retryCount,
      channels: s.lastAttemptChannels ?? policy.enabledChannels,
    });
    next.nextRetryAt =
      s.automation?.overrideNextRetryAt ??
      nextAttemptAt(
        policy,
        s.sessionId,
        delayIndex(s, s.retryCount + 1),
        out,
        s.contact?.timezone,
      ).toISOString();
  }
  return next;
}

/** Where the dispatch finds what it needs: the session as the claim left it (if at hand) and its policy. */
export interface DispatchDeps {
  readonly session?: Session;
  readonly policyFor: (s: Session) => Promise<RetryPolicy>;
  readonly stats?: StatsBuffer;
}

/** Tries of the dispatch write when the session moved meanwhile (a sender already settling an outcome). */
const DISPATCH_WRITE_TRIES = 6;

/**
 * queued → dispatched, together with the session (not pending any more, next retry counted from now), in one
 * transaction: a crash can never leave the attempt dispatched and the session waiting for it. Returns false
 * when another runner marked it dispatched first.
 */
export async function completeDispatch(
  ctx: AppContext,
  attempt: AttemptItem,
  deps: DispatchDeps,
): Promise<boolean> {
  let session = deps.session;
  for (let tryNo = 1; ; tryNo++) {
    const now = ctx.clock();
    if (!session || tryNo > 1) session = await getSession(ctx, attempt.sessionId);
    const next = session ? afterDispatch(session, attempt, await deps.policyFor(session), now) : undefined;
    if (!session || !next) {
      if (!(await markDispatched(ctx, attempt))) return false;
      break;
    }
    try {
      await saveSession(ctx, {
        previous: session,
        next,
        stats: deps.stats,
        extraItems: [{ Update: dispatchedUpdate(ctx, attempt, now.toISOString()) }],
      });
      break;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      const codes = error.reasons;
      // The attempt's own condition failed: another runner dispatched it (or our lost answer did).
      if (codes.at(-1) === 'ConditionalCheckFailed') return false;
      if (tryNo >= DISPATCH_WRITE_TRIES) throw error;
    }
  }
  const counts = { orgId: session?.orgId, at: ctx.clock(), counts: { attempts: 1 } };
  if (deps.stats) deps.stats.add(counts);
  else await recordStats(ctx, counts);
  return true;
}

/**
 * Publishes a claimed attempt and takes it out of the outbox. Returns how many messages went out.
 * `afterPublish` is a test-only crash point (fault tests and the soak); production callers never pass it.
 */
export async function dispatchAttempt(
  ctx: AppContext,
  claimed: Claimed,
  deps: Omit<DispatchDeps, 'session'>,
  afterPublish?: () => void | Promise<void>,
): Promise<number> {
  await publishMessages(ctx, claimed.attempt.messages);
  if (afterPublish) await afterPublish();
  await completeDispatch(ctx, claimed.attempt, { ...deps, session: claimed.session });
  return claimed.attempt.messages.length;
}

/**
 * The next attempt is due but the previous one's notifications are still on their way: look again later
 * (bounded by the end of the wait), and say so on the timeline.
 */
export async function deferAttempt(
  ctx: AppContext,
  seen: Session,
  unsettled: Unsettled,
  audit: { triggeredBy: string; stats?: StatsBuffer },
): Promise<Session> {
  const now = ctx.clock();
  const until = recheckAt(ctx, unsettled, now);
  // The timeline says it once per attempt; later looks only move the next one.
  const first = seen.deferredRetryAt === undefined;
  return saveSession(ctx, {
    previous: seen,
    next: { ...seen, nextRetryAt: until.toISOString(), deferredRetryAt: unsettled.dueAt.toISOString() },
    stats: audit.stats,
    events: !first
      ? []
      : [
          {
            type: 'deferred',
            at: now.toISOString(),
            number: seen.retryCount + 1,
            waitingFor: [...unsettled.channels],
            dueAt: unsettled.dueAt.toISOString(),
            recheckAt: until.toISOString(),
            waitEnds: unsettled.waitEnds.toISOString(),
            triggeredBy: audit.triggeredBy,
          },
        ],
  });
}
