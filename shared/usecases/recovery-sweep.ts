// The recovery sweep: job lease → re-dispatch stale outbox items → query each `due` shard for
// `nextRetryAt <= now` → claim → publish → dispatched → run record and job state. Its cost follows the
// number of due sessions, never the table size. A publish that fails is an error of the run (the attempt
// waits in the outbox and the session with it); after `dispatchFailureLimit` failures in a row the run stops
// claiming and ends `failed`, so a lost queue pages instead of quietly exhausting sessions.
import type { AppContext, SweepWork } from '../context.ts';
import { ConflictError } from '../domain/errors.ts';
import type { RetryPolicy } from '../domain/retry-policy.ts';
import { type Session, SessionSchema } from '../domain/session.ts';
import { JOB_DESCRIPTIONS } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import {
  type AttemptItem,
  findStaleAttempts,
  noteDispatchFailure,
  outboxHeads,
  publishMessages,
  takeOverOutboxItem,
  unpublishedMessages,
} from '../repositories/attempts.ts';
import { acquireShardLease, type RunRecord, releaseShardLease } from '../repositories/jobs.ts';
import { policyCache } from '../repositories/policies.ts';
import { queryShard, shardOrder } from '../repositories/sessions.ts';
import { shardNumbers, shardsToRead } from '../repositories/shards.ts';
import { StatsBuffer } from '../repositories/stats.ts';
import { describeIssues, safeParse } from '../schema.ts';
import { settingsOf } from '../settings.ts';
import {
  type Claimed,
  claimAttempt,
  claimability,
  completeDispatch,
  deferAttempt,
  dispatchAttempt,
  previousAttemptUnsettled,
  type Unsettled,
} from './claim-attempt.ts';
import { forEachLimited, type JobRunOptions, type RunContext, runJob } from './job-run.ts';

export { SimulatedCrash } from './job-run.ts';

const JOB = 'recovery-sweep';

/** What a person following the live log sees. */
export type SweepEvent =
  | {
      type: 'claimed';
      sessionId: string;
      number: number;
      maxRetries: number;
      channels: string[];
      nextRetryAt?: string;
      final: boolean;
    }
  | { type: 'redispatched'; sessionId: string; attemptId: string; number: number }
  | { type: 'deferred'; sessionId: string; number: number; waitingFor: string[]; until: string }
  | { type: 'dispatch_failed'; sessionId: string; number: number; reason: string }
  | { type: 'stopped_claiming'; reason: string }
  | { type: 'conflict'; sessionId: string; reason: string }
  | { type: 'invalid'; sessionId?: string; reason: string }
  | { type: 'error'; sessionId?: string; reason: string };

/** Test-only crash points (test/ and the soak pass them; production callers never do). */
export interface SweepFaults {
  /** After the claim transaction committed, before publishing. Throw SimulatedCrash to crash there. */
  afterClaim?(claimed: Claimed): void | Promise<void>;
  /** After publishing, before the attempt is marked dispatched. */
  afterPublish?(claimed: Claimed): void | Promise<void>;
}

export interface SweepOptions extends JobRunOptions {
  readonly onEvent?: (event: SweepEvent) => void;
  readonly faults?: SweepFaults;
  /** Only these shards (parallel sweepers each taking some); all, from a random one, when absent. */
  readonly shards?: readonly string[];
  /**
   * A fan-out worker: walks only its shard group, holding each shard's lease instead of the job lease, and
   * hands its group on to the next worker when it stopped at its limit.
   */
  readonly worker?: SweepWork;
}

/** Splits shards into `groups` groups of consecutive shards, as even as can be (none empty). */
export function shardGroups(shards: readonly string[], groups: number): string[][] {
  const n = Math.max(1, Math.min(groups, shards.length));
  const out: string[][] = Array.from({ length: n }, () => []);
  for (const [i, shard] of shards.entries()) out[Math.floor((i * n) / shards.length)]!.push(shard);
  return out;
}

/**
 * Walks the `due` index shard by shard, a page at a time, handing each page to `onPage` before reading
 * the next. Claiming as it goes means a sweeper that reaches a shard another sweeper has just swept sees
 * those sessions as no longer due, instead of trying claims that are bound to conflict.
 */
async function walkDue(
  ctx: AppContext,
  run: RunContext,
  shards: readonly string[],
  onInvalid: (sessionId: string | undefined, reason: string) => void,
  onPage: (sessions: Session[]) => Promise<void>,
  stop: () => boolean,
  leases?: { seconds: number; busy: string[] },
): Promise<number> {
  let selected = 0;
  for (const shard of shards) {
    if (stop()) break;
    // Never two runs on one shard: a shard leased by another run (a fan-out worker) is left to it.
    if (leases && !(await acquireShardLease(ctx, shard, run.runId, ctx.clock(), leases.seconds))) {
      leases.busy.push(shard);
      continue;
    }
    try {
      selected += await walkShard(ctx, run, shard, run.limit - selected, onInvalid, onPage, stop);
    } finally {
      if (leases) await releaseShardLease(ctx, shard, run.runId).catch(() => {});
    }
    if (selected >= run.limit) break;
  }
  return selected;
}

/** One `due` shard, a page at a time, up to `limit` sessions; returns how many it read. */
async function walkShard(
  ctx: AppContext,
  run: RunContext,
  shard: string,
  limit: number,
  onInvalid: (sessionId: string | undefined, reason: string) => void,
  onPage: (sessions: Session[]) => Promise<void>,
  stop: () => boolean,
): Promise<number> {
  let selected = 0;
  {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await queryShard(ctx, {
        table: ctx.tables.sessions,
        index: 'due',
        shardAttr: 'dueShard',
        sortAttr: 'nextRetryAt',
        shard,
        upTo: run.started.toISOString(),
        limit: Math.min(limit - selected, 100),
        startKey,
      });
      const sessions: Session[] = [];
      for (const item of page.items) {
        const parsed = safeParse(SessionSchema, item);
        if (parsed.success) sessions.push(parsed.data);
        else {
          const id = typeof item.sessionId === 'string' ? item.sessionId : undefined;
          onInvalid(id, `session item fails the schema: ${describeIssues(parsed.issues, '(item)')}`);
        }
      }
      selected += sessions.length;
      await onPage(sessions);
      startKey = page.lastKey;
    } while (startKey && selected < limit && !stop());
  }
  return selected;
}

/** Counts consecutive dispatch failures over a run; past the limit the run stops claiming. */
class DispatchBreaker {
  private inARow = 0;
  private firstError: string | undefined;
  /** Whether any dispatch of this run succeeded: only that ends an outage for the job state. */
  anySucceeded = false;
  constructor(private readonly limit: number) {}

  failed(error: unknown): void {
    this.inARow++;
    this.firstError ??= String(error);
  }

  succeeded(): void {
    this.inARow = 0;
    this.anySucceeded = true;
  }

  get open(): boolean {
    return this.inARow >= this.limit;
  }

  get reason(): string {
    return `dispatch failing: ${this.inARow} attempt(s) in a row could not leave the outbox; stopped claiming for this run (first error: ${this.firstError ?? 'unknown'})`;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runRecoverySweep(ctx: AppContext, options: SweepOptions): Promise<RunRecord> {
  const settings = settingsOf(ctx);
  const emit = options.onEvent ?? (() => {});
  // A worker holds its shards' leases instead of the job lease (held by the run that started it).
  const jobOptions = { ...options, bypassJobLease: options.bypassJobLease || options.worker !== undefined };
  return runJob(ctx, JOB, { ...jobOptions, defaultLimit: settings.sweepLimit }, async (run) => {
    const { counts, problems } = run;
    const problem = (sessionId: string | undefined, reason: string) => {
      problems.push({ ...(sessionId ? { sessionId } : {}), reason });
    };
    const stats = new StatsBuffer();
    const readable = await shardsToRead(ctx);
    const worker = options.worker;
    const shards = worker?.shards ?? options.shards ?? shardOrder(readable);
    if (worker) {
      run.readings.shardGroup = [...worker.shards];
      run.readings.parentRunId = worker.parentRunId;
    }
    // Shard leases keep fan-out workers and the scheduled run off each other's shards. Runs that bypass
    // the job lease on purpose (racing sweepers in the bench) do without, unless they are workers.
    const leases =
      !run.dryRun && (worker || !options.bypassJobLease)
        ? { seconds: JOB_DESCRIPTIONS[JOB].leaseSeconds, busy: [] as string[] }
        : undefined;
    let walked = 0;
    const getPolicy = policyCache(ctx);
    const policyOf = (s: Session) => getPolicy(s.policyId, s.orgId);
    const breaker = new DispatchBreaker(settings.dispatchFailureLimit);
    let dispatchFailures = 0;
    const triggeredBy = `${JOB}/${options.trigger}`;
    try {
      if (!run.dryRun) {
        dispatchFailures += await redispatchStale(ctx, run, shards, { emit, breaker, policyOf, stats });
      }
      // With a zero delay a claimed session can be due again within the same run: one attempt per run.
      const seenThisRun = new Set<string>();

      const claimOne = async (seen: Session) => {
        if (breaker.open) {
          counts.skipped++;
          return;
        }
        if (seenThisRun.has(seen.sessionId)) {
          counts.skipped++;
          return;
        }
        seenThisRun.add(seen.sessionId);
        // Considered for a claim: what `Selected` counts (not what the run skipped after it stopped claiming).
        counts.selected++;
        const now = ctx.clock();
        if (!claimability(seen, now, 'sweep').ok) {
          counts.skipped++;
          return;
        }
        let unsettled: Unsettled | undefined;
        try {
          unsettled = await previousAttemptUnsettled(ctx, seen, now);
        } catch (error) {
          counts.errors++;
          problem(seen.sessionId, `could not read the previous attempt's outcomes: ${String(error)}`);
          return;
        }
        if (run.dryRun) {
          if (unsettled) counts.deferred++;
          else run.wouldProcess.push(seen.sessionId);
          return;
        }
        if (unsettled) {
          // Due, but the previous attempt's notifications are still on their way: wait for them, bounded.
          try {
            const deferred = await deferAttempt(ctx, seen, unsettled, { triggeredBy, stats });
            counts.deferred++;
            emit({
              type: 'deferred',
              sessionId: seen.sessionId,
              number: seen.retryCount + 1,
              waitingFor: [...unsettled.channels],
              until: deferred.nextRetryAt ?? unsettled.waitEnds.toISOString(),
            });
          } catch (error) {
            if (error instanceof ConflictError) {
              counts.conflicts++;
              return;
            }
            counts.errors++;
            problem(seen.sessionId, `deferral failed: ${String(error)}`);
          }
          return;
        }
        let claimed: Claimed;
        try {
          const policy = await policyOf(seen);
          claimed = await claimAttempt(ctx, seen, policy, {
            owner: run.runId,
            triggeredBy,
            leaseSeconds: settings.dispatchLeaseSeconds,
            mode: 'sweep',
            stats,
          });
        } catch (error) {
          if (error instanceof ConflictError) {
            // Another claimer won, or the session changed (recovered, paused) since it was selected.
            counts.conflicts++;
            emit({ type: 'conflict', sessionId: seen.sessionId, reason: error.message });
            return;
          }
          counts.errors++;
          problem(seen.sessionId, `claim failed: ${String(error)}`);
          logger.error('claim failed', { sessionId: seen.sessionId, runId: run.runId, error });
          emit({ type: 'error', sessionId: seen.sessionId, reason: String(error) });
          return;
        }
        counts.claimed++;
        if (claimed.attempt.final) counts.exhausted++;
        for (const c of claimed.attempt.channels) run.channels.add(c);
        emit({
          type: 'claimed',
          sessionId: seen.sessionId,
          number: claimed.attempt.number,
          maxRetries: claimed.attempt.maxRetries,
          channels: claimed.attempt.channels,
          nextRetryAt: claimed.session.nextRetryAt,
          final: claimed.attempt.final,
        });
        if (options.faults?.afterClaim) await options.faults.afterClaim(claimed);
        try {
          const afterPublish = options.faults?.afterPublish;
          counts.dispatched += await dispatchAttempt(
            ctx,
            claimed,
            { policyFor: policyOf, stats },
            afterPublish && (() => afterPublish(claimed)),
          );
          breaker.succeeded();
        } catch (error) {
          if (error instanceof Error && error.name === 'SimulatedCrash') throw error;
          // The attempt stays queued in the outbox (and the session with it, not claimable); a later run
          // re-dispatches it after its lease. The run fails: an attempt that cannot leave is an outage.
          dispatchFailures++;
          breaker.failed(error);
          counts.errors++;
          problem(
            seen.sessionId,
            `dispatch failed, attempt ${claimed.attempt.number} waits in the outbox: ${errorText(error)}`,
          );
          logger.error('dispatch failed; attempt left in outbox', {
            sessionId: seen.sessionId,
            runId: run.runId,
            error,
          });
          emit({
            type: 'dispatch_failed',
            sessionId: seen.sessionId,
            number: claimed.attempt.number,
            reason: errorText(error),
          });
          await noteDispatchFailure(ctx, claimed.attempt, error);
        }
      };

      if (!breaker.open) {
        walked = await walkDue(
          ctx,
          run,
          shards,
          (sessionId, reason) => {
            counts.invalid++;
            problem(sessionId, reason);
            logger.warn('skipping invalid session item', { sessionId, reason, runId: run.runId });
            emit({ type: 'invalid', sessionId, reason });
          },
          (page) => forEachLimited(page, settings.sweepConcurrency, claimOne),
          () => breaker.open,
          leases,
        );
        if (leases?.busy.length) run.readings.shardsBusy = leases.busy;
      }
      if (breaker.open) emit({ type: 'stopped_claiming', reason: breaker.reason });
    } finally {
      await stats.flush(ctx);
    }
    // A run that tried no dispatch (nothing new due, nothing stale yet) proves nothing about the queues:
    // while an attempt whose dispatch failed still waits, the outage goes on and the run says so.
    let stillFailing: AttemptItem | undefined;
    if (!run.dryRun) {
      try {
        const heads = await outboxHeads(ctx, shardNumbers(readable));
        const oldest = heads[0];
        run.readings.outboxOldestAgeSeconds = oldest
          ? Math.max(0, Math.floor((ctx.clock().getTime() - Date.parse(oldest.at)) / 1000))
          : 0;
        stillFailing = heads.find(
          (h): h is AttemptItem => h.type === 'attempt' && (h.dispatchFailures ?? 0) > 0,
        );
      } catch (error) {
        problem(undefined, `outbox age unreadable: ${String(error)}`);
      }
    }
    if (breaker.open) return { failed: breaker.reason };
    // The backlog exceeds one run's limit: fan out, one worker per shard group (a worker hands its own group
    // on), so the drain rate grows with the shards instead of stopping at the limit per schedule tick. Only
    // a run that moved some of what it read: one that moved none (every claim throttled, items too large)
    // would start a worker that reads the same sessions again, back to back, without end. The chain stops
    // there; the next scheduled sweep starts afresh from the schedule.
    const moved = counts.claimed + counts.deferred + counts.conflicts;
    let stopped: string | undefined;
    if (!run.dryRun && walked >= run.limit && ctx.startSweepWorker && moved === 0) {
      stopped = `moved none of the ${walked} due session(s) it read: not handed on to another worker (${counts.errors} error(s), ${counts.skipped} skipped); the next scheduled sweep starts again`;
    } else if (!run.dryRun && walked >= run.limit && ctx.startSweepWorker) {
      const groups = worker
        ? [[...worker.shards]]
        : shardGroups(shardNumbers(readable), settings.sweepWorkers);
      const started = await Promise.allSettled(
        groups.map((group) => ctx.startSweepWorker!({ shards: group, parentRunId: run.runId })),
      );
      run.readings.fanOut = { workers: groups.length, groups };
      const failedStarts = started.flatMap((r, i) =>
        r.status === 'rejected' ? [{ r, group: groups[i]! }] : [],
      );
      if (failedStarts.length) {
        for (const { r, group } of failedStarts) {
          problem(
            undefined,
            `sweep worker for shards ${group.join(',')} not started: ${String((r as PromiseRejectedResult).reason)}`,
          );
        }
        return { failed: `${failedStarts.length} of ${groups.length} sweep worker(s) could not be started` };
      }
    }
    const reason = stopped ? { reason: stopped } : {};
    if (dispatchFailures > 0) {
      return {
        failed: `${dispatchFailures} attempt(s) could not leave the outbox: ${problems.find((p) => p.reason.includes('outbox'))?.reason ?? 'dispatch failed'}`,
        ...reason,
      };
    }
    if (stillFailing && !breaker.anySucceeded) {
      return {
        failed: `dispatch still failing: attempt ${stillFailing.number} of ${stillFailing.sessionId} waits in the outbox since ${stillFailing.at} after ${stillFailing.dispatchFailures} failed dispatch(es) (last error: ${stillFailing.lastDispatchError ?? 'unknown'}); no dispatch has succeeded since`,
        ...reason,
      };
    }
    const nothingWorked =
      counts.selected > 0 && counts.claimed === 0 && counts.deferred === 0 && counts.errors > 0;
    return nothingWorked ? { failed: problems[0]?.reason ?? 'every claim failed', ...reason } : reason;
  });
}

interface RedispatchDeps {
  readonly emit: (e: SweepEvent) => void;
  readonly breaker: DispatchBreaker;
  readonly policyOf: (s: Session) => Promise<RetryPolicy>;
  readonly stats: StatsBuffer;
}

/** Re-publishes attempts whose dispatch lease has passed while still queued. Returns the failures. */
async function redispatchStale(
  ctx: AppContext,
  run: RunContext,
  shards: readonly string[],
  deps: RedispatchDeps,
): Promise<number> {
  const leaseSeconds = settingsOf(ctx).dispatchLeaseSeconds;
  let failures = 0;
  for (const shard of shards) {
    if (deps.breaker.open) break;
    // A failure to read the outbox (after the SDK's own retries) is counted and the run goes on to the due
    // sessions; the items stay queued and the next sweep tries again.
    let items: AttemptItem[];
    try {
      items = await findStaleAttempts(ctx, shard, ctx.clock(), 100);
    } catch (error) {
      run.counts.errors++;
      run.problems.push({ reason: `outbox shard ${shard} unreadable: ${String(error)}` });
      continue;
    }
    for (const item of items) {
      if (deps.breaker.open) break;
      let mine: AttemptItem | undefined;
      try {
        mine = await takeOverOutboxItem(ctx, item, run.runId, leaseSeconds);
      } catch (error) {
        run.counts.errors++;
        run.problems.push({ sessionId: item.sessionId, reason: `outbox take-over failed: ${String(error)}` });
        continue;
      }
      if (!mine) continue;
      try {
        const messages = unpublishedMessages(mine);
        await publishMessages(ctx, messages);
        // False when its first claimer finished the dispatch meanwhile: published twice, re-dispatched by none.
        const ours = await completeDispatch(ctx, mine, { policyFor: deps.policyOf, stats: deps.stats });
        deps.breaker.succeeded();
        if (ours) run.counts.redispatched++;
        run.counts.dispatched += messages.length;
        for (const m of messages) run.channels.add(m.channel);
        deps.emit({
          type: 'redispatched',
          sessionId: mine.sessionId,
          attemptId: mine.attemptId,
          number: mine.number,
        });
      } catch (error) {
        failures++;
        deps.breaker.failed(error);
        run.counts.errors++;
        run.problems.push({
          sessionId: item.sessionId,
          reason: `re-dispatch failed, attempt ${item.number} waits in the outbox: ${errorText(error)}`,
        });
        deps.emit({
          type: 'dispatch_failed',
          sessionId: item.sessionId,
          number: item.number,
          reason: errorText(error),
        });
        await noteDispatchFailure(ctx, mine, error);
      }
    }
  }
  return failures;
}
