// Pagination cursors are opaque to clients and strict for the server: only a cursor this list handed out
// for this query decodes; anything corrupted, altered, or borrowed is a 400 problem.

import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../shared/api/cursor.ts';
import { HttpProblem } from '../../shared/api/problem.ts';

const Position = v.strictObject({ sk: v.pipe(v.string(), v.maxLength(20)) });

function status(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return error instanceof HttpProblem ? error.problem.status : -1;
  }
}

describe('cursors', () => {
  it('round-trip a position for the same list and query', () => {
    // Act
    const cursor = encodeCursor('runs', { job: 'x', limit: 5 }, { sk: 'a#1' });
    // Assess
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'runs', { job: 'x', limit: 50, cursor }, Position)).toEqual({ sk: 'a#1' });
  });

  it('refuse corrupted, altered, foreign and ill-shaped cursors with 400', () => {
    // Prepare
    const cursor = encodeCursor('runs', {}, { sk: 'a#1' });
    const envelope = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const altered = Buffer.from(JSON.stringify({ ...envelope, p: { sk: 'z#9' } })).toString('base64url');
    const oversized = encodeCursor('runs', {}, { sk: 'x'.repeat(50) });
    // Act
    const answers = [
      status(() => decodeCursor(cursor.slice(0, -4), 'runs', {}, Position)),
      status(() => decodeCursor('AAAA', 'runs', {}, Position)),
      status(() => decodeCursor(altered, 'runs', {}, Position)),
      status(() => decodeCursor(cursor, 'sessions', {}, Position)),
      status(() => decodeCursor(cursor, 'runs', { job: 'other' }, Position)),
      status(() => decodeCursor(oversized, 'runs', {}, Position)),
    ];
    // Assess
    expect(answers).toEqual([400, 400, 400, 400, 400, 400]);
  });
});
