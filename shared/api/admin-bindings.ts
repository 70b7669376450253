// Route id → use case for the routes the `api-admin` function serves (`/v1/admin/*`): jobs, runs and
// dead letters. Apart from ./bindings.ts so that function alone bundles the sweep, the monitor and the
// DLQ replay, and the product-facing `api` function none of them.

import { resumeChannel } from '../reputation/guard.ts';
import { getJobsStatus, listJobRuns, pauseJob, RunsPosition, resumeJob } from '../usecases/admin-jobs.ts';
import { ReplayTotals, replayDlq } from '../usecases/dlq.ts';
import {
  checkReadiness,
  getSessionsHealth,
  listDlqsWithHealth,
  listStuckSessions,
} from '../usecases/health.ts';
import { JobStartError, type JobStarter, startJobRun } from '../usecases/job-start.ts';
import { reputationReport } from '../usecases/reputation.ts';
import { HttpProblem, problem } from './problem.ts';
import { continuation, ok, paging } from './results.ts';
import type { AdminBindings } from './router.ts';

/** The bindings of `/v1/admin/*`; `startJob` is how run-now starts a run (Lambda in AWS, in process locally). */
export function createAdminBindings(startJob: JobStarter): AdminBindings {
  return {
    async getJobsStatus(ctx) {
      return ok({ jobs: await getJobsStatus(ctx) });
    },

    async runJob(ctx, { params, body, caller }) {
      const started = await startJobRun(ctx, startJob, params.job, {
        dryRun: body.dryRun,
        limit: body.limit,
        triggeredBy: caller,
      }).catch((error: unknown) => {
        if (!(error instanceof JobStartError)) throw error;
        // Lambda refused or did not answer: nothing runs, and the caller may simply try again.
        throw new HttpProblem(
          problem(503, 'job_not_started', `${error.message}; nothing was started, try again`),
        );
      });
      return ok(started, 202, { location: started.runs });
    },

    async listRuns(ctx, { query }) {
      const p = await paging(ctx, 'runs', query, RunsPosition);
      const { items, next, after } = await listJobRuns(ctx, {
        job: query.job,
        limit: p.limit,
        position: p.position,
      });
      return p.page(items, next, after);
    },

    async pauseJob(ctx, { params, body, caller }) {
      return ok(await pauseJob(ctx, params.job, { triggeredBy: caller, reason: body.reason }));
    },

    async resumeJob(ctx, { params, body, caller }) {
      return ok(await resumeJob(ctx, params.job, { triggeredBy: caller, reason: body.reason }));
    },

    async listDlqs(ctx) {
      const depths = await listDlqsWithHealth(ctx);
      return ok({ channels: depths.map(({ error: _error, ...d }) => d) });
    },

    async readyz(ctx) {
      const report = await checkReadiness(ctx);
      return ok(report, report.status === 'error' ? 503 : 200);
    },

    async sessionsHealth(ctx) {
      return ok(await getSessionsHealth(ctx));
    },

    async stuckSessions(ctx) {
      return ok(await listStuckSessions(ctx));
    },

    async getReputation(ctx) {
      return ok(await reputationReport(ctx));
    },

    async resumeChannelSending(ctx, { params, body, caller }) {
      const state = await resumeChannel(ctx, params.channel, { triggeredBy: caller, reason: body.reason });
      return ok({
        channel: state.channel,
        paused: state.paused,
        resumedBy: state.resumedBy ?? null,
        resumedAt: state.resumedAt ?? null,
      });
    },

    async replayDlq(ctx, { params, body, caller }) {
      const { cursor, limit, ...filters } = body;
      const c = await continuation(
        ctx,
        'dlq-replay',
        { channel: params.channel, ...filters },
        cursor,
        ReplayTotals,
      );
      const { continues, ...result } = await replayDlq(ctx, params.channel, {
        ...filters,
        limit,
        triggeredBy: caller,
        ...(c.position ? { before: c.position } : {}),
      });
      return ok({ ...result, nextCursor: c.sign(continues ? result.total : undefined) });
    },
  };
}
