// One way in for product events (#14): whatever brought it (EventBridge, POST /v1/events, a signed webhook,
// a checkout timer), a mapped event goes through here: the event is applied, then a Shopify checkout's
// abandonment timer is set, and its outcome is logged and counted (the `events.*` counters behind GET /v1/retry/stats). A malformed or unknown
// event is rejected with its reasons in the log and counted, never thrown past the caller's boundary.
import type { AppContext } from '../context.ts';
import { logger } from '../observability/logger.ts';
import { recordStats } from '../repositories/stats.ts';
import { applyProductEvent } from './apply.ts';
import { type ApplyResult, isIgnored, type Mapped, type RejectedEventError } from './model.ts';
import type { CheckoutTimers } from './timers.ts';

export interface IngestDeps {
  /** Where Shopify checkouts' abandonment timers go; without it a checkout event is an error. */
  readonly timers?: CheckoutTimers;
  /** Minutes after a checkout's last update before it counts as abandoned. */
  readonly abandonAfterMinutes: number;
  /** The org Shopify checkouts belong to (default: the default org). */
  readonly shopifyOrgId?: string;
  /** Each outcome, for a live log (npm start). */
  readonly onOutcome?: (line: IngestLine) => void;
}

export type IngestLine =
  | { kind: 'outcome'; via: string; type: string; id: string; result: ApplyResult }
  | { kind: 'ignored'; via: string; type?: string; id?: string; reason: string }
  | { kind: 'rejected'; via: string; id?: string; reason: string };

async function count(ctx: AppContext, key: string, orgId?: string): Promise<void> {
  await recordStats(ctx, { ...(orgId ? { orgId } : {}), at: ctx.clock(), counts: { [`events.${key}`]: 1 } });
}

export async function ingestMapped(
  ctx: AppContext,
  deps: IngestDeps,
  mapped: Mapped,
  via: string,
): Promise<ApplyResult> {
  if (isIgnored(mapped)) {
    logger.info('product event not mapped: ignored', {
      via,
      id: mapped.id,
      type: mapped.type,
      reason: mapped.reason,
    });
    await count(ctx, 'ignored');
    deps.onOutcome?.({
      kind: 'ignored',
      via,
      reason: mapped.reason,
      ...(mapped.id ? { id: mapped.id } : {}),
      ...(mapped.type ? { type: mapped.type } : {}),
    });
    return { outcome: 'ignored', reason: mapped.reason };
  }
  if (mapped.abandonAfterMinutes !== undefined && !deps.timers)
    throw new Error('no checkout timer queue is configured: Shopify checkouts cannot be timed');
  const result = await applyProductEvent(ctx, mapped);
  // The timer goes out only once the checkout is applied: a checkout delivered after its own window (Shopify
  // retries for hours) gets a timer due at once, which must find its session, or it is recorded `ignored`
  // and every later timer of that checkout is a duplicate. A duplicate sets it again: a crash between the
  // write and the send is then mended by the provider's retry (the stall's own ledger entry keeps it once).
  if (
    mapped.abandonAfterMinutes !== undefined &&
    deps.timers &&
    (result.outcome === 'applied' || result.outcome === 'duplicate')
  ) {
    await deps.timers.set({
      source: mapped.source,
      sessionId: mapped.sessionId,
      eventId: mapped.id,
      eventAt: mapped.time,
      dueAt: new Date(mapped.time.getTime() + mapped.abandonAfterMinutes * 60_000),
    });
  }
  const outcome = result.outcome === 'pending' ? 'applied' : result.outcome;
  logger.info('product event', {
    via,
    source: mapped.source,
    id: mapped.id,
    type: mapped.type,
    sessionId: mapped.sessionId,
    outcome: result.outcome,
    status: result.status,
    reason: result.reason,
  });
  await count(ctx, outcome, result.orgId ?? mapped.fields.orgId);
  deps.onOutcome?.({ kind: 'outcome', via, type: mapped.type, id: mapped.id, result });
  return result;
}

export async function countRejected(
  ctx: AppContext,
  deps: Pick<IngestDeps, 'onOutcome'>,
  error: RejectedEventError,
  via: string,
): Promise<void> {
  logger.warn('product event rejected', {
    via,
    id: error.eventId,
    reason: error.message,
    issues: error.issues,
  });
  await count(ctx, 'rejected');
  deps.onOutcome?.({
    kind: 'rejected',
    via,
    reason: `${error.message}${error.issues.length ? `: ${error.issues.map((i) => `${i.path} ${i.message}`).join('; ')}` : ''}`,
    ...(error.eventId ? { id: error.eventId } : {}),
  });
}
