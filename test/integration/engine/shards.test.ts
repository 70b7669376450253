// Shard counts cannot strand data (issue #10, item 4). Each case failed on the code before: a session written
// by a component with INDEX_SHARDS=8 (the CLI, npm run invoke, a deployment that raised it) into shard 4..7
// was never swept or timed out by a component with 4 (npm start), forever. Now every writer records its count
// and readers walk the largest one; lowering the count is a procedure that refuses while data is left.
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../../../shared/context.ts';
import { getSession, shardOf } from '../../../shared/repositories/sessions.ts';
import { compactShardCount, readRecordedShards } from '../../../shared/repositories/shards.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { registerSession } from '../../../shared/usecases/sessions.ts';
import { runTimeoutMonitor } from '../../../shared/usecases/timeout-monitor.ts';
import { createTestContext, manualClock } from '../../support/context.ts';

const audit = { triggeredBy: 'product' };

/** Session ids that land in a shard of 8 that a 4-shard reader never walks. */
function idsAbove4(prefix: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++)
    if (Number(shardOf(`${prefix}-${i}`, 8)) >= 4) out.push(`${prefix}-${i}`);
  return out;
}

async function twoCounts() {
  const clock = manualClock('2026-03-02T10:00:00.000Z');
  const { ctx } = await createTestContext({
    clock: clock.clock,
    shards: 8,
    settings: { outcomeWaitSeconds: 0 },
  });
  const four: AppContext = { ...ctx, shards: 4 };
  return { eight: ctx, four, clock };
}

describe('shard counts cannot strand data', () => {
  it('a 4-shard sweep and monitor find what an 8-shard writer put in shards 4..7', async () => {
    // Prepare
    const { eight, four, clock } = await twoCounts();
    const stalled = idsAbove4('stalled', 3);
    const processing = idsAbove4('proc', 2);
    for (const id of stalled) {
      await registerSession(
        eight,
        { sessionId: id, kind: 'checkout', status: 'stalled', contact: { email: 'a@example.com' } },
        audit,
      );
    }
    for (const id of processing) {
      await registerSession(eight, { sessionId: id, kind: 'transcription', status: 'processing' }, audit);
    }
    clock.advance(3 * 3600_000);

    // Act
    const sweep = await runRecoverySweep(four, { trigger: 'test' });
    const monitor = await runTimeoutMonitor(four, { trigger: 'test' });

    // Assess
    expect(await readRecordedShards(four)).toBe(8);
    expect(sweep.counts.claimed).toBe(3);
    expect(monitor.counts.timedOut).toBe(2);
  });

  it('lowering INDEX_SHARDS: compaction refuses while shards above the new count hold data, then lowers it', async () => {
    // Prepare: sessions written with 8 shards, then the deployment runs with 4.
    const { eight, four, clock } = await twoCounts();
    const ids = idsAbove4('reshard', 2);
    for (const id of ids) {
      await registerSession(
        eight,
        { sessionId: id, kind: 'checkout', status: 'stalled', contact: { email: 'a@example.com' } },
        audit,
      );
    }

    // Act
    const early = await compactShardCount(four, false);
    clock.advance(3 * 3600_000);
    await runRecoverySweep(four, { trigger: 'test' });
    const rekeyed = await Promise.all(ids.map((id) => getSession(four, id)));
    const dry = await compactShardCount(four, true);
    const done = await compactShardCount(four, false);

    // Assess
    expect(early).toMatchObject({ compacted: false, from: 8, to: 8, left: { due: 2 } });
    expect(rekeyed.every((s) => s?.dueShard !== undefined && Number(s.dueShard) < 4)).toBe(true);
    expect(dry).toMatchObject({ compacted: false, left: {} });
    expect(done).toMatchObject({ compacted: true, from: 8, to: 4 });
    expect(await readRecordedShards(four)).toBe(4);
  });
});
