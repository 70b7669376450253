// A backlog drains in parallel (#11): a sweep that stops at its limit fans out, one worker per shard group,
// each holding the leases of its shards (never two runs on one shard), and the run records show it.
import { describe, expect, it } from 'vitest';
import { withInProcessSweepWorkers } from '../../../local/sweep-workers.ts';
import type { AppContext, SweepWork } from '../../../shared/context.ts';
import { parseScheduledEvent } from '../../../shared/handler/scheduled-event.ts';
import { acquireShardLease, listRuns, type RunRecord } from '../../../shared/repositories/jobs.ts';
import { getSession } from '../../../shared/repositories/sessions.ts';
import { runRecoverySweep, shardGroups } from '../../../shared/usecases/recovery-sweep.ts';
import { createTestContext } from '../../support/context.ts';
import { injectDynamoFaults } from '../../support/faults.ts';
import { attemptItems, seedSessions, stalledSession } from '../../support/seed.ts';

const DUE = '2026-01-01T00:00:00.000Z';

describe('sweep fan-out', () => {
  it('a backlog beyond the limit fans out one worker per shard group; together they claim each session once', async () => {
    // Prepare: 4 shards, 2 worker groups, 10 sessions per run, 60 due.
    const { ctx: base } = await createTestContext({
      shards: 4,
      settings: { sweepLimit: 10, sweepWorkers: 2 },
    });
    await seedSessions(
      base,
      Array.from({ length: 60 }, (_, i) => stalledSession(`fan-${i}`, DUE)),
    );
    const workerRuns: RunRecord[] = [];
    const workers = withInProcessSweepWorkers(base, (run) => workerRuns.push(run));
    // Act
    const first = await runRecoverySweep(workers.ctx, { trigger: 'schedule' });
    await workers.settled();
    // Assess
    expect(first.counts.claimed).toBe(10);
    expect(first.fanOut).toEqual({
      workers: 2,
      groups: [
        ['0', '1'],
        ['2', '3'],
      ],
    });
    const direct = workerRuns.filter((r) => r.parentRunId === first.runId);
    expect(direct.map((r) => r.shardGroup).sort()).toEqual([
      ['0', '1'],
      ['2', '3'],
    ]);
    // A worker that stopped at its limit handed its own group on; every worker stayed on its group.
    for (const r of workerRuns) {
      expect(r.status).toBe('succeeded');
      expect([
        ['0', '1'],
        ['2', '3'],
      ]).toContainEqual(r.shardGroup);
      if (r.fanOut) expect(r.fanOut.groups).toEqual([r.shardGroup]);
    }
    const claimed = first.counts.claimed + workerRuns.reduce((n, r) => n + r.counts.claimed, 0);
    expect(claimed).toBe(60);
    expect(workerRuns.reduce((n, r) => n + r.counts.conflicts, 0)).toBe(0);
    expect(await attemptItems(base)).toHaveLength(60);
    const recorded = await listRuns(base, 'recovery-sweep', 100);
    expect(recorded.items.filter((r) => r.parentRunId === first.runId)).toHaveLength(2);
  });

  it('a run that reads its limit of sessions it cannot claim hands nothing on; the next scheduled sweep starts fresh', async () => {
    // Prepare: every claim is throttled (the SDK's own retries included), as when a table is throttled.
    const { ctx: base } = await createTestContext({
      shards: 4,
      settings: { sweepLimit: 10, sweepWorkers: 2 },
    });
    await seedSessions(
      base,
      Array.from({ length: 20 }, (_, i) => stalledSession(`stuck-${i}`, DUE)),
    );
    const throttled = injectDynamoFaults(base.ddb, {
      commands: ['TransactWriteItems'],
      schedule: () => ({ kind: 'throttle', timing: 'before-send' }),
    });
    // Worker starts are recorded, not run: a chain that re-invoked itself would otherwise never end here.
    const started: SweepWork[] = [];
    const ctx: AppContext = {
      ...base,
      startSweepWorker: async (work) => {
        started.push(work);
      },
    };

    // Act: the scheduled run, then a worker of the same chain, both meeting only unclaimable sessions.
    const scheduled = await runRecoverySweep(ctx, { trigger: 'schedule' });
    const worker = await runRecoverySweep(ctx, {
      trigger: 'fan-out',
      worker: { shards: ['0', '1', '2', '3'], parentRunId: scheduled.runId },
    });
    const startedWhileStuck = started.length;
    throttled.remove();
    const next = await runRecoverySweep(ctx, { trigger: 'schedule' });

    // Assess: no fan-out, no hand-on, and each record says why.
    expect(startedWhileStuck).toBe(0);
    for (const run of [scheduled, worker]) {
      expect(run.counts.selected).toBe(10);
      expect(run.counts.claimed).toBe(0);
      expect(run.fanOut).toBeUndefined();
      expect(run.status).toBe('failed');
      expect(run.reason).toMatch(/moved none of the 10 due session\(s\) it read: not handed on/);
    }
    // Once claims go through, the next scheduled sweep claims and fans out as usual.
    expect(next.status).toBe('succeeded');
    expect(next.counts.claimed).toBe(10);
    expect(next.fanOut?.workers).toBe(2);
    expect(started).toHaveLength(2);
  });

  it('a shard leased by another run is left to it, and the run record says so', async () => {
    // Prepare: one shard, held by a worker.
    const { ctx } = await createTestContext({ shards: 1 });
    await seedSessions(ctx, [stalledSession('held-1', DUE)]);
    expect(await acquireShardLease(ctx, '0', 'a-worker', ctx.clock(), 120)).toBe(true);
    // Act
    const run = await runRecoverySweep(ctx, { trigger: 'schedule' });
    // Assess
    expect(run.shardsBusy).toEqual(['0']);
    expect(run.counts.claimed).toBe(0);
    expect((await getSession(ctx, 'held-1'))?.status).toBe('stalled');
  });

  it('the sweep function takes a worker payload, checked like any event', () => {
    const ok = parseScheduledEvent({
      trigger: 'fan-out',
      parentRunId: '20260302T100000000Z-abc123',
      shards: ['0', '1'],
    });
    const bad = parseScheduledEvent({ trigger: 'fan-out', parentRunId: 'x', shards: [] });
    expect(ok).toEqual({
      ok: true,
      invocation: {
        trigger: 'fan-out',
        dryRun: false,
        worker: { shards: ['0', '1'], parentRunId: '20260302T100000000Z-abc123' },
      },
    });
    expect(bad.ok).toBe(false);
    expect(shardGroups(['0', '1', '2', '3', '4'], 2)).toEqual([
      ['0', '1', '2'],
      ['3', '4'],
    ]);
  });
});
