// The `byStatus` index (#11): sharded like `due` and `deadline`, so one status (every `recovering` session at
// the claim rate) is spread over STATUS_SHARDS partition keys, and keyed on when the session entered its
// status, so a stamp never moves its entry. Listing merges the shards and hands every session out once.
import { describe, expect, it } from 'vitest';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { STATUS_SHARDS } from '../../../shared/repositories/shards.ts';
import { markSessionNotified } from '../../../shared/senders/session-access.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { listSessions } from '../../../shared/usecases/session-list.ts';
import { registerSession, updateSession } from '../../../shared/usecases/sessions.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { scanAll, seedSessions, stalledSession } from '../../support/seed.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const DUE = '2026-03-02T09:00:00.000Z';

describe('byStatus index', () => {
  it('a claim moves the entry to its new status; the stamps after it leave the index keys alone', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('stamp-1', DUE)]);
    const before = (await getSession(ctx, 'stamp-1'))!;
    // Act: the sweep claims and dispatches (status moves, then dispatchedAt is stamped), a sender stamps.
    clock.advance(1_000);
    await runRecoverySweep(ctx, { trigger: 'schedule' });
    const claimed = (await getSession(ctx, 'stamp-1'))!;
    clock.advance(1_000);
    expect(await markSessionNotified(ctx, 'stamp-1', new Date(clock.clock()))).toBe(true);
    const stamped = (await getSession(ctx, 'stamp-1'))!;
    // Assess
    expect(before.statusShard).toMatch(/^stalled#\d+$/);
    expect(claimed.status).toBe('recovering');
    expect(claimed.dispatchedAt).toBeDefined();
    expect(claimed.statusShard).toBe(before.statusShard?.replace('stalled', 'recovering'));
    expect(claimed.statusKey).toBe(`${new Date(Date.parse(T0) + 1_000).toISOString()}#stamp-1`);
    expect(stamped.updatedAt).not.toBe(claimed.updatedAt);
    expect(stamped.statusShard).toBe(claimed.statusShard);
    expect(stamped.statusKey).toBe(claimed.statusKey);
  });

  it('the sessions of one status spread over every shard, none holding more than 1/shards + 5 %', async () => {
    // Prepare
    const { ctx } = await createTestContext({ shards: 1 });
    const n = 640;
    await seedSessions(
      ctx,
      Array.from({ length: n }, (_, i) => stalledSession(`spread-${i}`, DUE)),
    );
    // Act
    const perKey = new Map<string, number>();
    for (const item of await scanAll(ctx, ctx.tables.sessions)) {
      const key = String(item.statusShard);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    // Assess
    expect(perKey.size).toBe(STATUS_SHARDS);
    expect(Math.max(...perKey.values()) / n).toBeLessThanOrEqual(1 / STATUS_SHARDS + 0.05);
  });

  it('a listing by status merges the shards, newest in the status first, and its cursors give each session once', async () => {
    // Prepare: 24 sessions entering `processing` one second apart, and 5 stalled ones not to be listed.
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    for (let i = 0; i < 24; i++) {
      await registerSession(
        ctx,
        { sessionId: `p-${String(i).padStart(2, '0')}`, kind: 'transcription', status: 'active' },
        { triggeredBy: 'product' },
      );
    }
    for (let i = 0; i < 24; i++) {
      clock.advance(1_000);
      await updateSession(
        ctx,
        `p-${String(i).padStart(2, '0')}`,
        { status: 'processing' },
        { triggeredBy: 'product' },
      );
    }
    await seedSessions(
      ctx,
      Array.from({ length: 5 }, (_, i) => stalledSession(`other-${i}`, DUE)),
    );
    // A stamp on the oldest must not bring it forward.
    clock.advance(1_000);
    await markSessionNotified(ctx, 'p-00', new Date(clock.clock()));
    // Act
    const seen: string[] = [];
    let position: Parameters<typeof listSessions>[1]['position'];
    let pages = 0;
    do {
      const page = await listSessions(ctx, { status: 'processing', limit: 5, position });
      seen.push(...page.items.map((s) => s.sessionId));
      position = page.next;
      pages++;
    } while (position && pages < 20);
    // Assess
    const expected = Array.from({ length: 24 }, (_, i) => `p-${String(23 - i).padStart(2, '0')}`);
    expect(seen).toEqual(expected);
  });
});
