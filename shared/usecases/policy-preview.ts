// The preview of a retry policy: the attempts the sweep will make, computed with the very functions the
// claim uses (planSchedule → nextAttemptAt), so what the operator reads is what will happen.
import type { AppContext } from '../context.ts';
import {
  delaySeconds,
  planSchedule,
  type RetryPolicy,
  type ScheduledAttempt,
} from '../domain/retry-policy.ts';
import { RETRYABLE_STATUSES, type Session } from '../domain/session.ts';
import { requirePolicy } from '../repositories/policies.ts';
import { requireSession } from '../repositories/sessions.ts';

export interface Preview {
  policyId: string;
  sessionId: string | null;
  /** `session`: continued from the session's next retry; `from`: started at `from` (or now). */
  basis: 'session' | 'from';
  schedule: ScheduledAttempt[];
}

/** Jitter is fixed per session id: without one, the plan is the one a session with this id would get. */
const ANY_SESSION = 'preview';

/**
 * A session that the sweep will retry has its next attempt at `nextRetryAt` (already fixed, override
 * included); each claim then sets the following one from the claim time. A session the sweep will not
 * retry (paused, not stalled, out of retries) gets the plan it would have from `from`.
 */
function sessionPlan(policy: RetryPolicy, s: Session): ScheduledAttempt[] | undefined {
  const maxRetries = s.maxRetries ?? policy.maxRetries;
  const retryable =
    RETRYABLE_STATUSES.includes(s.status) &&
    !s.automation?.paused &&
    s.nextRetryAt &&
    s.retryCount < maxRetries;
  if (!retryable || !s.nextRetryAt) return undefined;
  const rules = { ...policy, maxRetries };
  const first = s.retryCount + 1;
  const budgetStart = s.budgetStart ?? 0;
  const at = new Date(s.nextRetryAt);
  return [
    {
      attempt: first,
      at: at.toISOString(),
      delaySeconds: delaySeconds(rules, s.sessionId, first - budgetStart),
      channels: policy.enabledChannels,
    },
    ...planSchedule(rules, s.sessionId, at, first, s.contact?.timezone, budgetStart),
  ];
}

export async function previewPolicy(
  ctx: AppContext,
  policyId: string,
  input: { sessionId?: string; from?: string },
): Promise<Preview> {
  const policy = await requirePolicy(ctx, policyId);
  const session = input.sessionId ? await requireSession(ctx, input.sessionId) : undefined;
  if (session && !input.from) {
    const plan = sessionPlan(policy, session);
    if (plan) return { policyId, sessionId: session.sessionId, basis: 'session', schedule: plan };
  }
  const from = input.from ? new Date(input.from) : ctx.clock();
  const rules = session ? { ...policy, maxRetries: session.maxRetries ?? policy.maxRetries } : policy;
  const schedule = planSchedule(
    rules,
    session?.sessionId ?? ANY_SESSION,
    from,
    session?.retryCount ?? 0,
    session?.contact?.timezone,
    session?.budgetStart ?? 0,
  );
  return { policyId, sessionId: session?.sessionId ?? null, basis: 'from', schedule };
}
