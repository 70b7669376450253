// How stored items are shown by the API: index keys are left out, and a session gets its recovery state
// as one object with explicit nulls, so a client never has to guess whether a field is missing or unset.
import type { Session } from '../domain/session.ts';

function recoveryStateOf(s: Session) {
  return {
    status: s.status,
    retryCount: s.retryCount,
    maxRetries: s.maxRetries ?? null,
    nextRetryAt: s.nextRetryAt ?? null,
    lastAttemptAt: s.lastAttemptAt ?? null,
    lastNotifiedAt: s.lastNotifiedAt ?? null,
    paused: s.automation?.paused ?? false,
    overrideNextRetryAt: s.automation?.overrideNextRetryAt ?? null,
    triggeredBy: s.automation?.triggeredBy ?? null,
    triggeredAt: s.automation?.triggeredAt ?? null,
  };
}

export function sessionView(s: Session) {
  const {
    dueShard: _due,
    deadlineShard: _deadline,
    recipientKey: _recipient,
    recipientSortKey: _recipientSort,
    ...rest
  } = s;
  return { ...rest, recoveryState: recoveryStateOf(s) };
}

/** A strong ETag from the session version (every write bumps it). */
export function etagOf(s: Pick<Session, 'version'>): string {
  return `"${s.version}"`;
}
