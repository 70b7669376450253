// An operator's "retry now": one attempt made at once through claimAttempt, the same conditional claim the
// sweep uses, so a sweep racing the operator on the same session can never produce a second attempt.
import type { AppContext } from '../context.ts';
import { VersionMismatchError } from '../domain/errors.ts';
import { goesOutAt } from '../domain/retry-policy.ts';
import type { Channel } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import { noteDispatchFailure } from '../repositories/attempts.ts';
import { getActivePolicy, requirePolicy } from '../repositories/policies.ts';
import { requireSession } from '../repositories/sessions.ts';
import { settingsOf } from '../settings.ts';
import {
  claimAttempt,
  claimability,
  dispatchAttempt,
  NotClaimableError,
  previousAttemptUnsettled,
  unsettledReason,
} from './claim-attempt.ts';
import type { Audit } from './sessions.ts';

export interface RetryNowResult {
  readonly attemptId: string;
  readonly number: number;
  readonly channels: Channel[];
  /** False when publishing failed after the claim: the attempt waits in the outbox for the next sweep. */
  readonly dispatched: boolean;
  /**
   * Claimed inside the policy's quiet hours: when the message goes out (the window's end plus its spread;
   * the senders hold it until then). Absent when it goes at once.
   */
  readonly deferredUntil?: string;
}

export async function retryNow(
  ctx: AppContext,
  sessionId: string,
  audit: Audit & { readonly owner: string },
  ifMatch?: number,
): Promise<RetryNowResult> {
  const seen = await requireSession(ctx, sessionId);
  if (ifMatch !== undefined && ifMatch !== seen.version)
    throw new VersionMismatchError(ifMatch, seen.version);
  const policy = seen.policyId
    ? await requirePolicy(ctx, seen.policyId)
    : await getActivePolicy(ctx, seen.orgId);
  // The previous attempt's notifications still on their way would be superseded by a new attempt: refuse,
  // saying which and until when (the sweep waits for them the same way).
  const now = ctx.clock();
  const check = claimability(seen, now, 'retry-now');
  if (!check.ok) throw new NotClaimableError(sessionId, check.reason);
  const unsettled = await previousAttemptUnsettled(ctx, seen, now);
  if (unsettled) throw new NotClaimableError(sessionId, unsettledReason(unsettled));
  // NotClaimableError (a ConflictError) when the session is not retryable now or another claimer won.
  const claimed = await claimAttempt(ctx, seen, policy, {
    owner: audit.owner,
    triggeredBy: audit.triggeredBy,
    leaseSeconds: settingsOf(ctx).dispatchLeaseSeconds,
    mode: 'retry-now',
    reason: audit.reason,
  });
  const { attempt } = claimed;
  let dispatched = true;
  try {
    await dispatchAttempt(ctx, claimed, { policyFor: async () => policy });
  } catch (error) {
    // The claim committed with its outbox item: the attempt is not lost, the next sweep publishes it once
    // the dispatch lease has passed (the outbox-age alarm pages if it cannot). Telling the caller beats
    // failing a request whose effect happened.
    dispatched = false;
    await noteDispatchFailure(ctx, attempt, error);
    logger.error('retry-now: dispatch failed, attempt left in the outbox', {
      sessionId,
      attemptId: attempt.attemptId,
      error,
    });
  }
  const out = goesOutAt(now, policy.quietHours, seen.contact?.timezone, attempt);
  return {
    attemptId: attempt.attemptId,
    number: attempt.number,
    channels: attempt.channels,
    dispatched,
    ...(out.getTime() > now.getTime() ? { deferredUntil: out.toISOString() } : {}),
  };
}
