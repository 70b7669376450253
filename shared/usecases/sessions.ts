// What the product and operators do to a session: register it, report progress, pause, resume, move its
// next retry, recover a timed-out one, reset stuck ones. Each is one conditional write with its timeline
// events, through saveSession.
import { isDeepStrictEqual } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { deadlineFor } from '../domain/deadline.ts';
import { ConflictError, DomainError, ThrottledError, VersionMismatchError } from '../domain/errors.ts';
import { delayIndex, nextAttemptAt, outOfQuietHours, type RetryPolicy } from '../domain/retry-policy.ts';
import { assertTransition, RETRYABLE_STATUSES, type Session, SessionSchema } from '../domain/session.ts';
import {
  RESET_STUCK_MAX_LIMIT,
  RESET_STUCK_READ_BUDGET,
  type RegenerateInput,
  type RegisterSessionInput,
  type UpdateSessionInput,
} from '../domain/session-input.ts';
import { attemptHeldByPause } from '../repositories/outcomes.ts';
import { getActivePolicy, requirePolicy } from '../repositories/policies.ts';
import {
  getSession,
  requireSession,
  type SaveSessionInput,
  saveSession,
  statusShardOf,
  type TimelineEvent,
} from '../repositories/sessions.ts';
import { STATUS_SHARDS, shardNumbers } from '../repositories/shards.ts';
import { recordStats } from '../repositories/stats.ts';
import { settingsOf, timeoutRuleFor } from '../settings.ts';
import { attributeRecovery, describeAttribution, recoveryCounters } from './attribution.ts';
import { assertMessagesFit } from './message-size.ts';

export {
  type RegenerateInput,
  RegenerateSchema,
  type RegisterSessionInput,
  RegisterSessionSchema,
  type UpdateSessionInput,
  UpdateSessionSchema,
} from '../domain/session-input.ts';

import { type Infer, integer, isoDateTime, parse, safeParse } from '../schema.ts';

/** How far ahead of our clock a product's `processingStartedAt` may be (its clock may run a little fast). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface Audit {
  readonly triggeredBy: string;
  readonly reason?: string;
}

/**
 * What a product event (#14) adds to a registration or an update: the ledger entry that must commit with the
 * session or not at all, the event clock stamped on the session, the event named on the timeline, a check
 * on the session as read (its order against earlier events), and the event's own time.
 */
export interface SessionWriteOptions {
  readonly extraItems?: SaveSessionInput['extraItems'];
  readonly stamp?: Pick<Session, 'lastEventAt' | 'lastEventId'>;
  readonly timeline?: Record<string, unknown>;
  /** Runs on every read of the session before the write; throws to refuse the change. */
  readonly check?: (current: Session) => void;
  /** When the change happened, when not now: a recovery is attributed as of then. */
  readonly at?: Date;
}

/** The event stamp as written: `lastEventAt` only ever moves forward, whatever the caller checked before. */
function stampOnto(current: Session, stamp: SessionWriteOptions['stamp']): SessionWriteOptions['stamp'] {
  if (!stamp?.lastEventAt || !current.lastEventAt || stamp.lastEventAt >= current.lastEventAt) return stamp;
  return { ...stamp, lastEventAt: current.lastEventAt };
}

function auditFields(audit: Audit, at: string) {
  return { triggeredBy: audit.triggeredBy, ...(audit.reason ? { reason: audit.reason } : {}), at };
}

/** Starts (or restarts) the retry clock of a session entering `stalled`. */
function enterStalled(s: Session, policy: RetryPolicy, now: Date): Session {
  // A new stall after the budget was used gives a fresh budget on top of the attempts already made, so
  // attempt numbers (and their ids) keep counting up and never repeat; its backoff restarts at delay(1).
  const fresh = s.retryCount >= (s.maxRetries ?? 0);
  const next: Session = {
    ...s,
    status: 'stalled',
    policyId: policy.policyId,
    maxRetries: fresh ? s.retryCount + policy.maxRetries : (s.maxRetries ?? policy.maxRetries),
    ...(fresh && s.retryCount > 0 ? { budgetStart: s.retryCount } : {}),
  };
  const step = delayIndex(next, next.retryCount + 1);
  return {
    ...next,
    nextRetryAt: nextAttemptAt(policy, s.sessionId, step, now, s.contact?.timezone).toISOString(),
  };
}

function enterProcessing(ctx: AppContext, s: Session, startedAt: Date): Session {
  const rule = timeoutRuleFor(settingsOf(ctx), s.kind);
  return {
    ...s,
    status: 'processing',
    processingStartedAt: startedAt.toISOString(),
    ...deadlineFor(rule, startedAt, s.sizeBytes),
  };
}

async function policyFor(ctx: AppContext, s: Pick<Session, 'policyId' | 'orgId'>): Promise<RetryPolicy> {
  return s.policyId ? requirePolicy(ctx, s.policyId) : getActivePolicy(ctx, s.orgId);
}

/** Registers a session; the same registration again is a no-op (`created: false`). */
export async function registerSession(
  ctx: AppContext,
  input: RegisterSessionInput,
  audit: Audit,
  options: SessionWriteOptions = {},
): Promise<{ session: Session; created: boolean }> {
  const now = ctx.clock();
  const at = now.toISOString();
  if (
    input.processingStartedAt &&
    Date.parse(input.processingStartedAt) > now.getTime() + MAX_CLOCK_SKEW_MS
  ) {
    throw new DomainError('validation', 'processingStartedAt is in the future', {
      fields: [
        {
          path: 'processingStartedAt',
          message: `more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes in the future: the deadline would never come`,
        },
      ],
    });
  }
  const existing = await getSession(ctx, input.sessionId);
  if (existing) return sameRegistration(existing, input);
  const policy = await policyFor(ctx, input);
  let session: Session = parse(SessionSchema, {
    ...input,
    policyId: policy.policyId,
    maxRetries: policy.maxRetries,
    ...options.stamp,
    retryCount: 0,
    version: 0,
    createdAt: at,
    updatedAt: at,
  });
  if (input.status === 'stalled') session = enterStalled(session, policy, now);
  if (input.status === 'processing') {
    session = enterProcessing(
      ctx,
      session,
      input.processingStartedAt ? new Date(input.processingStartedAt) : now,
    );
  }
  assertMessagesFit(session);
  let saved: Session;
  try {
    saved = await saveSession(ctx, {
      next: session,
      events: [
        { type: 'registered', status: session.status, ...options.timeline, ...auditFields(audit, at) },
      ],
      ...(options.extraItems ? { extraItems: options.extraItems } : {}),
    });
  } catch (error) {
    // A concurrent identical registration (a product retrying after a timeout) won the race: still a no-op.
    const current = error instanceof ConflictError ? safeParse(SessionSchema, error.current) : undefined;
    if (current?.success) return sameRegistration(current.data, input);
    throw error;
  }
  await recordStats(ctx, { orgId: saved.orgId, at: now, counts: { sessions: 1 } });
  return { session: saved, created: true };
}

/** The same registration again is a no-op; other content under the same id is a conflict. */
function sameRegistration(
  existing: Session,
  input: RegisterSessionInput,
): { session: Session; created: false } {
  const same = (Object.keys(input) as Array<keyof RegisterSessionInput>).every(
    (k) => k === 'status' || k === 'processingStartedAt' || isDeepStrictEqual(existing[k], input[k]),
  );
  if (!same)
    throw new ConflictError(`session ${input.sessionId} already exists with other content`, existing);
  return { session: existing, created: false };
}

function checkIfMatch(s: Session, ifMatch: number | undefined): void {
  if (ifMatch !== undefined && ifMatch !== s.version) throw new VersionMismatchError(ifMatch, s.version);
}

/** Tries of a read-modify-write whose write lost to a concurrent one (a sender's stamp, a sweep's claim). */
const REWRITE_TRIES = 5;

/** Whether a write lost only because the item moved on since it was read (not because of its own rules). */
function lostToConcurrentWrite(error: unknown, read: Session): boolean {
  if (!(error instanceof ConflictError) || error instanceof VersionMismatchError) return false;
  // The session's own condition held; an item written with it (a product event's ledger entry) refused.
  if (error.reasons[0] === 'None' && !error.reasons.includes('TransactionConflict')) return false;
  const stored = error.current?.version;
  return stored === undefined || stored !== read.version || /TransactionConflict/.test(error.message);
}

/**
 * Reads the session and writes what `change` makes of it. Without If-Match the caller means "apply this to
 * the session as it is", so a write that lost to a concurrent one (a sender's `lastNotifiedAt` stamp, a
 * sweep's claim) is read again and retried, a few times with jitter; only a stale If-Match is a 409.
 */
async function rewriteSession<T>(
  ctx: AppContext,
  sessionId: string,
  ifMatch: number | undefined,
  change: (current: Session) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const current = await requireSession(ctx, sessionId);
    checkIfMatch(current, ifMatch);
    try {
      return await change(current);
    } catch (error) {
      if (ifMatch !== undefined || attempt >= REWRITE_TRIES || !lostToConcurrentWrite(error, current)) {
        throw error;
      }
      const ms = 10 * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, ms / 2 + Math.random() * (ms / 2)));
    }
  }
}

/** The product reporting progress. `recovered`/`completed`/`cancelled` end automation. */
export async function updateSession(
  ctx: AppContext,
  sessionId: string,
  patch: UpdateSessionInput,
  audit: Audit,
  ifMatch?: number,
  options: SessionWriteOptions = {},
): Promise<Session> {
  const { saved, previous } = await rewriteSession(ctx, sessionId, ifMatch, async (current) => {
    options.check?.(current);
    const now = ctx.clock();
    const at = now.toISOString();
    let next: Session = { ...current, ...stampOnto(current, options.stamp) };
    if (patch.amount) next.amount = patch.amount;
    if (patch.contact) next.contact = { ...current.contact, ...patch.contact };
    if (patch.recoveryUrl) next.recoveryUrl = patch.recoveryUrl;
    if (patch.metadata) next.metadata = { ...current.metadata, ...patch.metadata };
    if (patch.sizeBytes !== undefined) next.sizeBytes = patch.sizeBytes;
    const events: TimelineEvent[] = [];
    const to = patch.status;
    if (to && to !== current.status) {
      assertTransition(current.status, to);
      if (to === 'stalled') next = enterStalled(next, await policyFor(ctx, next), now);
      else if (to === 'processing') next = enterProcessing(ctx, next, now);
      else next.status = to;
      let attribution: Record<string, unknown> = {};
      if (to === 'recovered') {
        next.recovery = await attributeRecovery(ctx, current, {
          at: options.at ?? now,
          ...(next.amount ? { amount: next.amount } : {}),
        });
        attribution = { recovery: next.recovery, summary: describeAttribution(next.recovery) };
      }
      events.push({
        type: 'status_changed',
        from: current.status,
        to,
        ...attribution,
        ...options.timeline,
        ...auditFields(audit, at),
      });
    } else if (
      patch.sizeBytes !== undefined &&
      current.status === 'processing' &&
      current.processingStartedAt
    ) {
      // A session that grew while processing gets the deadline its new size earns.
      next = {
        ...next,
        ...deadlineFor(
          timeoutRuleFor(settingsOf(ctx), next.kind),
          new Date(current.processingStartedAt),
          next.sizeBytes,
        ),
      };
    }
    if (events.length === 0 && options.timeline) {
      // A product event that changes no status still leaves its mark on the story.
      events.push({ type: 'event_applied', ...options.timeline, ...auditFields(audit, at) });
    }
    assertMessagesFit(next);
    return {
      saved: await saveSession(ctx, {
        previous: current,
        next,
        events,
        ...(options.extraItems ? { extraItems: options.extraItems } : {}),
      }),
      previous: current,
    };
  });
  if (patch.status === 'recovered' && previous.status !== 'recovered') {
    await recordStats(ctx, {
      orgId: saved.orgId,
      at: ctx.clock(),
      counts: {
        recovered: 1,
        [`recoveredAfter.${saved.retryCount}`]: 1,
        ...(saved.recovery ? recoveryCounters(saved.recovery) : {}),
      },
    });
  }
  await uncountExhaustion(ctx, previous, saved);
  return saved;
}

/**
 * A session counts once in `successRate`: one that leaves `exhausted` (recovered after its last attempt, or
 * given more retries) takes back the `exhausted` it was counted under, in the hour and day it was counted
 * (its last attempt's). Cancelling an exhausted session keeps it counted: it was not recovered.
 */
async function uncountExhaustion(ctx: AppContext, previous: Session, saved: Session): Promise<void> {
  if (previous.status !== 'exhausted' || (saved.status !== 'recovered' && saved.status !== 'stalled')) return;
  await recordStats(ctx, {
    orgId: saved.orgId,
    at: previous.lastAttemptAt ? new Date(previous.lastAttemptAt) : ctx.clock(),
    counts: { exhausted: -1 },
  });
}

export async function setSessionPaused(
  ctx: AppContext,
  sessionId: string,
  paused: boolean,
  audit: Audit,
  ifMatch?: number,
): Promise<Session> {
  const { saved, previous } = await rewriteSession(ctx, sessionId, ifMatch, async (current) => {
    const now = ctx.clock();
    const at = now.toISOString();
    let next: Session = {
      ...current,
      automation: {
        ...current.automation,
        paused,
        triggeredBy: audit.triggeredBy,
        triggeredAt: at,
        reason: audit.reason,
      },
    };
    const rescheduled = !paused && (await heldByPause(ctx, current)) ? current.retryCount : undefined;
    if (rescheduled !== undefined) next = await scheduleAgain(ctx, next, now);
    const saved = await saveSession(ctx, {
      previous: current,
      next,
      events: [
        {
          type: paused ? 'paused' : 'resumed',
          ...(rescheduled !== undefined
            ? { rescheduledAttempt: rescheduled, nextRetryAt: next.nextRetryAt }
            : {}),
          ...auditFields(audit, at),
        },
      ],
    });
    return { saved, previous: current };
  });
  await uncountExhaustion(ctx, previous, saved);
  return saved;
}

/**
 * #18: whether the session's latest attempt reached nobody because the session was paused when its messages
 * were about to go (the senders skipped them `paused`), and was not given back yet.
 */
async function heldByPause(ctx: AppContext, s: Session): Promise<boolean> {
  if (!s.automation?.paused || !s.retryCount || s.rescheduledAttempt === s.retryCount) return false;
  if (!s.lastAttemptAt || !s.lastAttemptChannels?.length || s.pendingAttempt) return false;
  return attemptHeldByPause(ctx, {
    sessionId: s.sessionId,
    number: s.retryCount,
    at: s.lastAttemptAt,
    channels: s.lastAttemptChannels,
  });
}

/**
 * The attempt the pause held back does not count: one more retry in the budget (attempt numbers never
 * repeat), back to `stalled` if it had exhausted the session, and due now (out of quiet hours).
 */
async function scheduleAgain(ctx: AppContext, s: Session, now: Date): Promise<Session> {
  const policy = await policyFor(ctx, s);
  return {
    ...s,
    ...(s.status === 'exhausted' ? { status: 'stalled' as const } : {}),
    maxRetries: (s.maxRetries ?? policy.maxRetries) + 1,
    rescheduledAttempt: s.retryCount,
    nextRetryAt: outOfQuietHours(now, policy.quietHours, s.contact?.timezone).toISOString(),
  };
}

/** Moves the next retry to `overrideNextRetryAt` (now when absent); `automated: false` also pauses. */
export async function overrideNextRetry(
  ctx: AppContext,
  sessionId: string,
  input: RegenerateInput,
  audit: Audit,
  ifMatch?: number,
): Promise<Session> {
  const { saved, previous } = await rewriteSession(ctx, sessionId, ifMatch, async (current) => {
    const now = ctx.clock();
    const at = now.toISOString();
    const when = input.overrideNextRetryAt ? new Date(input.overrideNextRetryAt).toISOString() : at;
    let next: Session = { ...current };
    if (current.status === 'exhausted') {
      assertTransition('exhausted', 'stalled');
      next = enterStalled(next, await policyFor(ctx, next), now);
    } else if (!RETRYABLE_STATUSES.includes(current.status)) {
      throw new DomainError('illegal_transition', `a ${current.status} session has no retries to move`);
    }
    next = {
      ...next,
      nextRetryAt: when,
      automation: {
        ...current.automation,
        paused: input.automated === false ? true : (current.automation?.paused ?? false),
        overrideNextRetryAt: when,
        triggeredBy: audit.triggeredBy,
        triggeredAt: at,
        reason: input.reason ?? audit.reason,
      },
    };
    const saved = await saveSession(ctx, {
      previous: current,
      next,
      events: [
        {
          type: 'override',
          overrideNextRetryAt: when,
          automated: input.automated ?? true,
          ...auditFields(audit, at),
        },
      ],
    });
    return { saved, previous: current };
  });
  await uncountExhaustion(ctx, previous, saved);
  return saved;
}

/** processing → timed_out keeping every attribute; the monitor and reset-stuck both end here. */
export async function timeOutSession(
  ctx: AppContext,
  seen: Session,
  input: { error: string; eventType: 'timed_out' | 'reset'; audit: Audit },
): Promise<Session> {
  const at = ctx.clock().toISOString();
  const next: Session = {
    ...seen,
    status: 'timed_out',
    previousStatus: seen.status,
    timedOutAt: at,
    error: input.error,
  };
  return saveSession(ctx, {
    previous: seen,
    next,
    condition: {
      expression: '#status = :processing',
      names: { '#status': 'status' },
      values: { ':processing': 'processing' },
    },
    events: [
      {
        type: input.eventType,
        error: input.error,
        deadlineAt: seen.deadlineAt,
        ...auditFields(input.audit, at),
      },
    ],
  });
}

/** An operator sends a timed-out session back to processing with a fresh deadline. */
export async function recoverTimedOut(
  ctx: AppContext,
  sessionId: string,
  audit: Audit,
  ifMatch?: number,
): Promise<Session> {
  return rewriteSession(ctx, sessionId, ifMatch, (current) => {
    assertTransition(current.status, 'processing');
    if (current.status !== 'timed_out') {
      throw new DomainError(
        'illegal_transition',
        `only a timed_out session can be recovered, this one is ${current.status}`,
      );
    }
    const now = ctx.clock();
    // Back to processing: the timeout's error and time leave the session (its timeline keeps them).
    const { error: _error, timedOutAt: _timedOutAt, previousStatus: _previous, ...rest } = current;
    const next = enterProcessing(ctx, rest, now);
    return saveSession(ctx, {
      previous: current,
      next,
      events: [
        {
          type: 'recovered_by_operator',
          from: 'timed_out',
          deadlineAt: next.deadlineAt,
          ...auditFields(audit, now.toISOString()),
        },
      ],
    });
  });
}

export interface StuckMatch {
  readonly sessionId: string;
  readonly minutesStuck: number;
}

/**
 * Where a reset-stuck continues: the `byStatus` sort key (`<processing since>#<sessionId>`, unique) of the last
 * entry looked at, and the totals so far.
 */
export const ResetStuckPosition = v.strictObject({
  /** The cutoff the first call computed: every call of one reset compares with the same time. */
  cutoff: isoDateTime,
  key: v.pipe(v.string(), v.maxLength(300)),
  matched: integer(0, 1e9),
  changed: integer(0, 1e9),
});
export type ResetStuckPosition = Infer<typeof ResetStuckPosition>;

/** A match a real reset did not time out, and why. */
export interface StuckNotChanged {
  readonly sessionId: string;
  /**
   * `throttled`: DynamoDB refused for capacity; not counted in `matched`, the continuation tries it again.
   * `changed_meanwhile`: written since it was read (finished, timed out, reported on); a new reset finds it
   * if it is still processing past the cutoff.
   */
  readonly reason: 'throttled' | 'changed_meanwhile';
}

export interface ResetStuckResult {
  readonly dryRun: boolean;
  /** The matches this call settled (at most `limit`): throttled ones it never tried are not among them. */
  readonly matched: StuckMatch[];
  /** Sessions this call timed out. */
  readonly changed: number;
  /** The ids of those sessions. */
  readonly changedSessionIds: string[];
  /** Matches this call did not time out (a real reset), and why. */
  readonly notChanged: StuckNotChanged[];
  /** Set when DynamoDB throttled part-way: wait this long before continuing with `next`. */
  readonly retryAfterSeconds: number | null;
  /** Whether sessions not looked at yet remain: continue with `next`. */
  readonly more: boolean;
  readonly next: ResetStuckPosition | undefined;
  /** Matches and changes of this call and the calls it continues. */
  readonly total: { readonly matched: number; readonly changed: number };
  /** `total.matched` counts only what was looked at so far: true until the last call (`more: false`). */
  readonly matchedIsLowerBound: boolean;
}

/**
 * Emergency reset, one bounded batch per call: processing sessions started before the cutoff, read through
 * the status index (no scan) from `position`, at most `limit` matches and RESET_STUCK_READ_BUDGET entries
 * read; dry run unless told otherwise. The answer says whether more remain and where to continue.
 */
export async function resetStuckSessions(
  ctx: AppContext,
  input: {
    olderThanMinutes: number;
    dryRun: boolean;
    limit?: number;
    position?: ResetStuckPosition;
    /** Entries read at most (RESET_STUCK_READ_BUDGET, which it cannot exceed); tests walk with less. */
    readBudget?: number;
  },
  audit: Audit,
): Promise<ResetStuckResult> {
  const now = ctx.clock();
  const limit = Math.max(1, Math.min(input.limit ?? 100, RESET_STUCK_MAX_LIMIT));
  const cutoff =
    input.position?.cutoff ?? new Date(now.getTime() - input.olderThanMinutes * 60_000).toISOString();
  // Each shard of `processing` is read oldest first from just after the last key looked at, up to the cutoff
  // (the sort key starts with when the session began processing, so every entry read is a match); the
  // shards are merged and the oldest `limit` taken. Reads: at most `limit` per shard, within the budget.
  const after = input.position?.key;
  const budget = Math.min(input.readBudget ?? RESET_STUCK_READ_BUDGET, RESET_STUCK_READ_BUDGET);
  const perShard = Math.max(1, Math.min(limit, Math.floor(budget / STATUS_SHARDS)));
  const shards = await Promise.all(
    shardNumbers(STATUS_SHARDS).map(async (shard) => {
      const page = await ctx.ddb.send(
        new QueryCommand({
          TableName: ctx.tables.sessions,
          IndexName: 'byStatus',
          KeyConditionExpression: after
            ? '#ss = :ss AND #sk BETWEEN :after AND :cutoff'
            : '#ss = :ss AND #sk < :cutoff',
          ExpressionAttributeNames: { '#ss': 'statusShard', '#sk': 'statusKey' },
          ExpressionAttributeValues: {
            ':ss': statusShardOf('processing', shard),
            ':cutoff': cutoff,
            ...(after ? { ':after': after } : {}),
          },
          Limit: perShard + (after ? 1 : 0),
        }),
      );
      const items = (page.Items ?? []).filter((item) => item.statusKey !== after);
      return { items, more: page.LastEvaluatedKey !== undefined };
    }),
  );
  const keyOf = (item: Record<string, unknown>) => String(item.statusKey);
  // A shard that filled its page may hold more entries older than what the others returned: the merge goes
  // no further than the last entry of the shortest-reaching such shard, so the cursor never passes an entry
  // no call has read. That entry itself is read, so every call takes at least one.
  let frontier: string | undefined;
  for (const sh of shards) {
    const lastRead = sh.items.at(-1);
    if (!sh.more || !lastRead) continue;
    if (frontier === undefined || keyOf(lastRead) < frontier) frontier = keyOf(lastRead);
  }
  const entries = shards
    .flatMap((sh) => sh.items)
    .filter((item) => frontier === undefined || keyOf(item) <= frontier)
    .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const taken = entries.slice(0, limit);
  // More remain when an entry was left untaken or a shard stopped at its page.
  let more = entries.length > taken.length || shards.some((sh) => sh.more);
  const stuck: Array<{ session: Session; minutesStuck: number; key: string }> = [];
  for (const item of taken) {
    const parsed = safeParse(SessionSchema, item);
    const startedAt = parsed.success ? parsed.data.processingStartedAt : undefined;
    if (parsed.success && startedAt && startedAt < cutoff) {
      stuck.push({
        session: parsed.data,
        minutesStuck: Math.floor((now.getTime() - new Date(startedAt).getTime()) / 60_000),
        key: keyOf(item),
      });
    }
  }
  let lastSeen = taken.length ? keyOf(taken.at(-1)!) : after;
  if (!taken.length) more = false;

  // Matches this call settled (all of them, unless DynamoDB throttled part-way).
  let settled = stuck.length;
  const changedSessionIds: string[] = [];
  const notChanged: StuckNotChanged[] = [];
  let retryAfterSeconds: number | null = null;
  if (!input.dryRun) {
    for (const [i, { session, minutesStuck }] of stuck.entries()) {
      try {
        await timeOutSession(ctx, session, {
          error: `reset by operator after ${minutesStuck} min in processing`,
          eventType: 'reset',
          audit,
        });
        changedSessionIds.push(session.sessionId);
      } catch (error) {
        if (error instanceof ThrottledError) {
          // Nothing changed yet: the refusal (503, Retry-After) is the whole truth.
          if (!changedSessionIds.length) throw error;
          // Some changed: say which, and continue from the first one not tried, so the cursor tries the
          // rest again (after the wait) and no session is counted twice.
          settled = i;
          lastSeen = stuck[i - 1]!.key;
          more = true;
          retryAfterSeconds = error.retryAfterSeconds;
          for (const rest of stuck.slice(i)) {
            notChanged.push({ sessionId: rest.session.sessionId, reason: 'throttled' });
          }
          break;
        }
        if (!(error instanceof ConflictError)) throw error;
        // Written meanwhile (finished, timed out by the monitor, or reported on): looked at again only by a
        // new reset, which finds it if it is still processing past the cutoff.
        notChanged.push({ sessionId: session.sessionId, reason: 'changed_meanwhile' });
      }
    }
  }
  const changed = changedSessionIds.length;
  const total = {
    matched: (input.position?.matched ?? 0) + settled,
    changed: (input.position?.changed ?? 0) + changed,
  };
  const next =
    more && lastSeen ? { cutoff, key: lastSeen, matched: total.matched, changed: total.changed } : undefined;
  return {
    dryRun: input.dryRun,
    matched: stuck
      .slice(0, settled)
      .map(({ session, minutesStuck }) => ({ sessionId: session.sessionId, minutesStuck })),
    changed,
    changedSessionIds,
    notChanged,
    retryAfterSeconds,
    more: next !== undefined,
    next,
    total,
    matchedIsLowerBound: next !== undefined,
  };
}
