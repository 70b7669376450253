// Claiming one recovery attempt for a session: the only way an attempt is ever made, by the sweep and by
// the retry-now route alike. The claim and the attempt item commit together or not at all, fenced by the
// session's version, so two claimers of the same attempt cannot both win.
import type { AppContext } from '../context.ts';
import { ConflictError } from '../domain/errors.ts';
import { nextAttemptAt, type RetryPolicy } from '../domain/retry-policy.ts';
import { RETRYABLE_STATUSES, type Session, SessionSchema } from '../domain/session.ts';
import { attemptSortKey, type RecoveryMessage, recipientFor } from '../messages.ts';
import {
  type AttemptItem,
  attemptIdFor,
  markDispatched,
  outboxFields,
  publishMessages,
} from '../repositories/attempts.ts';
import { getSession, saveSession } from '../repositories/sessions.ts';
import { recordStats, type StatsBuffer } from '../repositories/stats.ts';
import { tryParse } from '../schema.ts';

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

/** Why a session cannot be attempted now, or undefined when it can. */
export function unclaimableReason(s: Session, now: Date, mode: ClaimOptions['mode']): string | undefined {
  if (!RETRYABLE_STATUSES.includes(s.status)) return `status is ${s.status}`;
  if (s.automation?.paused) return 'automation is paused';
  if (s.retryCount >= (s.maxRetries ?? 0)) return `all ${s.maxRetries ?? 0} retries are used`;
  if (s.leaseUntil && s.leaseUntil > now.toISOString())
    return `an attempt is being dispatched until ${s.leaseUntil}`;
  if (mode === 'sweep' && (!s.nextRetryAt || s.nextRetryAt > now.toISOString())) return 'no retry is due';
  return undefined;
}

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
  const why = unclaimableReason(seen, now, options.mode);
  if (why) throw new NotClaimableError(seen.sessionId, why);

  const number = seen.retryCount + 1;
  const maxRetries = seen.maxRetries ?? policy.maxRetries;
  const final = number >= maxRetries;
  const fence = seen.version + 1;
  const leaseUntil = new Date(now.getTime() + options.leaseSeconds * 1000).toISOString();
  const attemptId = attemptIdFor(seen.sessionId, number);
  const { overrideNextRetryAt: _applied, ...automation } = seen.automation ?? { paused: false };

  const next: Session = {
    ...seen,
    status: final ? 'exhausted' : 'recovering',
    retryCount: number,
    lastAttemptAt: at,
    attemptFence: fence,
    leaseOwner: options.owner,
    leaseUntil,
    automation,
    nextRetryAt: final
      ? undefined
      : nextAttemptAt(policy, seen.sessionId, number + 1, now, seen.contact?.timezone).toISOString(),
  };
  if (next.nextRetryAt === undefined) delete next.nextRetryAt;

  const attempt: AttemptItem = {
    sessionId: seen.sessionId,
    sk: attemptSortKey(at, number),
    type: 'attempt',
    at,
    attemptId,
    number,
    maxRetries,
    final,
    channels: [...policy.enabledChannels],
    state: 'queued',
    fence,
    messages: buildMessages(seen, policy, { attemptId, number, fence, at, final }),
    triggeredBy: options.triggeredBy,
    reason: options.reason,
    dispatchOwner: options.owner,
    ...outboxFields({ attemptId }, leaseUntil, ctx.shards),
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
  const counts = { orgId: seen.orgId, at: now, counts: { attempts: 1, exhausted: final ? 1 : 0 } };
  if (options.stats) options.stats.add(counts);
  else await recordStats(ctx, counts);
  return { session, attempt };
}

/**
 * Publishes a claimed attempt and marks it dispatched. Returns how many messages went out.
 * `afterPublish` is a test-only crash point (fault tests and the soak); production callers never pass it.
 */
export async function dispatchAttempt(
  ctx: AppContext,
  attempt: AttemptItem,
  afterPublish?: () => void | Promise<void>,
): Promise<number> {
  await publishMessages(ctx, attempt.messages);
  await afterPublish?.();
  await markDispatched(ctx, attempt);
  return attempt.messages.length;
}
