// A session's statuses and the state machine that decides which status changes are legal. Plain
// constants and functions: the schemas are in ./session.ts.
import { DomainError } from './errors.ts';

export const SESSION_STATUSES = [
  'active',
  'stalled',
  'recovering',
  'recovered',
  'exhausted',
  'cancelled',
  'processing',
  'completed',
  'failed',
  'timed_out',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Statuses in which the sweep may make a recovery attempt. */
export const RETRYABLE_STATUSES: readonly SessionStatus[] = ['stalled', 'recovering'];

/**
 * Legal transitions. `completed` and `cancelled` are final. `exhausted` still accepts a late `recovered`
 * (a customer who comes back after the last reminder counts), `cancelled`, and `stalled` (an operator
 * gives it a new budget). `timed_out` can be sent back to `processing` by an operator.
 */
const TRANSITIONS: Record<SessionStatus, readonly SessionStatus[]> = {
  active: ['stalled', 'processing', 'completed', 'cancelled', 'failed', 'recovered'],
  stalled: ['recovering', 'recovered', 'exhausted', 'cancelled', 'active', 'completed', 'processing'],
  recovering: ['recovered', 'exhausted', 'cancelled', 'stalled', 'active', 'completed', 'processing'],
  recovered: ['completed', 'processing'],
  exhausted: ['recovered', 'cancelled', 'stalled'],
  cancelled: [],
  processing: ['completed', 'failed', 'timed_out', 'cancelled', 'stalled'],
  completed: [],
  failed: ['stalled', 'processing'],
  timed_out: ['processing', 'failed', 'completed', 'cancelled'],
};

export class IllegalTransitionError extends DomainError {
  constructor(
    readonly from: SessionStatus,
    readonly to: SessionStatus,
  ) {
    super('illegal_transition', `a session cannot go from ${from} to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

export function assertTransition(from: SessionStatus, to: SessionStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
