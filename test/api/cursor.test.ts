// Pagination cursors are opaque to clients and strict for the server: only a cursor this deployment handed
// out for this list and query decodes; anything corrupted, altered, forged or borrowed is a 400 problem.

import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../shared/api/cursor.ts';
import { HttpProblem } from '../../shared/api/problem.ts';

const Position = v.strictObject({ sk: v.pipe(v.string(), v.maxLength(20)) });
const KEY = 'a-cursor-key-for-these-tests-0123456789abcdef';
const OTHER_KEY = 'another-deployments-cursor-key-0123456789ab';

function status(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return error instanceof HttpProblem ? error.problem.status : -1;
  }
}

function envelopeOf(cursor: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
}

function encode(envelope: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(envelope)).toString('base64url');
}

describe('cursors', () => {
  it('round-trip a position for the same list and query', () => {
    // Act
    const cursor = encodeCursor(KEY, 'runs', { job: 'x', limit: 5 }, { sk: 'a#1' });
    // Assess
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(KEY, cursor, 'runs', { job: 'x', limit: 50, cursor }, Position)).toEqual({
      sk: 'a#1',
    });
  });

  it('refuse corrupted, altered, foreign and ill-shaped cursors with 400', () => {
    // Prepare
    const cursor = encodeCursor(KEY, 'runs', {}, { sk: 'a#1' });
    const altered = encode({ ...envelopeOf(cursor), p: { sk: 'z#9' } });
    const oversized = encodeCursor(KEY, 'runs', {}, { sk: 'x'.repeat(50) });
    // Act
    const answers = [
      status(() => decodeCursor(KEY, cursor.slice(0, -4), 'runs', {}, Position)),
      status(() => decodeCursor(KEY, 'AAAA', 'runs', {}, Position)),
      status(() => decodeCursor(KEY, altered, 'runs', {}, Position)),
      status(() => decodeCursor(KEY, cursor, 'sessions', {}, Position)),
      status(() => decodeCursor(KEY, cursor, 'runs', { job: 'other' }, Position)),
      status(() => decodeCursor(KEY, oversized, 'runs', {}, Position)),
    ];
    // Assess
    expect(answers).toEqual([400, 400, 400, 400, 400, 400]);
  });

  it('refuse a forgery: a tag anyone can compute (an unkeyed digest) or one under another key', () => {
    // Prepare: a position of the forger's choosing, tagged the way a public algorithm would tag it.
    const genuine = envelopeOf(encodeCursor(KEY, 'runs', {}, { sk: 'a#1' }));
    const p = { sk: 'z#9' };
    const digestTag = createHash('sha256')
      .update(`session-recovery-cursor/${genuine.v}\nruns\n${genuine.q}\n${JSON.stringify(p)}`)
      .digest('base64url')
      .slice(0, 22);
    const unkeyed = encode({ ...genuine, p, t: digestTag });
    const otherKey = encodeCursor(OTHER_KEY, 'runs', {}, p);
    // Act
    const answers = [
      status(() => decodeCursor(KEY, unkeyed, 'runs', {}, Position)),
      status(() => decodeCursor(KEY, otherKey, 'runs', {}, Position)),
      status(() => decodeCursor(OTHER_KEY, otherKey, 'runs', {}, Position)),
    ];
    // Assess
    expect(answers).toEqual([400, 400, 'ok']);
  });

  it('refuse to sign or read with a key shorter than 32 characters', () => {
    // Act / Assess
    expect(() => encodeCursor('short', 'runs', {}, { sk: 'a' })).toThrow(/at least 32/);
  });
});
