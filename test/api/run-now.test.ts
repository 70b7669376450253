// Run now through the api-admin function's own router, as API Gateway calls it: the run is handed to the
// job's function (here a starter that records what it was given, or refuses as Lambda would) and the answer
// is 202 with the id the run's record will carry; a start Lambda refuses is a 503 that started nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { createAdminBindings } from '../../shared/api/admin-bindings.ts';
import { type ApiHandler, createRouter, type ProxyEvent } from '../../shared/api/router.ts';
import { routesOf } from '../../shared/api/routes.ts';
import type { AppContext } from '../../shared/context.ts';
import { listRuns } from '../../shared/repositories/jobs.ts';
import { JobStartError, type ManualRunEvent } from '../../shared/usecases/job-start.ts';
import { createTestContext } from '../support/context.ts';

const CALLER = 'arn:aws:iam::123456789012:user/oncall-operator';
let ctx: AppContext;

function runEvent(job: string, body: unknown): ProxyEvent {
  return {
    resource: '/v1/admin/jobs/{job}/run',
    path: `/v1/admin/jobs/${job}/run`,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json' },
    pathParameters: { job },
    queryStringParameters: null,
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId: 'r-1', identity: { userArn: CALLER } },
  } as unknown as ProxyEvent;
}

function admin(start: (job: string, event: ManualRunEvent) => Promise<void>): ApiHandler {
  return createRouter({ ctx, routes: routesOf('api-admin'), bindings: createAdminBindings(start) });
}

beforeAll(async () => {
  ({ ctx } = await createTestContext());
});

describe('POST /v1/admin/jobs/{job}/run in the api-admin function', () => {
  it('hands the run to the job function and answers 202 with the run id and who asked', async () => {
    // Prepare
    const started: Array<{ job: string; event: ManualRunEvent }> = [];
    const api = admin(async (job, event) => {
      started.push({ job, event });
    });
    // Act
    const res = await api(runEvent('timeout-monitor', { dryRun: true, limit: 7 }));
    // Assess
    expect(res.statusCode).toBe(202);
    const answer = JSON.parse(res.body) as Record<string, unknown>;
    expect(answer).toMatchObject({ job: 'timeout-monitor', dryRun: true, limit: 7, status: 'started' });
    expect(res.headers?.location).toBe('/v1/admin/runs?job=timeout-monitor');
    expect(started).toEqual([
      {
        job: 'timeout-monitor',
        event: { trigger: 'api', runId: answer.runId, requestedBy: CALLER, dryRun: true, limit: 7 },
      },
    ]);
    // Nothing ran in the API request itself.
    expect((await listRuns(ctx, 'timeout-monitor', 5)).items).toEqual([]);
  });

  it('answers 503 job-not-started when Lambda refuses the invocation', async () => {
    // Prepare
    const api = admin(async () => {
      throw new JobStartError('Lambda refused to start recovery-sweep (429): Rate exceeded');
    });
    // Act
    const res = await api(runEvent('recovery-sweep', {}));
    // Assess
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({
      type: '/problems/job-not-started',
      status: 503,
      detail: expect.stringMatching(/\(429\).*nothing was started, try again/),
    });
  });
});
