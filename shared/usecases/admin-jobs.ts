// What an operator does with the scheduled jobs, from the admin API or the ops CLI: read their state, pause
// and resume them (the kill switch), and read their run records. Running one now is ./job-start.ts (the API
// starts it in the job's own function) and ./job-start-local.ts (in the same process).
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { JOBS, type JobName } from '../infra/resources.ts';
import { getJobState, listRuns, type RunRecord, setJobPaused } from '../repositories/jobs.ts';
import type { Infer } from '../schema.ts';
import { settingsOf } from '../settings.ts';
import { type JobStatus, jobStatusOf } from './job-status.ts';

export async function getJobsStatus(ctx: AppContext): Promise<JobStatus[]> {
  const now = ctx.clock();
  const states = await Promise.all(JOBS.map((job) => getJobState(ctx, job)));
  return states.map((s) => jobStatusOf(s, now, settingsOf(ctx).schedules[s.name]));
}

async function setJobPausedBy(
  ctx: AppContext,
  job: JobName,
  paused: boolean,
  audit: { triggeredBy: string; reason?: string },
): Promise<JobStatus> {
  const state = await setJobPaused(ctx, job, paused, { ...audit, at: ctx.clock() });
  return jobStatusOf(state, ctx.clock(), settingsOf(ctx).schedules[job]);
}

export const pauseJob = (ctx: AppContext, job: JobName, audit: { triggeredBy: string; reason?: string }) =>
  setJobPausedBy(ctx, job, true, audit);
export const resumeJob = (ctx: AppContext, job: JobName, audit: { triggeredBy: string; reason?: string }) =>
  setJobPausedBy(ctx, job, false, audit);

// Run records across jobs, newest first. Each job's partition is read from where the previous page
// stopped in it; the merged page takes the newest `limit`, and each job's position moves past what it gave.

const RunSortKey = v.pipe(v.string(), v.regex(/^[\x20-\x7e]{1,200}$/));

/** Per job: `null` when exhausted, a sort key to continue after, or absent to start from the newest. */
export const RunsPosition = v.strictObject({
  'recovery-sweep': v.optional(v.nullable(RunSortKey)),
  'timeout-monitor': v.optional(v.nullable(RunSortKey)),
});
export type RunsPosition = Infer<typeof RunsPosition>;

function runSortKey(run: RunRecord): string {
  return `${run.startedAt}#${run.runId}`;
}

export async function listJobRuns(
  ctx: AppContext,
  input: { job?: JobName; limit: number; position?: RunsPosition },
): Promise<{ items: RunRecord[]; next?: RunsPosition; after: (index: number) => RunsPosition }> {
  const jobs = input.job ? [input.job] : [...JOBS];
  const position: RunsPosition = { ...(input.position ?? {}) };
  const pages = await Promise.all(
    jobs.map(async (job) => {
      const at = position[job];
      if (at === null) return { job, items: [] as RunRecord[], more: false };
      const page = await listRuns(ctx, job, input.limit, at ? { pk: `run#${job}`, sk: at } : undefined);
      return { job, items: page.items, more: page.lastKey !== undefined };
    }),
  );
  const merged = pages
    .flatMap((p) => p.items)
    .sort((a, b) => runSortKey(b).localeCompare(runSortKey(a)))
    .slice(0, input.limit);
  /** Where each job's partition continues once `given` has been handed out; undefined when all are done. */
  const continuation = (given: readonly RunRecord[]): RunsPosition | undefined => {
    const next: RunsPosition = {};
    let anyLeft = false;
    for (const page of pages) {
      const taken = given.filter((r) => r.job === page.job);
      const all = taken.length === page.items.length;
      if (all && !page.more) next[page.job] = null;
      else {
        anyLeft = true;
        const last = taken.at(-1);
        const previous = position[page.job];
        if (last) next[page.job] = runSortKey(last);
        else if (previous) next[page.job] = previous;
      }
    }
    return anyLeft ? next : undefined;
  };
  const next = continuation(merged);
  return {
    items: merged,
    ...(next ? { next } : {}),
    // Right after merged[index] something is always left (merged[index + 1] at least).
    after: (index) => continuation(merged.slice(0, index + 1)) ?? {},
  };
}
