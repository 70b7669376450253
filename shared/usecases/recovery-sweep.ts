// The recovery sweep: job lease → re-dispatch stale outbox items → query each `due` shard for
// `nextRetryAt <= now` → claim → publish → dispatched → run record and job state. Its cost follows the
// number of due sessions, never the table size.
import type { AppContext } from '../context.ts';
import { ConflictError } from '../domain/errors.ts';
import { type Session, SessionSchema } from '../domain/session.ts';
import { logger } from '../observability/logger.ts';
import {
  findStaleOutbox,
  markDispatched,
  publishMessages,
  storedMessages,
  takeOverOutboxItem,
} from '../repositories/attempts.ts';
import type { RunRecord } from '../repositories/jobs.ts';
import { policyCache } from '../repositories/policies.ts';
import { queryShard, shardOrder } from '../repositories/sessions.ts';
import { StatsBuffer } from '../repositories/stats.ts';
import { describeIssues, safeParse } from '../schema.ts';
import { settingsOf } from '../settings.ts';
import { type Claimed, claimAttempt, dispatchAttempt, unclaimableReason } from './claim-attempt.ts';
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
): Promise<number> {
  let selected = 0;
  for (const shard of shards) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await queryShard(ctx, {
        table: ctx.tables.sessions,
        index: 'due',
        shardAttr: 'dueShard',
        sortAttr: 'nextRetryAt',
        shard,
        upTo: run.started.toISOString(),
        limit: Math.min(run.limit - selected, 100),
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
    } while (startKey && selected < run.limit);
    if (selected >= run.limit) break;
  }
  return selected;
}

export async function runRecoverySweep(ctx: AppContext, options: SweepOptions): Promise<RunRecord> {
  const settings = settingsOf(ctx);
  const emit = options.onEvent ?? (() => {});
  return runJob(ctx, JOB, { ...options, defaultLimit: settings.sweepLimit }, async (run) => {
    const { counts, problems } = run;
    const problem = (sessionId: string | undefined, reason: string) => {
      problems.push({ ...(sessionId ? { sessionId } : {}), reason });
    };
    const stats = new StatsBuffer();
    const shards = options.shards ?? shardOrder(ctx.shards);
    if (!run.dryRun) await redispatchStale(ctx, run, shards, emit);
    const getPolicy = policyCache(ctx);
    // With a zero delay a claimed session can be due again within the same run: one attempt per run.
    const seenThisRun = new Set<string>();

    const claimOne = async (seen: Session) => {
      if (seenThisRun.has(seen.sessionId) || unclaimableReason(seen, ctx.clock(), 'sweep')) {
        counts.skipped++;
        return;
      }
      seenThisRun.add(seen.sessionId);
      if (run.dryRun) {
        run.wouldProcess.push(seen.sessionId);
        return;
      }
      let claimed: Claimed;
      try {
        const policy = await getPolicy(seen.policyId, seen.orgId);
        claimed = await claimAttempt(ctx, seen, policy, {
          owner: run.runId,
          triggeredBy: `${JOB}/${options.trigger}`,
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
      await options.faults?.afterClaim?.(claimed);
      try {
        const afterPublish = options.faults?.afterPublish;
        counts.dispatched += await dispatchAttempt(
          ctx,
          claimed.attempt,
          afterPublish && (() => afterPublish(claimed)),
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'SimulatedCrash') throw error;
        // The attempt stays queued in the outbox; the next sweep after its lease re-dispatches it.
        counts.errors++;
        problem(seen.sessionId, `dispatch failed, left in outbox: ${String(error)}`);
        logger.error('dispatch failed; attempt left in outbox', {
          sessionId: seen.sessionId,
          runId: run.runId,
          error,
        });
        emit({ type: 'error', sessionId: seen.sessionId, reason: String(error) });
      }
    };

    try {
      counts.selected = await walkDue(
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
      );
    } finally {
      await stats.flush(ctx);
    }
    const nothingWorked = counts.selected > 0 && counts.claimed === 0 && counts.errors > 0;
    return nothingWorked ? { failed: problems[0]?.reason ?? 'every claim failed' } : undefined;
  });
}

async function redispatchStale(
  ctx: AppContext,
  run: RunContext,
  shards: readonly string[],
  emit: (e: SweepEvent) => void,
): Promise<void> {
  const leaseSeconds = settingsOf(ctx).dispatchLeaseSeconds;
  for (const shard of shards) {
    // A failure here (after the SDK's own retries) is counted and the run goes on to the due sessions:
    // the outbox item stays queued and the next sweep tries it again.
    try {
      for (const item of await findStaleOutbox(ctx, shard, ctx.clock(), 100)) {
        try {
          const mine = await takeOverOutboxItem(ctx, item, run.runId, leaseSeconds);
          if (!mine) continue;
          const messages = storedMessages(mine);
          await publishMessages(ctx, messages);
          await markDispatched(ctx, mine);
          run.counts.redispatched++;
          run.counts.dispatched += messages.length;
          for (const m of messages) run.channels.add(m.channel);
          emit({
            type: 'redispatched',
            sessionId: mine.sessionId,
            attemptId: mine.attemptId,
            number: mine.number,
          });
        } catch (error) {
          run.counts.errors++;
          run.problems.push({ sessionId: item.sessionId, reason: `re-dispatch failed: ${String(error)}` });
        }
      }
    } catch (error) {
      run.counts.errors++;
      run.problems.push({ reason: `outbox shard ${shard} unreadable: ${String(error)}` });
    }
  }
}
