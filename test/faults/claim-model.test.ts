// A model-based test of the claim protocol. 2–8 sweepers (bypassing the job lease, as parallel shard
// sweepers or a run that outlived its lease do) race over a few sessions with small delays and few retries.
// fast-check's scheduler decides the order of every protocol call (due/outbox queries, claim transactions,
// outbox take-overs, publishes, markDispatched) and when each caller sees its answer, and slips clock jumps
// (pauses longer than the dispatch lease) between them. After a final quiescent sweep the tables must agree
// with a simple model: each (session, retry) attempted once, none skipped, none early, all dispatched, and
// each next retry counted from the dispatch of the previous attempt. No sender runs here, so attempts do not
// wait for their outcomes (outcomeWaitSeconds 0): that wait has its own tests.
import { AsyncLocalStorage } from 'node:async_hooks';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createSqsClient } from '../../shared/aws/clients.ts';
import type { AppContext } from '../../shared/context.ts';
import { delaySeconds, type RetryPolicy } from '../../shared/domain/retry-policy.ts';
import type { Channel } from '../../shared/infra/resources.ts';
import { getSession } from '../../shared/repositories/sessions.ts';
import { settingsOf } from '../../shared/settings.ts';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { updateSession } from '../../shared/usecases/sessions.ts';
import { createTestContext, manualClock, type TestContext } from '../support/context.ts';
import { type AwsCall, gateAwsCalls, type HasMiddlewareStack, InFlight } from '../support/faults.ts';
import { seedSessions, stalledSession } from '../support/seed.ts';
import { attemptsOf, putPolicy } from './support.ts';

const NUM_RUNS = Number(process.env.CLAIM_MODEL_RUNS ?? 200);
const PROTOCOL_WRITES = new Set(['TransactWriteItems', 'UpdateItem', 'SendMessageBatch']);

const clock = manualClock('2026-03-02T10:00:00.000Z');
const worker = new AsyncLocalStorage<string>();
const inFlight = new InFlight();
interface Pause {
  /** Which sweeper freezes (modulo the run's sweeper count), before which of its protocol calls, how long. */
  readonly sweeper: number;
  readonly call: number;
  readonly ms: number;
}

/** The property run in progress; calls outside a run pass ungated. */
let current:
  | { readonly s: fc.Scheduler; readonly pauses: readonly Pause[]; readonly calls: Map<string, number> }
  | undefined;
/** Copies published per `attemptId#channel`, counted from what SQS accepted. */
const published = new Map<string, number>();
let tc: TestContext;
let gated: AppContext;

/** Calls on the sessions and timeline tables and publishes are the protocol; the control table is not. */
function isProtocolCall(call: AwsCall, ctx: AppContext): boolean {
  if (call.service === 'sqs') return call.command === 'SendMessageBatch';
  return call.tables.some((t) => t === ctx.tables.sessions || t === ctx.tables.timeline);
}

/**
 * A sweeper's protocol call waits for the scheduler. A sweeper planned to freeze before this call finds the
 * clock moved on by the pause when it is let go: the others went on meanwhile, as far as the scheduler let
 * them, and leases may have expired under it.
 */
function beforeSend(call: AwsCall): Promise<void> | undefined {
  if (!current || !isProtocolCall(call, tc.ctx)) return undefined;
  const w = worker.getStore() ?? '?';
  const n = current.calls.get(w) ?? 0;
  current.calls.set(w, n + 1);
  const pause = current.pauses.find((p) => `w${p.sweeper}` === w && p.call === n);
  const label = `${w} ${call.command}${pause ? ` after a ${pause.ms / 1000} s pause` : ''}`;
  return current.s.schedule(Promise.resolve(), label).then(() => {
    if (pause) clock.advance(pause.ms);
  });
}

/** After a write was applied, when its caller sees the answer is the scheduler's choice too. */
function beforeAnswer(call: AwsCall): Promise<void> | undefined {
  if (!current || !isProtocolCall(call, tc.ctx) || !PROTOCOL_WRITES.has(call.command)) return undefined;
  return current.s.schedule(Promise.resolve(), `${worker.getStore() ?? '?'} ${call.command} answer`);
}

/** Counts every message SQS accepted, by attempt and channel (the sweep's publishes, gated or not). */
function countPublishes(client: HasMiddlewareStack): void {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input?: { Entries?: Array<{ MessageBody?: string }> } }) => {
        const result = await next(args);
        if (context.commandName === 'SendMessageBatchCommand') {
          for (const entry of args.input?.Entries ?? []) {
            const m = JSON.parse(entry.MessageBody ?? '{}') as { attemptId?: string; channel?: string };
            const key = `${m.attemptId}#${m.channel}`;
            published.set(key, (published.get(key) ?? 0) + 1);
          }
        }
        return result;
      },
    { step: 'initialize', priority: 'low', name: 'countPublishes' },
  );
}

/**
 * Releases one waiting protocol call at a time, each once no released one is still in flight and its
 * caller has moved on to its next gate. Control-table calls (job state, run record, stats) are not gated:
 * a sweeper busy with one is simply not among the candidates of that step.
 */
async function drive(s: fc.Scheduler, work: Promise<unknown>): Promise<void> {
  let finished = false;
  const done = work.finally(() => {
    finished = true;
  });
  done.catch(() => {});
  for (;;) {
    await inFlight.idle();
    if (finished) break;
    if (s.count() > 0) await s.waitOne();
    else if (inFlight.size > 0) await inFlight.nextLeave();
    else throw new Error('sweepers are neither done, nor waiting at a gate, nor in a call');
  }
  await done;
}

interface SessionPlan {
  readonly dueInSeconds: number;
}

interface RunPlan {
  readonly sweepers: number;
  readonly sweepsEach: number;
  readonly sessions: readonly SessionPlan[];
  readonly maxRetries: number;
  readonly initialDelaySeconds: number;
  readonly backoffMultiplier: number;
  readonly jitter: RetryPolicy['jitter'];
  readonly channels: Channel[];
  readonly pauses: readonly Pause[];
}

const planArbitrary: fc.Arbitrary<RunPlan> = fc.record({
  sweepers: fc.integer({ min: 2, max: 8 }),
  sweepsEach: fc.integer({ min: 1, max: 2 }),
  sessions: fc.array(fc.record({ dueInSeconds: fc.integer({ min: -30, max: 45 }) }), {
    minLength: 1,
    maxLength: 3,
  }),
  maxRetries: fc.integer({ min: 1, max: 3 }),
  initialDelaySeconds: fc.integer({ min: 0, max: 90 }),
  backoffMultiplier: fc.constantFrom(1, 1.5, 2),
  jitter: fc.constantFrom<RetryPolicy['jitter']>('none', 'full', 'equal'),
  channels: fc.constantFrom<Channel[]>(['email'], ['email', 'slack']),
  // Sweepers frozen before one of their calls: below, around and well past the 60 s dispatch lease.
  pauses: fc.array(
    fc.record({
      sweeper: fc.nat(7),
      call: fc.nat(8),
      ms: fc.constantFrom(5_000, 30_000, 61_000, 130_000),
    }),
    { maxLength: 4 },
  ),
});

let runSerial = 0;

/** Sweeps without gates until every session of the run is settled: not due (or exhausted), all dispatched. */
async function quiesce(ctx: AppContext, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < 16; i++) {
    await runRecoverySweep(ctx, { trigger: 'quiesce', bypassJobLease: true });
    const now = ctx.clock().toISOString();
    const pending = await Promise.all(
      ids.map(async (id) => {
        const [s, attempts] = await Promise.all([getSession(ctx, id), attemptsOf(ctx, id)]);
        const due =
          s && s.retryCount < (s.maxRetries ?? 0) && s.nextRetryAt !== undefined && s.nextRetryAt <= now;
        return due || attempts.some((a) => a.state !== 'dispatched');
      }),
    );
    if (!pending.includes(true)) return;
    // What is left waits for a dispatch lease (on the session or the outbox item): move past it.
    clock.advance((settingsOf(ctx).dispatchLeaseSeconds + 1) * 1000);
  }
}

/** The model: what the tables must say about one session once the run has settled. */
async function checkSession(ctx: AppContext, id: string, firstDueAt: string, policy: RetryPolicy) {
  const now = ctx.clock().getTime();
  const [session, attempts] = await Promise.all([getSession(ctx, id), attemptsOf(ctx, id)]);
  const problems: string[] = [];
  if (!session) return [`${id}: session missing`];
  const k = session.retryCount;
  const numbers = attempts.map((a) => a.number);
  const expected = Array.from({ length: k }, (_, i) => i + 1);
  if (JSON.stringify(numbers) !== JSON.stringify(expected)) {
    problems.push(`${id}: attempts ${JSON.stringify(numbers)} for retryCount ${k} (duplicate or gap)`);
  }
  if (k === 0 && Date.parse(firstDueAt) <= now)
    problems.push(`${id}: due since ${firstDueAt}, never attempted`);
  attempts.forEach((a, i) => {
    const at = Date.parse(a.at);
    if (i === 0 && at < Date.parse(firstDueAt))
      problems.push(`${id}: attempt 1 at ${a.at} before due ${firstDueAt}`);
    const prev = attempts[i - 1];
    if (prev) {
      const dispatched = Date.parse(prev.dispatchedAt ?? '');
      const earliest = dispatched + delaySeconds(policy, id, a.number) * 1000;
      if (at < earliest)
        problems.push(
          `${id}: attempt ${a.number} at ${a.at}, earlier than its delay from the last dispatch allows`,
        );
      if (!(at >= dispatched))
        problems.push(`${id}: attempt ${a.number} claimed before attempt ${prev.number} left the outbox`);
      if (a.fence <= prev.fence) problems.push(`${id}: fence ${a.fence} not above ${prev.fence}`);
    }
    if (a.state !== 'dispatched') problems.push(`${id}: attempt ${a.number} still ${a.state}`);
    for (const channel of policy.enabledChannels) {
      if (!published.get(`${a.attemptId}#${channel}`)) {
        problems.push(`${id}: attempt ${a.number} never published to ${channel}`);
      }
    }
  });
  const last = attempts.at(-1);
  if (k >= (session.maxRetries ?? 0)) {
    if (session.status !== 'exhausted' || session.nextRetryAt !== undefined || (last && !last.final)) {
      problems.push(`${id}: all ${k} retries used but status ${session.status}, next ${session.nextRetryAt}`);
    }
  } else if (k > 0 && last) {
    const next = Date.parse(last.dispatchedAt ?? '') + delaySeconds(policy, id, k + 1) * 1000;
    if (session.nextRetryAt !== new Date(next).toISOString()) {
      problems.push(`${id}: nextRetryAt ${session.nextRetryAt}, model says ${new Date(next).toISOString()}`);
    }
  }
  if (k < (session.maxRetries ?? 0) && session.nextRetryAt && Date.parse(session.nextRetryAt) <= now) {
    problems.push(`${id}: retry ${k + 1} due at ${session.nextRetryAt} but skipped`);
  }
  return problems;
}

describe('claim protocol model', () => {
  beforeAll(async () => {
    // One context for every run (tables are per context); each run has its own session ids and policy.
    tc = await createTestContext({ clock: clock.clock, shards: 1, settings: { outcomeWaitSeconds: 0 } });
    const ddb = createDynamoClient(tc.endpoints);
    const sqs = createSqsClient(tc.endpoints);
    const gate = { before: beforeSend, after: beforeAnswer };
    gateAwsCalls(ddb, 'dynamodb', gate, inFlight);
    gateAwsCalls(sqs, 'sqs', gate, inFlight);
    countPublishes(sqs);
    countPublishes(tc.ctx.sqs);
    gated = { ...tc.ctx, ddb, sqs };
  });

  afterAll(() => {
    current = undefined;
  });

  it(`${NUM_RUNS} interleavings of 2–8 sweepers with pauses past the lease: each retry attempted once, none skipped`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), planArbitrary, async (s, plan) => {
        // Prepare
        const ctx = tc.ctx;
        const run = ++runSerial;
        const policy = await putPolicy(ctx, {
          policyId: `pol-model-${run}`,
          maxRetries: plan.maxRetries,
          initialDelaySeconds: plan.initialDelaySeconds,
          backoffMultiplier: plan.backoffMultiplier,
          maxDelaySeconds: plan.initialDelaySeconds * 4,
          jitter: plan.jitter,
          enabledChannels: plan.channels,
        });
        const now = clock.clock().getTime();
        const sessions = plan.sessions.map((p, i) => ({
          id: `m${run}-${i}`,
          firstDueAt: new Date(now + p.dueInSeconds * 1000).toISOString(),
        }));
        await seedSessions(
          ctx,
          sessions.map(({ id, firstDueAt }) =>
            stalledSession(id, firstDueAt, {
              policyId: policy.policyId,
              maxRetries: plan.maxRetries,
              contact: { email: `${id}@example.com`, slackChannel: '#recovery' },
            }),
          ),
        );
        const pauses = plan.pauses.map((p) => ({ ...p, sweeper: p.sweeper % plan.sweepers }));

        // Act
        current = { s, pauses, calls: new Map() };
        try {
          const sweepers = Array.from({ length: plan.sweepers }, (_, w) =>
            worker.run(`w${w}`, async () => {
              for (let i = 0; i < plan.sweepsEach; i++) {
                await runRecoverySweep(gated, { trigger: `model-w${w}`, bypassJobLease: true });
              }
            }),
          );
          await drive(s, Promise.all(sweepers));
        } finally {
          current = undefined;
        }
        const ids = sessions.map((x) => x.id);
        await quiesce(ctx, ids);

        // Assess
        const problems = (
          await Promise.all(sessions.map(({ id, firstDueAt }) => checkSession(ctx, id, firstDueAt, policy)))
        ).flat();
        // Later runs move the clock on: retire this run's sessions so no later sweep works on them.
        await Promise.all(
          ids.map((id) => updateSession(ctx, id, { status: 'cancelled' }, { triggeredBy: 'model-test' })),
        );
        expect(
          problems,
          `${JSON.stringify(plan)}\n${s
            .report()
            .map((r) => r.label)
            .join(' → ')}`,
        ).toEqual([]);
      }),
      // Shrinking would replay real emulator runs for minutes; the first counterexample, its seed and the
      // scheduler's log of the interleaving are what a reader needs.
      { numRuns: NUM_RUNS, endOnFailure: true },
    );
  }, 240_000);
});
