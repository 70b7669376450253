import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../../../shared/context.ts';
import { DEFAULT_POLICY } from '../../../shared/domain/retry-policy.ts';
import { acquireJobLease, listRuns, setJobPaused } from '../../../shared/repositories/jobs.ts';
import { getSession, withIndexKeys } from '../../../shared/repositories/sessions.ts';
import { claimAttempt } from '../../../shared/usecases/claim-attempt.ts';
import { runRecoverySweep, SimulatedCrash } from '../../../shared/usecases/recovery-sweep.ts';
import { setSessionPaused, updateSession } from '../../../shared/usecases/sessions.ts';
import { asFunction, createTestContext, manualClock } from '../../support/context.ts';
import { receiveAllBodies } from '../../support/queues.ts';
import { attemptItems, scanAll, seedSessions, stalledSession } from '../../support/seed.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const DUE = '2026-03-02T09:00:00.000Z';

async function queueDepth(ctx: AppContext, url: string): Promise<number> {
  const res = await ctx.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

async function drain(ctx: AppContext, url: string): Promise<Array<Record<string, unknown>>> {
  return (await receiveAllBodies(ctx, url)) as Array<Record<string, unknown>>;
}

describe('recovery sweep', () => {
  it('4 sweepers racing over 2,000 due sessions make exactly one attempt per session and retry: 0 duplicates, 0 missed', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock, shards: 8 });
    const ids = Array.from({ length: 2000 }, (_, i) => `race-${i}`);
    await seedSessions(
      ctx,
      ids.map((id) => stalledSession(id, DUE)),
    );
    const sweepers = (trigger: string) =>
      Promise.all(
        Array.from({ length: 4 }, (_, w) =>
          runRecoverySweep(asFunction(ctx, 'recovery-sweep'), {
            trigger: `${trigger}-${w}`,
            bypassJobLease: true,
            limit: 5000,
          }),
        ),
      );

    // Act: retry 1 is due for everyone; then the clock passes retry 2 (default policy: +2 h) and they race again.
    const first = await sweepers('round1');
    clock.advance(3 * 3600_000);
    const second = await sweepers('round2');

    // Assess
    const attempts = await attemptItems(ctx);
    const perSessionAndNumber = new Map<string, number>();
    for (const a of attempts) {
      const key = `${a.sessionId}#${a.number}`;
      perSessionAndNumber.set(key, (perSessionAndNumber.get(key) ?? 0) + 1);
    }
    const duplicates = [...perSessionAndNumber.values()].filter((n) => n > 1).length;
    const missed = ids.flatMap((id) => [1, 2].filter((n) => !perSessionAndNumber.has(`${id}#${n}`))).length;
    expect({ duplicates, missed, attempts: attempts.length }).toEqual({
      duplicates: 0,
      missed: 0,
      attempts: 4000,
    });
    expect(first.reduce((n, r) => n + r.counts.claimed, 0)).toBe(2000);
    expect(second.reduce((n, r) => n + r.counts.claimed, 0)).toBe(2000);
    // Every attempt was published exactly once: one email message per attempt.
    expect(await queueDepth(ctx, ctx.queues.email.url)).toBe(4000);
  }, 240_000);

  it('a sweep that crashes after the claim transaction is completed by the next sweep after the lease, exactly once', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [
      stalledSession('crash-1', DUE, { contact: { email: 'a@example.com', phone: '+14155550100' } }),
    ]);
    const crashing = runRecoverySweep(asFunction(ctx, 'recovery-sweep'), {
      trigger: 'test',
      faults: {
        afterClaim: () => {
          throw new SimulatedCrash('killed after the claim transaction');
        },
      },
    });
    await expect(crashing).rejects.toThrow(SimulatedCrash);
    const [queued] = await attemptItems(ctx);
    expect(queued).toMatchObject({ state: 'queued', number: 1 });
    expect(await queueDepth(ctx, ctx.queues.email.url)).toBe(0);

    // Act: before the leases expire nothing may happen; after, one sweep re-dispatches; a later one does nothing.
    const early = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    clock.advance(125_000);
    const late = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    clock.advance(125_000);
    const again = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });

    // Assess
    expect(early.status).toBe('skipped'); // the crashed run still holds the job lease
    expect(late.counts.redispatched).toBe(1);
    expect(again.counts.redispatched).toBe(0);
    const messages = await drain(ctx, ctx.queues.email.url);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ sessionId: 'crash-1', number: 1, attemptId: queued?.attemptId });
    const [after] = await attemptItems(ctx);
    expect(after).toMatchObject({ state: 'dispatched' });
    expect(after?.outboxShard).toBeUndefined();
  });

  it('an overlapping invocation takes no session and leaves a skipped run record', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('overlap-1', DUE)]);
    await acquireJobLease(ctx, 'recovery-sweep', 'first-invocation', clock.clock(), 120);

    // Act
    const second = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'schedule' });

    // Assess
    expect(second).toMatchObject({ status: 'skipped', counts: { claimed: 0, selected: 0 } });
    expect(await attemptItems(ctx)).toHaveLength(0);
    const runs = await listRuns(ctx, 'recovery-sweep', 10);
    expect(runs.items.map((r) => r.status)).toEqual(['skipped']);
  });

  it('a session that turns recovered between selection and claim gets no attempt', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('late-1', DUE), stalledSession('late-2', DUE)]);
    // The copy the sweep selected (the index is eventually consistent) still says stalled and due.
    const selected = await getSession(ctx, 'late-1');
    await updateSession(ctx, 'late-1', { status: 'recovered' }, { triggeredBy: 'product' });

    // Act
    const claim = claimAttempt(ctx, selected!, DEFAULT_POLICY, {
      owner: 'r',
      triggeredBy: 't',
      leaseSeconds: 60,
      mode: 'sweep',
    });
    await expect(claim).rejects.toThrow(/changed since it was read/);
    const run = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });

    // Assess
    expect(run.counts.claimed).toBe(1); // late-2 only
    const attempts = await attemptItems(ctx);
    expect(attempts.map((a) => a.sessionId)).toEqual(['late-2']);
    expect((await getSession(ctx, 'late-1'))?.status).toBe('recovered');
  });

  it("a claim's messages carry the policy's quiet hours in the zone that decides them, for the sender to check again", async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    const quietHours = { start: '22:00', end: '07:00', timezone: 'Europe/Paris' };
    const policy = { ...DEFAULT_POLICY, enabledChannels: ['email' as const, 'sms' as const], quietHours };
    await seedSessions(ctx, [
      stalledSession('kolkata-1', DUE, { contact: { email: 'a@example.com', timezone: 'Asia/Kolkata' } }),
      stalledSession('nowhere-1', DUE, { contact: { email: 'b@example.com' } }),
      stalledSession('plain-1', DUE),
    ]);
    const options = { owner: 'r', triggeredBy: 't', leaseSeconds: 60, mode: 'sweep' as const };
    // Act
    const kolkata = await claimAttempt(ctx, (await getSession(ctx, 'kolkata-1'))!, policy, options);
    const nowhere = await claimAttempt(ctx, (await getSession(ctx, 'nowhere-1'))!, policy, options);
    const plain = await claimAttempt(ctx, (await getSession(ctx, 'plain-1'))!, DEFAULT_POLICY, options);
    // Assess
    // The recipient's zone wins; without one the policy's decides; a policy without quiet hours adds none.
    expect(kolkata.attempt.messages.map((m) => m.type === 'recovery' && m.quietHours)).toEqual([
      { ...quietHours, timezone: 'Asia/Kolkata' },
      { ...quietHours, timezone: 'Asia/Kolkata' },
    ]);
    expect(nowhere.attempt.messages[0]).toMatchObject({ quietHours });
    expect(plain.attempt.messages[0]).not.toHaveProperty('quietHours');
  });

  it('a dry run selects exactly what a real run claims and changes nothing but its run record', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [
      ...Array.from({ length: 30 }, (_, i) => stalledSession(`dry-${i}`, DUE)),
      stalledSession('dry-future', '2026-03-02T12:00:00.000Z'),
      stalledSession('dry-paused', DUE, { automation: { paused: true } }),
    ]);
    const sessionsBefore = await scanAll(ctx, ctx.tables.sessions);
    const timelineBefore = await scanAll(ctx, ctx.tables.timeline);

    // Act
    const dry = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test', dryRun: true });
    const sessionsAfterDry = await scanAll(ctx, ctx.tables.sessions);
    const timelineAfterDry = await scanAll(ctx, ctx.tables.timeline);
    const real = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });

    // Assess
    expect(dry).toMatchObject({ dryRun: true, counts: { selected: 30, claimed: 0 } });
    expect(sessionsAfterDry).toEqual(sessionsBefore);
    expect(timelineAfterDry).toEqual(timelineBefore);
    const claimed = (await attemptItems(ctx)).map((a) => String(a.sessionId)).sort();
    expect([...(dry.wouldProcess ?? [])].sort()).toEqual(claimed);
    expect(real.counts.claimed).toBe(30);
  });

  it('the last allowed attempt exhausts the session and removes it from the due index', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('ex-1', DUE, { maxRetries: 2 })]);

    // Act
    const r1 = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    clock.advance(3 * 3600_000);
    const r2 = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    clock.advance(30 * 86400_000);
    const r3 = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });

    // Assess
    expect([r1.counts.claimed, r2.counts.claimed, r3.counts.selected]).toEqual([1, 1, 0]);
    expect(r2.counts.exhausted).toBe(1);
    const s = await getSession(ctx, 'ex-1');
    expect(s).toMatchObject({ status: 'exhausted', retryCount: 2 });
    expect(s?.dueShard).toBeUndefined();
    expect(s?.nextRetryAt).toBeUndefined();
    const attempts = await attemptItems(ctx);
    expect(attempts.map((a) => [a.number, a.final])).toEqual([
      [1, false],
      [2, true],
    ]);
    // A late recovery after exhaustion is still accepted.
    await expect(
      updateSession(ctx, 'ex-1', { status: 'recovered' }, { triggeredBy: 'product' }),
    ).resolves.toMatchObject({ status: 'recovered' });
  });

  it('a session item that fails the schema is reported in the run record; the others are processed', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('ok-1', DUE), stalledSession('ok-2', DUE)]);
    const broken = withIndexKeys(stalledSession('broken-1', DUE), ctx.shards) as Record<string, unknown>;
    broken.retryCount = 'three';
    delete broken.kind;
    await ctx.ddb.send(new PutCommand({ TableName: ctx.tables.sessions, Item: broken }));

    // Act
    const run = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });

    // Assess
    expect(run.counts).toMatchObject({ selected: 2, claimed: 2, invalid: 1 });
    expect(run.problems).toEqual([
      expect.objectContaining({ sessionId: 'broken-1', reason: expect.stringMatching(/retryCount|kind/) }),
    ]);
    const stored = (await scanAll(ctx, ctx.tables.sessions)).find((s) => s.sessionId === 'broken-1');
    expect(stored).toEqual(broken);
  });

  it('a run never takes more than its limit; the rest are left due for the next run', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(
      ctx,
      Array.from({ length: 30 }, (_, i) => stalledSession(`lim-${i}`, DUE)),
    );

    // Act
    const first = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test', limit: 10 });
    const second = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test', limit: 100 });

    // Assess
    expect(first).toMatchObject({ limit: 10, counts: { selected: 10, claimed: 10 } });
    expect(second.counts).toMatchObject({ selected: 20, claimed: 20 });
    expect(new Set((await attemptItems(ctx)).map((a) => a.sessionId)).size).toBe(30);
  });

  it('a paused job runs nothing; a paused session is not attempted until resumed', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx } = await createTestContext({ clock: clock.clock });
    await seedSessions(ctx, [stalledSession('p-1', DUE), stalledSession('p-2', DUE)]);
    await setJobPaused(ctx, 'recovery-sweep', true, {
      triggeredBy: 'ops',
      at: clock.clock(),
      reason: 'incident 42',
    });
    await setSessionPaused(ctx, 'p-2', true, { triggeredBy: 'ops' });

    // Act
    const whilePaused = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    await setJobPaused(ctx, 'recovery-sweep', false, { triggeredBy: 'ops', at: clock.clock() });
    const resumed = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });
    await setSessionPaused(ctx, 'p-2', false, { triggeredBy: 'ops' });
    const afterSessionResume = await runRecoverySweep(asFunction(ctx, 'recovery-sweep'), { trigger: 'test' });

    // Assess
    expect(whilePaused).toMatchObject({ status: 'skipped', reason: expect.stringContaining('incident 42') });
    expect(resumed.counts.claimed).toBe(1);
    expect(afterSessionResume.counts.claimed).toBe(1);
    expect((await attemptItems(ctx)).map((a) => a.sessionId).sort()).toEqual(['p-1', 'p-2']);
  });
});
