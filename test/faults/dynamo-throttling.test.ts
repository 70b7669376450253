// DynamoDB throttling and 500s during sweeps, injected on the real client inside the SDK's retry loop:
// before a request is sent (nothing written) and after it was applied (the write is in, the answer lost).
// Whatever the SDK's retries and the sweep's error handling make of them, no attempt is lost and none is
// made twice: every (session, retry) has exactly one attempt item, and every attempt ends `dispatched`.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../shared/aws/clients.ts';
import type { AppContext } from '../../shared/context.ts';
import { getSession } from '../../shared/repositories/sessions.ts';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { createTestContext, manualClock } from '../support/context.ts';
import {
  type DynamoFaultOptions,
  type FaultPlan,
  injectDynamoFaults,
  leaseExpiryMs,
  sweepUntilQuiet,
} from '../support/faults.ts';
import { seedSessions, stalledSession } from '../support/seed.ts';
import { allAttempts, copiesByAttempt, countBySessionAndNumber, drainQueue, putPolicy } from './support.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const DUE = '2026-03-02T09:00:00.000Z';
const INJECTED_ERRORS = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'InternalServerError',
];

/**
 * A test context whose `ctx.ddb` gets the faults, and a second, clean client on the same tables for the
 * test's own reads (its checks must not be the thing that fails).
 */
async function faultyContext(clock: ReturnType<typeof manualClock>) {
  const { ctx, endpoints } = await createTestContext({ clock: clock.clock });
  const clean: AppContext = { ...ctx, ddb: createDynamoClient(endpoints) };
  return { ctx, clean };
}

/** Sessions whose second retry is a day away: the whole test sees exactly one attempt per session. */
async function seedDaily(ctx: AppContext, ids: readonly string[]) {
  const policy = await putPolicy(ctx, {
    policyId: 'pol-daily',
    initialDelaySeconds: 86400,
    backoffMultiplier: 1,
    maxDelaySeconds: 86400,
  });
  await seedSessions(
    ctx,
    ids.map((id) => stalledSession(id, DUE, { policyId: policy.policyId })),
  );
}

const variants: Array<{ name: string; faults: DynamoFaultOptions; minAppliedThenFailed: number }> = [
  {
    name: '15 % before-send (throttling and 500s)',
    faults: { rate: 0.15, kinds: ['throttle', '500'], timing: 'before-send', seed: 11 },
    minAppliedThenFailed: 0,
  },
  {
    name: '15 % after-send (applied, answer lost)',
    faults: { rate: 0.15, kinds: ['throttle', '500'], timing: 'after-send', seed: 12 },
    minAppliedThenFailed: 10,
  },
  {
    name: '20 % mixed before/after-send',
    faults: { rate: 0.2, kinds: ['throttle', '500'], timing: 'mixed', seed: 13 },
    minAppliedThenFailed: 5,
  },
];

describe('DynamoDB faults during sweeps', () => {
  it.each(variants)(
    '$name: every due session gets exactly one attempt, every attempt ends dispatched',
    async ({ faults, minAppliedThenFailed }) => {
      // Prepare
      const clock = manualClock(T0);
      const { ctx, clean } = await faultyContext(clock);
      const ids = Array.from({ length: 150 }, (_, i) => `thr-${i}`);
      await seedDaily(ctx, ids);
      const injector = injectDynamoFaults(ctx.ddb, faults);

      // Act: the schedule keeps firing (clock past the leases after each troubled run) until a quiet run
      // finds nothing left and the clean reader sees every attempt dispatched.
      const loop = await sweepUntilQuiet(ctx, {
        advance: clock.advance,
        maxRuns: 40,
        settled: async () => {
          const attempts = await allAttempts(clean);
          return attempts.length >= ids.length && attempts.every((a) => a.state === 'dispatched');
        },
      });
      injector.remove();

      // Assess
      const context = injector.describe();
      expect(loop.quiescent, context).toBe(true);
      // Only injected AWS errors may escape a run (a fault on every SDK attempt of a job-state read, say).
      expect(
        loop.thrown.filter((e) => !INJECTED_ERRORS.includes(e.name)),
        context,
      ).toEqual([]);
      expect(injector.counters.injected, context).toBeGreaterThan(30);
      expect(injector.counters.appliedThenFailed, context).toBeGreaterThanOrEqual(minAppliedThenFailed);
      if (faults.timing !== 'before-send') {
        // The nasty case was hit: a claim transaction that committed and reported an error.
        expect(
          injector.log.some((f) => f.command === 'TransactWriteItems' && f.timing === 'after-send'),
        ).toBe(true);
      }
      const attempts = await allAttempts(clean);
      const perKey = countBySessionAndNumber(attempts);
      expect([...perKey.keys()].sort(), context).toEqual(ids.map((id) => `${id}#1`).sort());
      expect(
        [...perKey].filter(([, n]) => n !== 1),
        context,
      ).toEqual([]);
      expect(
        attempts.filter((a) => a.state !== 'dispatched'),
        context,
      ).toEqual([]);
      const copies = copiesByAttempt(await drainQueue(ctx, ctx.queues.email.url));
      expect(attempts.filter((a) => (copies.get(a.attemptId) ?? 0) < 1)).toEqual([]);
      expect(copies.size).toBe(ids.length);
      // A second copy on SQS only comes from a re-dispatch (an attempt whose markDispatched never landed).
      const extraCopies = [...copies.values()].reduce((n, c) => n + c - 1, 0);
      const redispatched = loop.runs.reduce((n, r) => n + r.counts.redispatched, 0);
      expect(extraCopies).toBeLessThanOrEqual(redispatched);
      for (const id of ids.slice(0, 10)) expect((await getSession(clean, id))?.retryCount).toBe(1);
    },
    180_000,
  );

  it('a claim transaction that committed but answered 500 on every SDK attempt is recognised as ours and published at once, once', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx, clean } = await faultyContext(clock);
    await seedDaily(ctx, ['ambiguous-1']);
    const lost: FaultPlan = { kind: '500', timing: 'after-send' };
    const injector = injectDynamoFaults(ctx.ddb, {
      commands: ['TransactWriteItems'],
      schedule: [lost, lost, lost],
    });

    // Act
    const first = await runRecoverySweep(ctx, { trigger: 'schedule' });
    const afterFirst = {
      attempts: await allAttempts(clean),
      session: await getSession(clean, 'ambiguous-1'),
    };
    const queuedEarly = await drainQueue(ctx, ctx.queues.email.url);
    clock.advance(leaseExpiryMs(ctx));
    const second = await runRecoverySweep(ctx, { trigger: 'schedule' });
    clock.advance(leaseExpiryMs(ctx));
    const third = await runRecoverySweep(ctx, { trigger: 'schedule' });

    // Assess: the sweep could not tell from the answer whether its claim committed; it read the session
    // back, found its own fence and lease, and published at once. No second claim of the same retry, and
    // the outbox has nothing left to re-dispatch later.
    expect(injector.counters.appliedThenFailed).toBe(3);
    expect(first.counts).toMatchObject({ claimed: 1, errors: 0, dispatched: 1 });
    expect(afterFirst.attempts.map((a) => [a.number, a.state])).toEqual([[1, 'dispatched']]);
    expect(afterFirst.session).toMatchObject({ retryCount: 1, status: 'recovering' });
    expect(queuedEarly.map((m) => [m.sessionId, m.number, m.attemptId])).toEqual([
      ['ambiguous-1', 1, afterFirst.attempts[0]?.attemptId],
    ]);
    expect(second.counts).toMatchObject({ redispatched: 0, claimed: 0 });
    expect(third.counts).toMatchObject({ redispatched: 0, claimed: 0 });
    expect(await drainQueue(ctx, ctx.queues.email.url)).toEqual([]);
    expect((await allAttempts(clean)).map((a) => a.state)).toEqual(['dispatched']);
  });

  it('a claim transaction whose first answer was lost is retried by the SDK with the same ClientRequestToken: one attempt, dispatched at once', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx, clean } = await faultyContext(clock);
    await seedDaily(ctx, ['token-1']);
    const injector = injectDynamoFaults(ctx.ddb, {
      commands: ['TransactWriteItems'],
      schedule: [{ kind: '500', timing: 'after-send' }],
    });

    // Act
    const run = await runRecoverySweep(ctx, { trigger: 'schedule' });

    // Assess: the SDK's retry carried the auto-filled idempotency token; DynamoDB answered it as the
    // committed transaction instead of failing its version condition, so the sweep went on and published.
    expect(injector.log.map((f) => [f.command, f.attempt])).toEqual([['TransactWriteItems', 1]]);
    expect(run.counts).toMatchObject({ claimed: 1, errors: 0, conflicts: 0, dispatched: 1 });
    expect((await allAttempts(clean)).map((a) => [a.number, a.state])).toEqual([[1, 'dispatched']]);
    expect(await drainQueue(ctx, ctx.queues.email.url)).toHaveLength(1);
  });

  // The SDK retries acquireJobLease's conditional Put after a lost answer; the retry finds the lease the
  // first attempt wrote. The run must take that lease as its own (not skip itself as "another execution
  // holds the job lease") and release it at the end, or the next scheduled runs are skipped until it
  // expires (120 s). Fails if acquireJobLease stops accepting a lease it owns.
  it('a job-lease write whose answer was lost does not lock the sweep out of its own run', async () => {
    // Prepare
    const clock = manualClock(T0);
    const { ctx, clean } = await faultyContext(clock);
    await seedDaily(ctx, ['lease-1']);
    const injector = injectDynamoFaults(ctx.ddb, {
      commands: ['PutItem'],
      // The run's first PutItem is the job lease (the job state before it is a GetItem).
      schedule: (call) => (call.index === 0 ? { kind: '500', timing: 'after-send' } : undefined),
    });

    // Act
    const run = await runRecoverySweep(ctx, { trigger: 'schedule' });
    const lease = await clean.ddb.send(
      new GetCommand({ TableName: ctx.tables.control, Key: { pk: 'lease', sk: 'recovery-sweep' } }),
    );

    // Assess
    expect(injector.counters.appliedThenFailed).toBe(1);
    expect(run).toMatchObject({ status: 'succeeded', counts: { claimed: 1 } });
    // And a finished run leaves no lease behind for the next scheduled invocation to trip over.
    expect(lease.Item).toBeUndefined();
  });

  // The SDK retries recordJobOutcome's job-state update after a lost answer: one failed run must still
  // count as one consecutive failure (the update is idempotent per run). Fails if it counts the retry too.
  it('a failed run whose job-state update answer was lost counts as one consecutive failure', async () => {
    // Prepare: the claim is throttled on every SDK attempt (nothing written, so the run fails), and the
    // first answer of the job-state update is lost.
    const clock = manualClock(T0);
    const { ctx, clean } = await faultyContext(clock);
    await seedDaily(ctx, ['outcome-1']);
    const injector = injectDynamoFaults(ctx.ddb, {
      schedule: (call) => {
        if (call.command === 'TransactWriteItems') return { kind: 'throttle', timing: 'before-send' };
        if (call.command === 'UpdateItem' && call.key?.pk === 'job' && call.attempt === 1) {
          return { kind: '500', timing: 'after-send' };
        }
        return undefined;
      },
    });

    // Act
    const run = await runRecoverySweep(ctx, { trigger: 'schedule' });
    const state = await clean.ddb.send(
      new GetCommand({ TableName: ctx.tables.control, Key: { pk: 'job', sk: 'recovery-sweep' } }),
    );

    // Assess
    expect(run.status).toBe('failed');
    expect(injector.counters.byCommand).toEqual({ TransactWriteItems: 3, UpdateItem: 1 });
    expect(injector.counters.appliedThenFailed).toBe(1);
    expect(await allAttempts(clean)).toEqual([]);
    expect(state.Item?.consecutiveFailures).toBe(1);
  });
});
