// A filtered session list reads `byStatus` and filters what it returns; a request has a ceiling on its index
// queries. When the ceiling is reached before a match, the page must still move the listing forward: every
// page has items or a cursor strictly further on, and every walk ends (#18 item 5). Before, such a page
// came back empty with the cursor it was given, and a `while (nextCursor)` client looped for ever.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../shared/context.ts';
import { SESSION_STATUSES, type Session, type SessionStatus } from '../../shared/domain/session.ts';
import { shardOf } from '../../shared/repositories/sessions.ts';
import { STATUS_SHARDS } from '../../shared/repositories/shards.ts';
import { listSessions, type SessionListPosition } from '../../shared/usecases/session-list.ts';
import { deleteSessions, seedSessions, stalledSession } from '../support/seed.ts';
import { body, startTestApi, type TestApi } from './support.ts';

let api: TestApi;
let ctx: AppContext;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

beforeAll(async () => {
  api = await startTestApi();
  ctx = api.ctx;
});

afterAll(async () => {
  await api.stop();
});

function session(id: string, status: SessionStatus, kind: string, secondsAfterT0: number): Session {
  const at = new Date(T0 + secondsAfterT0 * 1000).toISOString();
  return stalledSession(id, at, {
    status,
    kind,
    nextRetryAt: undefined,
    ...(status === 'processing' ? { processingStartedAt: at } : {}),
    updatedAt: at,
  });
}

function remove(ids: readonly string[]): Promise<void> {
  return deleteSessions(ctx, ids);
}

interface Page {
  items: Array<{ sessionId: string }>;
  nextCursor: string | null;
}

describe('GET /v1/sessions with a filter that matches rarely', () => {
  it('a while (nextCursor) walk ends and finds the match: no page repeats a cursor', async () => {
    // Prepare: 1,000 active sessions of another kind, newer than the one that matches: more than one request's
    // index queries can read past.
    const common = Array.from({ length: 1000 }, (_, i) =>
      session(`common-${i}`, 'active', 'common', 1000 + i),
    );
    const rare = session('rare-1', 'active', 'rare', 10);
    await seedSessions(ctx, [...common, rare]);
    try {
      // Act
      const pages: Page[] = [];
      const cursors = new Set<string>();
      let cursor: string | null = null;
      do {
        const res = await api.call(
          'GET',
          `/v1/sessions?kind=rare&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(res.status, res.text).toBe(200);
        const page = body<Page>(res);
        pages.push(page);
        cursor = page.nextCursor;
        // Assess (each page): items, or a cursor not seen before.
        if (cursor) {
          expect(
            page.items.length > 0 || !cursors.has(cursor),
            `page ${pages.length} repeats its cursor`,
          ).toBe(true);
          cursors.add(cursor);
        }
      } while (cursor && pages.length < 40);
      // Assess
      expect(cursor).toBeNull();
      expect(pages.flatMap((p) => p.items.map((s) => s.sessionId))).toEqual(['rare-1']);
    } finally {
      await remove([...common.map((s) => s.sessionId), rare.sessionId]);
    }
  });
});

/** Where `b` is relative to `a` in the listing's order: statuses in order, within one the keys downwards. */
function strictlyFurther(a: SessionListPosition | undefined, b: SessionListPosition): boolean {
  if (!a) return b.s > 0 || b.k !== undefined;
  if (b.s !== a.s) return b.s > a.s;
  if (a.k === undefined) return b.k !== undefined;
  return b.k !== undefined && b.k < a.k;
}

describe('property: every page moves forward and every walk ends', () => {
  it('any statuses, shards, times, filters, limits and query ceilings', async () => {
    let run = 0;
    const statuses = ['active', 'stalled', 'processing'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            status: fc.constantFrom(...statuses),
            // Crowded shards too: a request then spends its queries in them before it finds a match.
            shard: fc.oneof(fc.nat(STATUS_SHARDS - 1), fc.nat(1)),
            second: fc.nat(5000),
            kind: fc.oneof(
              fc.constant('rare'),
              fc.constant('common'),
              fc.constant('common'),
              fc.constant('common'),
            ),
          }),
          { minLength: 10, maxLength: 80, size: 'max' },
        ),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(
          STATUS_SHARDS,
          STATUS_SHARDS + 1,
          STATUS_SHARDS + 4,
          2 * STATUS_SHARDS,
          3 * STATUS_SHARDS,
        ),
        fc.option(fc.constantFrom(...statuses), { nil: undefined }),
        async (specs, limit, maxQueries, status) => {
          // Prepare: ids picked to land in the chosen shard; fresh per run.
          run++;
          const seeded = specs.map((spec, i) => {
            let id = '';
            for (let n = 0; ; n++) {
              id = `w${run}-${i}-${n}`;
              if (shardOf(id, STATUS_SHARDS) === String(spec.shard)) break;
            }
            return session(id, spec.status, spec.kind, spec.second);
          });
          await seedSessions(ctx, seeded);
          try {
            // Act
            const seen: string[] = [];
            let position: SessionListPosition | undefined;
            let pages = 0;
            for (;;) {
              pages++;
              // A walk reads each index entry at most once per page; this bounds it generously.
              expect(pages, 'the walk does not end').toBeLessThan(400);
              const page = await listSessions(ctx, { kind: 'rare', status, limit, position, maxQueries });
              expect(page.items.length).toBeLessThanOrEqual(limit);
              seen.push(...page.items.map((s) => s.sessionId));
              if (!page.next) break;
              // Assess (each page): items, or a cursor strictly further on.
              expect(
                page.items.length > 0 || strictlyFurther(position, page.next),
                `page ${pages} at ${JSON.stringify(position)} answered nothing and ${JSON.stringify(page.next)}`,
              ).toBe(true);
              position = page.next;
            }
            // Assess: every match once, in the listing's order (status order, most recently entered first).
            const expected = seeded
              .filter((s) => s.kind === 'rare' && (!status || s.status === status))
              .sort(
                (a, b) =>
                  SESSION_STATUSES.indexOf(a.status) - SESSION_STATUSES.indexOf(b.status) ||
                  (`${a.updatedAt}#${a.sessionId}` < `${b.updatedAt}#${b.sessionId}` ? 1 : -1),
              )
              .map((s) => s.sessionId);
            expect(seen).toEqual(expected);
          } finally {
            await remove(seeded.map((s) => s.sessionId));
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 180_000);
});
