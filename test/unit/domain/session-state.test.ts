// The session state machine and the stored-item schema: which status changes a use case may make, and
// which items the engine refuses to act on.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../shared/domain/errors.ts';
import {
  assertTransition,
  canTransition,
  IllegalTransitionError,
  SESSION_STATUSES,
  type Session,
  SessionSchema,
  type SessionStatus,
} from '../../../shared/domain/session.ts';
import { parse, safeParse } from '../../../shared/schema.ts';

const others = (from: SessionStatus) => SESSION_STATUSES.filter((to) => to !== from);

describe('session state machine', () => {
  it.each<[SessionStatus, SessionStatus]>([
    ['completed', 'stalled'],
    ['completed', 'processing'],
    ['processing', 'recovering'],
    ['processing', 'exhausted'],
    ['active', 'timed_out'],
    ['stalled', 'timed_out'],
    ['exhausted', 'recovering'],
    ['recovered', 'exhausted'],
  ])('%s → %s is illegal and throws IllegalTransitionError', (from, to) => {
    // Act
    const attempt = () => assertTransition(from, to);
    // Assess
    expect(canTransition(from, to)).toBe(false);
    expect(attempt).toThrow(IllegalTransitionError);
    try {
      attempt();
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ name: 'IllegalTransitionError', code: 'illegal_transition', from, to });
      expect((error as Error).message).toBe(`a session cannot go from ${from} to ${to}`);
    }
  });

  it.each<SessionStatus>(['cancelled', 'completed'])('%s is final: every other status is refused', (from) => {
    // Act
    const refused = others(from).filter((to) => {
      try {
        assertTransition(from, to);
        return false;
      } catch (error) {
        return error instanceof IllegalTransitionError;
      }
    });
    // Assess
    expect(refused).toEqual(others(from));
  });

  it.each<[SessionStatus, SessionStatus]>([
    ['active', 'stalled'],
    ['active', 'processing'],
    ['stalled', 'recovering'],
    ['stalled', 'recovered'],
    ['stalled', 'cancelled'],
    ['stalled', 'completed'],
    ['recovering', 'exhausted'],
    ['recovering', 'recovered'],
    ['exhausted', 'recovered'], // a late recovery after the last reminder still counts
    ['exhausted', 'stalled'], // an operator grants new retries
    ['processing', 'timed_out'],
    ['processing', 'completed'],
    ['timed_out', 'processing'], // an operator recovers a timed-out session
    ['failed', 'stalled'],
  ])('%s → %s is legal', (from, to) => {
    // Act + Assess
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it('staying in the same status is always allowed (a repeated report is a no-op, not an error)', () => {
    // Act
    const refused = SESSION_STATUSES.filter((s) => !canTransition(s, s));
    // Assess
    expect(refused).toEqual([]);
  });

  it('assertTransition throws exactly when canTransition says no, over every pair of statuses', () => {
    // Prepare
    const pairs = SESSION_STATUSES.flatMap((from) => SESSION_STATUSES.map((to) => [from, to] as const));
    // Act
    const disagreements = pairs.filter(([from, to]) => {
      let threw = false;
      try {
        assertTransition(from, to);
      } catch (error) {
        threw = error instanceof IllegalTransitionError;
      }
      return threw === canTransition(from, to);
    });
    // Assess
    expect(disagreements).toEqual([]);
  });
});

describe('SessionSchema', () => {
  const valid: Session = {
    sessionId: 'chk_2026-03-02:abc.1',
    kind: 'checkout',
    status: 'stalled',
    policyId: 'default',
    retryCount: 1,
    maxRetries: 3,
    nextRetryAt: '2026-03-02T11:00:00.000Z',
    contact: { email: 'ada@example.com', phone: '+14155550100', timezone: 'Europe/Paris' },
    automation: { paused: false },
    version: 4,
    dueShard: '2',
    createdAt: '2026-03-02T10:00:00.000Z',
    updatedAt: '2026-03-02T10:30:00+01:00',
  };

  it('accepts a valid item and keeps attributes a newer writer added', () => {
    // Act
    const parsed = parse(SessionSchema, { ...valid, addedLater: { x: 1 } });
    // Assess
    expect(parsed).toEqual({ ...valid, addedLater: { x: 1 } });
  });

  it.each<[string, Record<string, unknown>, Array<string | number>]>([
    ['a retry count that is not a number', { retryCount: 'three' }, ['retryCount']],
    ['a negative version', { version: -1 }, ['version']],
    ['an unknown status', { status: 'sleeping' }, ['status']],
    ['a session id with a space', { sessionId: 'has space' }, ['sessionId']],
    ['an empty kind', { kind: '' }, ['kind']],
    ['a next retry that is not ISO 8601', { nextRetryAt: 'tomorrow' }, ['nextRetryAt']],
    ['an invalid contact email', { contact: { email: 'not-an-email' } }, ['contact', 'email']],
    ['a phone that is not E.164', { contact: { phone: '0612345678' } }, ['contact', 'phone']],
    ['an unknown time zone', { contact: { timezone: 'Mars/Olympus_Mons' } }, ['contact', 'timezone']],
    ['an unknown contact field', { contact: { fax: '+14155550100' } }, ['contact', 'fax']],
    ['a paused flag that is not boolean', { automation: { paused: 'yes' } }, ['automation', 'paused']],
    ['a previous status that does not exist', { previousStatus: 'lost' }, ['previousStatus']],
  ])('rejects %s, naming the path', (_what, change, path) => {
    // Act
    const result = safeParse(SessionSchema, { ...valid, ...change });
    // Assess
    expect(result.success).toBe(false);
    expect(result.success ? [] : result.issues.map((i) => i.path)).toContainEqual(path);
  });

  it('rejects an item without its required attributes, naming each', () => {
    // Prepare
    const { kind: _kind, version: _version, createdAt: _createdAt, ...partial } = valid;
    // Act
    const result = safeParse(SessionSchema, partial);
    // Assess
    expect(result.success).toBe(false);
    expect(result.success ? [] : result.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'createdAt',
      'kind',
      'version',
    ]);
  });
});
