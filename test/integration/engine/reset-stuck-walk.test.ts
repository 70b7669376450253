// reset-stuck reads the 16 shards of `byStatus` (processing) a page each and merges them. A shard that
// filled its page may hold more entries older than what the other shards returned: the merge may only go
// as far as the newest entry every such shard has shown, or the cursor skips the rest (#18 item 4).
// Property: over random shard distributions, read budgets and limits, following the cursors of a dry run
// visits every stuck session exactly once and nothing else.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../../shared/context.ts';
import type { Session } from '../../../shared/domain/session.ts';
import { RESET_STUCK_READ_BUDGET } from '../../../shared/domain/session-input.ts';
import { shardOf } from '../../../shared/repositories/sessions.ts';
import { STATUS_SHARDS } from '../../../shared/repositories/shards.ts';
import { type ResetStuckPosition, resetStuckSessions } from '../../../shared/usecases/sessions.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { deleteSessions, seedSessions, stalledSession } from '../../support/seed.ts';

const clock = manualClock('2026-03-02T10:00:00.000Z');
const NOW = clock.clock().getTime();
let ctx: AppContext;

beforeAll(async () => {
  ({ ctx } = await createTestContext({ clock: clock.clock }));
});

/** `count` session ids of a run whose `byStatus` shard is `shard`. */
function idsInShard(run: string, shard: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const id = `${run}-${shard}-${i}`;
    if (shardOf(id, STATUS_SHARDS) === String(shard)) out.push(id);
  }
  return out;
}

function processingSince(id: string, minutesAgo: number): Session {
  const started = new Date(NOW - minutesAgo * 60_000).toISOString();
  return stalledSession(id, started, {
    status: 'processing',
    nextRetryAt: undefined,
    processingStartedAt: started,
    updatedAt: started,
  });
}

/** Follows a dry run's cursors to the end; every matched id in order of the calls. */
async function walk(limit: number, readBudget?: number): Promise<string[]> {
  const seen: string[] = [];
  let position: ResetStuckPosition | undefined;
  for (let call = 0; call < 2000; call++) {
    const res = await resetStuckSessions(
      ctx,
      { olderThanMinutes: 60, dryRun: true, limit, position, ...(readBudget ? { readBudget } : {}) },
      { triggeredBy: 'test' },
    );
    expect(res.matched.length).toBeLessThanOrEqual(limit);
    seen.push(...res.matched.map((m) => m.sessionId));
    if (!res.next) return seen;
    position = res.next;
  }
  throw new Error('the walk did not end');
}

function remove(ids: readonly string[]): Promise<void> {
  return deleteSessions(ctx, ids);
}

describe('reset-stuck following its cursors', () => {
  it('with limit 100 and one shard holding 70 of the stuck sessions, visits every one once', async () => {
    // Prepare: the 70 oldest are all in shard 3; 30 younger (still stuck) spread over the others.
    const heavy = idsInShard('heavy', 3, 70).map((id, i) => processingSince(id, 300 - i));
    const others = Array.from({ length: 30 }, (_, i) => (i % 15) + (i % 15 >= 3 ? 1 : 0)).map((shard, i) =>
      processingSince(idsInShard(`other${i}`, shard, 1)[0]!, 200 - i),
    );
    const young = idsInShard('young', 3, 5).map((id) => processingSince(id, 5));
    await seedSessions(ctx, [...heavy, ...others, ...young]);
    try {
      // Act
      const seen = await walk(100);
      // Assess
      const stuck = [...heavy, ...others].map((s) => s.sessionId).sort();
      expect(seen.length).toBe(stuck.length);
      expect([...seen].sort()).toEqual(stuck);
    } finally {
      await remove([...heavy, ...others, ...young].map((s) => s.sessionId));
    }
  });

  it('property: any shard distribution, read budget and limit — every stuck session once, no other', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // Small tables with small budgets: pages fill after 1..4 entries per shard.
          fc.record({
            sessions: fc.array(
              fc.record({ shard: fc.nat(STATUS_SHARDS - 1), minutesAgo: fc.integer({ min: 1, max: 400 }) }),
              { maxLength: 40, size: 'max' },
            ),
            readBudget: fc.integer({ min: STATUS_SHARDS, max: 4 * STATUS_SHARDS }),
            limit: fc.integer({ min: 1, max: 60 }),
          }),
          // The deployed budget: one shard fills its page of 62 while the limit asks for more.
          fc.record({
            sessions: fc
              .tuple(
                fc.nat(STATUS_SHARDS - 1),
                fc.integer({ min: 63, max: 75 }),
                fc.array(
                  fc.record({
                    shard: fc.nat(STATUS_SHARDS - 1),
                    minutesAgo: fc.integer({ min: 1, max: 400 }),
                  }),
                  { maxLength: 20, size: 'max' },
                ),
              )
              .map(([shard, n, rest]) => [
                ...Array.from({ length: n }, (_, i) => ({ shard, minutesAgo: 61 + ((i * 37) % 340) })),
                ...rest,
              ]),
            readBudget: fc.constant(RESET_STUCK_READ_BUDGET),
            limit: fc.integer({ min: 63, max: 500 }),
          }),
        ),
        async ({ sessions, readBudget, limit }) => {
          // Prepare: ids chosen per shard, fresh per run (each run removes its own sessions).
          run++;
          const perShard = new Map<number, number>();
          const seeded = sessions.map(({ shard, minutesAgo }) => {
            const k = perShard.get(shard) ?? 0;
            perShard.set(shard, k + 1);
            return processingSince(idsInShard(`r${run}`, shard, k + 1)[k]!, minutesAgo);
          });
          await seedSessions(ctx, seeded);
          try {
            // Act
            const seen = await walk(limit, readBudget);
            // Assess: stuck = processing for more than 60 minutes.
            const stuck = seeded.filter((s) => Date.parse(s.processingStartedAt!) < NOW - 60 * 60_000);
            expect(seen.length).toBe(stuck.length);
            expect([...seen].sort()).toEqual(stuck.map((s) => s.sessionId).sort());
          } finally {
            await remove(seeded.map((s) => s.sessionId));
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
