import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../local/local-env.ts';
import { handleScheduledEvent } from '../../../shared/handler/scheduled-job.ts';
import { getJobState, listRuns } from '../../../shared/repositories/jobs.ts';
import { runJob, SimulatedCrash } from '../../../shared/usecases/job-run.ts';
import { runRecoverySweep } from '../../../shared/usecases/recovery-sweep.ts';
import { runTimeoutMonitor } from '../../../shared/usecases/timeout-monitor.ts';
import { createTestContext, manualClock } from '../../support/context.ts';
import { scanAll, seedSessions, stalledSession } from '../../support/seed.ts';

const event = (name: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, 'events', name), 'utf8'));

describe('scheduled job handlers', () => {
  it('runs the sweep for the EventBridge scheduled event in events/', async () => {
    // Prepare
    const clock = manualClock('2026-03-02T10:00:00.000Z');
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('h-1', '2026-03-02T09:00:00.000Z')]);

    // Act
    const run = await handleScheduledEvent(
      ctx,
      'recovery-sweep',
      runRecoverySweep,
      event('schedule-recovery-sweep.json'),
    );

    // Assess
    expect(run).toMatchObject({ trigger: 'schedule', status: 'succeeded', counts: { claimed: 1 } });
  });

  it('a manual dry run from events/ changes nothing', async () => {
    // Prepare
    const clock = manualClock('2026-03-02T10:00:00.000Z');
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('h-2', '2026-03-02T09:00:00.000Z')]);
    const before = await scanAll(ctx, ctx.tables.sessions);

    // Act
    const run = await handleScheduledEvent(
      ctx,
      'recovery-sweep',
      runRecoverySweep,
      event('manual-dry-run.json'),
    );

    // Assess
    expect(run).toMatchObject({ trigger: 'manual', dryRun: true, wouldProcess: ['h-2'] });
    expect(await scanAll(ctx, ctx.tables.sessions)).toEqual(before);
  });

  it.each([
    ['recovery-sweep', runRecoverySweep],
    ['timeout-monitor', runTimeoutMonitor],
  ] as const)(
    '%s: a malformed event is rejected with a clear reason in a failed run record and changes nothing else',
    async (job, runner) => {
      // Prepare
      const clock = manualClock('2026-03-02T10:00:00.000Z');
      const { ctx } = await createTestContext({ clock: clock.clock });
      await seedSessions(ctx, [stalledSession('h-3', '2026-03-02T09:00:00.000Z')]);
      const sessionsBefore = await scanAll(ctx, ctx.tables.sessions);
      const timelineBefore = await scanAll(ctx, ctx.tables.timeline);

      // Act
      const run = await handleScheduledEvent(ctx, job, runner, event('malformed-schedule.json'));

      // Assess
      expect(run).toMatchObject({
        status: 'failed',
        trigger: 'invalid-event',
        counts: { invalid: 1, claimed: 0 },
      });
      expect(run.problems[0]?.reason).toMatch(/not a scheduled event/);
      expect(await scanAll(ctx, ctx.tables.sessions)).toEqual(sessionsBefore);
      expect(await scanAll(ctx, ctx.tables.timeline)).toEqual(timelineBefore);
      expect((await listRuns(ctx, job, 5)).items).toHaveLength(1);
      // Counted as a failure, so the consecutive-failures alarm sees a schedule sending garbage.
      expect((await getJobState(ctx, job)).consecutiveFailures).toBe(1);
    },
  );
});

describe('a run started from the admin API (run now, an asynchronous invocation)', () => {
  const apiEvent = {
    trigger: 'api',
    runId: '20260302T100000000Z-abc123',
    requestedBy: 'arn:aws:iam::123456789012:user/oncall',
    dryRun: false,
    limit: 5,
  };

  // Today's clock: run records carry a TTL, and an emulator that honours it would drop a record of March.
  it('carries the run id the API answered with, and who asked, into its run record', async () => {
    // Prepare
    const clock = manualClock(new Date().toISOString());
    const { ctx } = await createTestContext({ clock: clock.clock });
    // Act
    const run = await handleScheduledEvent(ctx, 'recovery-sweep', runRecoverySweep, apiEvent, () => 60_000);
    // Assess
    expect(run).toMatchObject({
      runId: apiEvent.runId,
      trigger: `manual:${apiEvent.requestedBy}`,
      status: 'succeeded',
      limit: 5,
    });
    expect((await listRuns(ctx, 'recovery-sweep', 5)).items.map((r) => r.runId)).toEqual([apiEvent.runId]);
  });

  it('a run killed at its timeout holds the job lease no longer than its own invocation', async () => {
    // Prepare: an invocation with 30 s left, killed mid-run (no release, as Lambda's timeout would).
    const clock = manualClock(new Date().toISOString());
    const { ctx } = await createTestContext({ clock: clock.clock });
    const killed = (c: typeof ctx, invocation: Parameters<Parameters<typeof handleScheduledEvent>[2]>[1]) =>
      runJob(c, 'recovery-sweep', { ...invocation, defaultLimit: 10 }, async () => {
        throw new SimulatedCrash('Task timed out after 30.00 seconds');
      });
    await expect(handleScheduledEvent(ctx, 'recovery-sweep', killed, apiEvent, () => 30_000)).rejects.toThrow(
      SimulatedCrash,
    );
    // Act: the next scheduled tick, once the killed invocation has ended.
    clock.advance(31_000);
    const next = await handleScheduledEvent(
      ctx,
      'recovery-sweep',
      runRecoverySweep,
      event('schedule-recovery-sweep.json'),
      () => 120_000,
    );
    // Assess: it ran; the job's own lease (110 s) would have kept it out.
    expect(next).toMatchObject({ trigger: 'schedule', status: 'succeeded' });
  });
});
