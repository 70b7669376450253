// The life of one scheduled-job execution, shared by the sweep and the monitor: kill switch, job lease,
// run record, job state (heartbeat, last success, consecutive failures) and run metrics.
import type { AppContext } from '../context.ts';
import { JOB_DESCRIPTIONS, type JobName } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import {
  acquireJobLease,
  emptyCounts,
  getJobState,
  newRunId,
  putRunRecord,
  type RunCounts,
  type RunRecord,
  recordJobOutcome,
  releaseJobLease,
} from '../repositories/jobs.ts';
import { emitRunMetrics } from './run-metrics.ts';

export interface JobRunOptions {
  readonly trigger: string;
  readonly dryRun?: boolean;
  readonly limit?: number;
  /** Run without the job lease, as parallel shard sweepers or a run that outlived its lease do. */
  readonly bypassJobLease?: boolean;
  /** The run's id when the caller chose it (the admin API answers with it before the run starts). */
  readonly runId?: string;
  /**
   * When the invocation is killed (Lambda's remaining time): the job lease never outlives it, so a run that
   * times out does not keep the next runs out after its own end.
   */
  readonly deadline?: Date;
}

export interface RunContext {
  readonly runId: string;
  readonly started: Date;
  readonly dryRun: boolean;
  readonly limit: number;
  readonly counts: RunCounts;
  readonly problems: RunRecord['problems'];
  readonly channels: Set<string>;
  readonly wouldProcess: string[];
  /** Readings the run records beside its counts (the sweep's outbox age). */
  readonly readings: Pick<
    RunRecord,
    'outboxOldestAgeSeconds' | 'moreRemain' | 'shardGroup' | 'parentRunId' | 'shardsBusy' | 'fanOut'
  >;
}

/** Thrown by a fault hook to stop a run the way a killed process would: no cleanup, no run record. */
export class SimulatedCrash extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatedCrash';
  }
}

/** How a run ended: `failed` fails it with that error; `reason` says why it stopped where it did. */
export type RunBody = (run: RunContext) => Promise<{ failed?: string; reason?: string } | undefined>;

/**
 * Triggers of the job's schedule: EventBridge's tick (`schedule`) and the local runtime's timer (`local`).
 * Everything else (`manual:<who>`, `cli`, `api`, a fan-out worker) is a run on demand.
 */
export function isScheduledTrigger(trigger: string): boolean {
  return trigger === 'schedule' || trigger === 'local';
}

export async function runJob(
  ctx: AppContext,
  job: JobName,
  options: JobRunOptions & { defaultLimit: number },
  body: RunBody,
): Promise<RunRecord> {
  const started = ctx.clock();
  const run: RunContext = {
    runId: options.runId ?? newRunId(started),
    started,
    dryRun: options.dryRun ?? false,
    limit: Math.max(1, Math.min(options.limit ?? options.defaultLimit, options.defaultLimit)),
    counts: emptyCounts(),
    problems: [],
    channels: new Set(),
    wouldProcess: [],
    readings: {},
  };

  const finish = async (status: RunRecord['status'], detail: { reason?: string; error?: string } = {}) => {
    const finished = ctx.clock();
    const record: RunRecord = {
      runId: run.runId,
      job,
      trigger: options.trigger,
      dryRun: run.dryRun,
      limit: run.limit,
      status,
      ...(detail.reason ? { reason: detail.reason } : {}),
      ...(detail.error ? { error: detail.error } : {}),
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      counts: run.counts,
      channels: [...run.channels].sort(),
      ...(run.dryRun ? { wouldProcess: run.wouldProcess.slice(0, 100) } : {}),
      problems: run.problems.slice(0, 50),
      ...run.readings,
    };
    await putRunRecord(ctx, record);
    // A dry run changes nothing but its own run record: not even the job state. Only a scheduled run beats
    // the heart: a manual one must not make a schedule that stopped look alive.
    if (!run.dryRun) {
      const scheduled = isScheduledTrigger(options.trigger);
      const state = await recordJobOutcome(ctx, job, record, { heartbeat: scheduled });
      emitRunMetrics(record, state.consecutiveFailures, scheduled);
    }
    return record;
  };

  const state = await getJobState(ctx, job);
  if (state.paused && !run.dryRun) {
    return finish('skipped', {
      reason: `job paused by ${state.pausedBy ?? 'operator'}: ${state.pauseReason ?? ''}`.trim(),
    });
  }
  const leased =
    run.dryRun ||
    options.bypassJobLease ||
    (await acquireJobLease(ctx, job, run.runId, started, leaseSecondsFor(job, started, options.deadline)));
  if (!leased) return finish('skipped', { reason: 'another execution holds the job lease' });

  let crashed = false;
  try {
    const outcome = await body(run);
    return await finish(outcome?.failed ? 'failed' : 'succeeded', {
      error: outcome?.failed,
      reason: outcome?.reason,
    });
  } catch (error) {
    if (error instanceof SimulatedCrash) {
      crashed = true;
      throw error;
    }
    logger.error('run failed', { job, runId: run.runId, error });
    return await finish('failed', { error: error instanceof Error ? error.message : String(error) });
  } finally {
    // A crashed process releases nothing: its lease must expire, as in production.
    if (!crashed && leased && !run.dryRun && !options.bypassJobLease) {
      await releaseJobLease(ctx, job, run.runId).catch(() => {});
    }
  }
}

/**
 * How long a run's job lease lasts: the job's lease, and never past the invocation's own end (a killed run
 * releases nothing, so its lease must run out by then). At least one second.
 */
export function leaseSecondsFor(job: JobName, now: Date, deadline?: Date): number {
  const configured = JOB_DESCRIPTIONS[job].leaseSeconds;
  if (!deadline) return configured;
  return Math.max(1, Math.min(configured, Math.floor((deadline.getTime() - now.getTime()) / 1000)));
}

/** Runs `fn` over items with bounded concurrency; the first thrown error stops every worker, then rethrows. */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.error;
}

/** A run record for an invocation that was rejected before it started (a malformed event). */
export async function recordRejectedRun(ctx: AppContext, job: JobName, reason: string): Promise<RunRecord> {
  return runJob(
    ctx,
    job,
    { trigger: 'invalid-event', defaultLimit: 1, bypassJobLease: true },
    async (run) => {
      run.counts.invalid = 1;
      run.problems.push({ reason });
      return { failed: reason };
    },
  );
}
