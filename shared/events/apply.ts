// Applies a mapped product event (#14) to its session through the same use cases the API calls
// (registerSession, updateSession), exactly once and in event-time order:
// - a duplicate (same source and id) finds its ledger entry and changes nothing;
// - the ledger entry commits in the same transaction as the session write, so a crash leaves neither;
// - an event older than the latest one applied to the session is recorded `stale` and changes nothing (a
//   `completed` that arrived before its `expired` leaves the session recovered); one rule (`laterApplied`)
//   decides it on every path, checked again on the session as written, so `lastEventAt` never moves back;
// - an ending for a session not started yet is kept as a marker and applied when the start arrives, by the
//   same rule, whichever of the two deliveries finds the other;
// - a synthetic event (a checkout's abandonment timer) never moves the session's event clock.
import type { AppContext } from '../context.ts';
import { ConflictError, DomainError } from '../domain/errors.ts';
import { canTransition, type Session, type SessionStatus } from '../domain/session.ts';
import { RegisterSessionSchema, UpdateSessionSchema } from '../domain/session-input.ts';
import { getSession } from '../repositories/sessions.ts';
import { safeParse } from '../schema.ts';
import {
  MAX_CLOCK_SKEW_MS,
  registerSession,
  type SessionWriteOptions,
  updateSession,
} from '../usecases/sessions.ts';
import {
  type EndMarker,
  getEndMarker,
  getLedgerEntry,
  keepEndMarker,
  ledgerPuts,
  recordLedger,
} from './ledger.ts';
import {
  type ApplyResult,
  ENDING_ACTIONS,
  type EventAction,
  type Outcome,
  type ProductEvent,
  RejectedEventError,
} from './model.ts';

class StaleEventError extends Error {
  constructor(readonly lastEventAt: string) {
    super(`the session has a later event (${lastEventAt})`);
    this.name = 'StaleEventError';
  }
}

/**
 * Whether the session has had an event later than `time` applied: an event at `time` is then stale. The one
 * order rule of every path (an event delivered to a session, a kept ending meeting its start).
 */
export function laterApplied(session: Pick<Session, 'lastEventAt'>, time: string): boolean {
  return session.lastEventAt !== undefined && session.lastEventAt > time;
}

/** The status an action moves a session in `current` to; undefined when it leaves the status as it is. */
export function targetStatus(action: EventAction, current: SessionStatus): SessionStatus | undefined {
  switch (action) {
    case 'register':
    case 'touch':
      return undefined;
    case 'stall':
      return current === 'stalled' || current === 'recovering' ? undefined : 'stalled';
    case 'process':
      return 'processing';
    case 'recover':
      return 'recovered';
    case 'complete':
      return 'completed';
    case 'cancel':
      return 'cancelled';
    case 'finish':
      if (current === 'stalled' || current === 'recovering' || current === 'exhausted') return 'recovered';
      if (current === 'recovered' || current === 'completed') return undefined;
      return 'completed';
  }
}

function auditOf(source: string, type: string, id: string) {
  return { triggeredBy: `event:${source}`, reason: `${type} ${id}` };
}

function issuesOf(prefix: string, issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>) {
  return issues.map((i) => ({ path: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
}

/** The fields an event sets, checked against the update schema (what the API accepts, the service can read). */
function patchOf(event: ProductEvent, status: SessionStatus | undefined): Record<string, unknown> {
  const { contact, recoveryUrl, amount, metadata, sizeBytes } = event.fields;
  const patch = {
    ...(status ? { status } : {}),
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    ...(contact && Object.keys(contact).length ? { contact } : {}),
    ...(recoveryUrl ? { recoveryUrl } : {}),
    ...(amount ? { amount } : {}),
    ...(metadata && Object.keys(metadata).length ? { metadata } : {}),
  };
  if (Object.keys(patch).length === 0) return patch;
  const checked = safeParse(UpdateSessionSchema, patch);
  if (!checked.success)
    throw new RejectedEventError(
      `event ${event.id} carries fields the session cannot take`,
      issuesOf('event', checked.issues),
      event.id,
    );
  return checked.data;
}

export async function applyProductEvent(ctx: AppContext, event: ProductEvent): Promise<ApplyResult> {
  const now = ctx.clock();
  if (event.time.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
    throw new RejectedEventError(
      `event ${event.id} is dated ${event.time.toISOString()}, in the future: it would hide every later event`,
      [{ path: 'event.time', message: 'more than 5 minutes ahead of our clock' }],
      event.id,
    );
  }
  for (let tries = 1; ; tries++) {
    if (await getLedgerEntry(ctx, event)) return { outcome: 'duplicate', sessionId: event.sessionId };
    try {
      return await applyOnce(ctx, event, now);
    } catch (error) {
      // A concurrent delivery of the same event won (its ledger entry refused ours), or the session was
      // registered meanwhile by another event: read again.
      if (error instanceof ConflictError && tries < 4) continue;
      throw error;
    }
  }
}

async function record(
  ctx: AppContext,
  event: ProductEvent,
  outcome: Outcome,
  reason: string,
  session?: Session,
): Promise<ApplyResult> {
  const written = await recordLedger(ctx, event, { outcome, reason, now: ctx.clock() });
  return {
    outcome: written ? outcome : 'duplicate',
    sessionId: event.sessionId,
    ...(session ? { status: session.status } : {}),
    ...(written ? { reason } : {}),
  };
}

async function applyOnce(ctx: AppContext, event: ProductEvent, now: Date): Promise<ApplyResult> {
  const audit = auditOf(event.source, event.type, event.id);
  const time = event.time.toISOString();
  const options: SessionWriteOptions = {
    extraItems: ledgerPuts(ctx, event, { outcome: 'applied', now }),
    // A synthetic event names itself the latest (a timer superseded by it finds so) but keeps the clock.
    stamp: event.synthetic ? { lastEventId: event.id } : { lastEventAt: time, lastEventId: event.id },
    timeline: { event: { source: event.source, id: event.id, type: event.type, time } },
    at: event.time,
  };
  const current = await getSession(ctx, event.sessionId);

  if (!current) {
    if (ENDING_ACTIONS.includes(event.action)) {
      if (event.keepIfEarly === false) return record(ctx, event, 'ignored', 'no such session to end');
      if (!(await keepEndMarker(ctx, event, now)))
        return { outcome: 'duplicate', sessionId: event.sessionId };
      // A start may have registered the session since we looked: it is ended now, not left running.
      const started = await getSession(ctx, event.sessionId);
      const marker = await getEndMarker(ctx, event.sessionId);
      if (started && marker) await applyMarker(ctx, started, marker);
      return { outcome: 'pending', sessionId: event.sessionId, reason: 'kept until the session starts' };
    }
    if (event.onlyIfLastEventId || event.onlyFrom) return record(ctx, event, 'ignored', 'no such session');
    const { kind, orgId, policyId, sizeBytes, contact, recoveryUrl, amount, metadata } = event.fields;
    if (!kind) {
      throw new RejectedEventError(
        `event ${event.id} would start session ${event.sessionId} but names no kind`,
        [{ path: 'event.kind', message: 'required to start a session' }],
        event.id,
      );
    }
    const input = safeParse(RegisterSessionSchema, {
      sessionId: event.sessionId,
      kind,
      status:
        event.startStatus ??
        (event.action === 'stall' ? 'stalled' : event.action === 'process' ? 'processing' : 'active'),
      ...(orgId ? { orgId } : {}),
      ...(policyId ? { policyId } : {}),
      ...(sizeBytes !== undefined ? { sizeBytes } : {}),
      ...(contact && Object.keys(contact).length ? { contact } : {}),
      ...(recoveryUrl ? { recoveryUrl } : {}),
      ...(amount ? { amount } : {}),
      ...(metadata && Object.keys(metadata).length ? { metadata } : {}),
      ...(event.action === 'process' ? { processingStartedAt: event.processingStartedAt ?? time } : {}),
    });
    if (!input.success)
      throw new RejectedEventError(
        `event ${event.id} cannot start a session`,
        issuesOf('event', input.issues),
        event.id,
      );
    const { session } = await registerSession(ctx, input.data, audit, options);
    // An ending that arrived before this start (kept as a marker) ends it now, if it came after it.
    const marker = await getEndMarker(ctx, event.sessionId);
    const ended = marker ? await applyMarker(ctx, session, marker) : session;
    return { outcome: 'applied', sessionId: event.sessionId, status: ended.status, orgId: session.orgId };
  }

  if (event.onlyIfLastEventId && current.lastEventId !== event.onlyIfLastEventId)
    return record(ctx, event, 'ignored', 'superseded by a later event of the session', current);
  if (event.onlyFrom && !event.onlyFrom.includes(current.status))
    return record(ctx, event, 'ignored', `the session is ${current.status}`, current);
  // A synthetic stall applies only while its checkout is the latest event (above): no clock to compare.
  if (!event.synthetic && laterApplied(current, time))
    return record(ctx, event, 'stale', `the session has a later event (${current.lastEventAt})`, current);
  const to = targetStatus(event.action, current.status);
  if (to && !canTransition(current.status, to))
    return record(ctx, event, 'ignored', `a ${current.status} session cannot become ${to}`, current);
  const patch = patchOf(event, to);
  try {
    const saved = await updateSession(ctx, event.sessionId, patch, audit, undefined, {
      ...options,
      check: (s) => {
        if (!event.synthetic && laterApplied(s, time)) throw new StaleEventError(s.lastEventAt ?? time);
        const again = targetStatus(event.action, s.status);
        if (again !== to) throw new ConflictError(`session ${s.sessionId} moved to ${s.status} meanwhile`, s);
      },
    });
    return { outcome: 'applied', sessionId: event.sessionId, status: saved.status, orgId: saved.orgId };
  } catch (error) {
    if (error instanceof StaleEventError) return record(ctx, event, 'stale', error.message, current);
    if (error instanceof DomainError && error.code === 'illegal_transition')
      return record(ctx, event, 'ignored', error.message, current);
    if (error instanceof DomainError && error.code === 'validation')
      throw new RejectedEventError(error.message, error.fields, event.id);
    throw error;
  }
}

/**
 * Ends a just-started session as an early ending asked (the marker kept for it), when the ending is not older
 * than the session's latest event: checked on the session as written, whichever delivery (the start, or the
 * ending that found the start registered meanwhile) gets here, and once.
 */
async function applyMarker(ctx: AppContext, session: Session, marker: EndMarker): Promise<Session> {
  const refuse = (s: Session) => s.lastEventId === marker.eventId || laterApplied(s, marker.at);
  if (refuse(session)) return session;
  const to = targetStatus(marker.action, session.status);
  if (!to || to === session.status || !canTransition(session.status, to)) return session;
  try {
    return await updateSession(
      ctx,
      session.sessionId,
      { status: to, ...(marker.amount ? { amount: marker.amount } : {}) },
      auditOf(marker.source, marker.type, marker.eventId),
      undefined,
      {
        stamp: { lastEventAt: marker.at, lastEventId: marker.eventId },
        timeline: {
          event: {
            source: marker.source,
            id: marker.eventId,
            type: marker.type,
            time: marker.at,
            early: true,
          },
        },
        at: new Date(marker.at),
        check: (s) => {
          if (refuse(s)) throw new StaleEventError(s.lastEventAt ?? marker.at);
        },
      },
    );
  } catch (error) {
    if (error instanceof StaleEventError) return (await getSession(ctx, session.sessionId)) ?? session;
    if (error instanceof DomainError && error.code === 'illegal_transition') return session;
    throw error;
  }
}
