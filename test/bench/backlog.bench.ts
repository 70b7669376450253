// Backlog and ceiling figures (#11), with the machine's raw limit measured in the same run:
//   dynamodb_local_txn_per_s        raw TransactWriteItems (2 puts each, 16 in flight) on this DynamoDB Local
//   backlog_drain_s_1_worker        20,000 due sessions drained by a sweep fanning out to 1 shard group
//   backlog_drain_s_4_workers       the same with 4 shard groups (each worker holds its shards' leases)
//   claims_per_s_4_shard_workers    claims/s of that drain; claim_conflict_ratio_4_shard_workers (expected 0)
//   <route>_p99_ms_<n>              p99 latency of health/sessions, health/sessions/stuck, a reset-stuck dry
//                                   run and a DLQ replay dry run over n processing + n due sessions, n = 20,000
//                                   and 2,000 (the same figure at both shows the route does not follow the table)
// BENCH_SCALE shrinks every size for a quick proof run (see scale.ts).
import { randomBytes } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import autocannon from 'autocannon';
import { startEmulators } from '../../local/emulators.ts';
import { startApiServer } from '../../local/http-server.ts';
import { contextForResources, createResources } from '../../local/resources.ts';
import { withInProcessSweepWorkers } from '../../local/sweep-workers.ts';
import { createSqsClient } from '../../shared/aws/clients.ts';
import type { AppContext } from '../../shared/context.ts';
import type { RunRecord } from '../../shared/repositories/jobs.ts';
import { DEFAULT_SETTINGS } from '../../shared/settings.ts';
import { runRecoverySweep } from '../../shared/usecases/recovery-sweep.ts';
import { runTimeoutMonitor } from '../../shared/usecases/timeout-monitor.ts';
import { seedSessions, stalledSession } from '../support/seed.ts';
import type { Figure } from './run.ts';
import { scaled } from './scale.ts';

const DUE = '2026-01-01T00:00:00.000Z';
const SHARDS = 8;

type Endpoints = Awaited<ReturnType<typeof startEmulators>>['endpoints'];

async function rawTxnPerSecond(ctx: AppContext, n: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        const id = `raw-${i}-${randomBytes(3).toString('hex')}`;
        await ctx.ddb.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: ctx.tables.sessions,
                  Item: { ...stalledSession(id, DUE), statusShard: 'raw#0', statusKey: id },
                  ConditionExpression: 'attribute_not_exists(sessionId)',
                },
              },
              {
                Put: { TableName: ctx.tables.timeline, Item: { sessionId: id, sk: `raw#${i}`, type: 'raw' } },
              },
            ],
          }),
        );
      }
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

/** Drains `n` due sessions with `workers` shard groups; seconds until every session was claimed. */
async function drain(
  log: (line: string) => void,
  endpoints: Endpoints,
  sqs: ReturnType<typeof createSqsClient>,
  n: number,
  workers: number,
): Promise<{ seconds: number; claimed: number; conflicts: number }> {
  const base = contextForResources(endpoints, sqs, await createResources(endpoints, sqs, `drain${workers}`), {
    shards: SHARDS,
    settings: { ...DEFAULT_SETTINGS, sweepWorkers: workers },
  });
  await seedSessions(
    base,
    Array.from({ length: n }, (_, i) => stalledSession(`d-${i}`, DUE)),
  );
  const runs: RunRecord[] = [];
  let claimed = 0;
  const pool = withInProcessSweepWorkers(base, (run) => {
    runs.push(run);
    claimed += run.counts.claimed;
    if (runs.length % 5 === 0)
      log(`${workers} worker(s): ${claimed}/${n} claimed after ${runs.length} worker runs`);
  });
  const started = performance.now();
  const first = await runRecoverySweep(pool.ctx, { trigger: 'schedule' });
  claimed += first.counts.claimed;
  await pool.settled();
  // A chain ends when a worker did not reach its limit; a scheduled run would pick up anything left.
  while (claimed < n) {
    const more = await runRecoverySweep(pool.ctx, { trigger: 'schedule' });
    claimed += more.counts.claimed;
    await pool.settled();
    if (more.counts.claimed === 0) break;
  }
  const seconds = (performance.now() - started) / 1000;
  const conflicts = [first, ...runs].reduce((s, r) => s + r.counts.conflicts, 0);
  log(`${workers} worker(s): ${claimed}/${n} claimed in ${seconds.toFixed(1)} s, ${conflicts} conflicts`);
  // A drain time of a run that did not drain is no figure: fail rather than report it.
  if (claimed < n)
    throw new Error(
      `backlog drain with ${workers} worker(s) incomplete: ${claimed} of ${n} sessions claimed`,
    );
  return { seconds, claimed, conflicts };
}

async function routeLatencies(
  log: (line: string) => void,
  endpoints: Endpoints,
  sqs: ReturnType<typeof createSqsClient>,
  n: number,
): Promise<Figure[]> {
  const ctx = contextForResources(endpoints, sqs, await createResources(endpoints, sqs, `ceil${n}`), {
    shards: SHARDS,
  });
  const now = Date.now();
  log(`seeding ${n} processing (past their deadline) + ${n} due sessions`);
  await seedSessions(ctx, [
    ...Array.from({ length: n }, (_, i) =>
      stalledSession(`p-${i}`, DUE, {
        status: 'processing',
        nextRetryAt: undefined,
        processingStartedAt: new Date(now - 3 * 3600_000 - i * 1000).toISOString(),
        deadlineAt: new Date(now - 2 * 3600_000 - i * 1000).toISOString(),
      }),
    ),
    ...Array.from({ length: n }, (_, i) => stalledSession(`q-${i}`, DUE)),
  ]);
  // The health counters come from the monitor's last run, as deployed (a dry run would not record them).
  await runTimeoutMonitor(ctx, { trigger: 'bench', dryRun: false, limit: 1 }).catch(() => undefined);
  const server = await startApiServer({ ctx, port: 0 });
  const figures: Figure[] = [];
  try {
    const routes: Array<{ name: string; method: 'GET' | 'POST'; path: string; body?: unknown }> = [
      { name: 'health_sessions', method: 'GET', path: '/v1/health/sessions' },
      { name: 'health_sessions_stuck', method: 'GET', path: '/v1/health/sessions/stuck' },
      {
        name: 'reset_stuck_dry_run',
        method: 'POST',
        path: '/v1/sessions/reset-stuck',
        body: { olderThanMinutes: 60, dryRun: true },
      },
      {
        name: 'dlq_replay_dry_run',
        method: 'POST',
        path: '/v1/admin/dlq/email/replay',
        body: { dryRun: true },
      },
    ];
    for (const route of routes) {
      const result = await autocannon({
        url: `${server.url}${route.path}`,
        method: route.method,
        connections: 4,
        duration: 5,
        ...(route.body
          ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(route.body) }
          : {}),
      });
      log(
        `${route.name} at ${n}: ${result.requests.total} requests, ${result.non2xx} non-2xx, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
      );
      figures.push({ name: `${route.name}_p99_ms_${n}`, value: result.latency.p99, unit: 'ms' });
      if (result.non2xx > 0 || result.errors > 0) {
        figures.push({
          name: `${route.name}_failed_requests_${n}`,
          value: result.non2xx + result.errors,
          unit: 'requests',
        });
      }
    }
    // The empty-DLQ figure above is one empty long poll: SQS's only way to say "nothing left" waits
    // `WaitTimeSeconds` (1 s), so it sits at ~1 s whatever the code does. The measure of the replay's own
    // work is beside it: a DLQ holding 300 dead letters, a dry run of the default limit (100), which stops
    // at the limit without the empty poll. One connection: concurrent dry runs would hide messages from
    // each other while they hold them.
    const dead = 300;
    for (let i = 0; i < dead; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: ctx.queues.email.dlqUrl,
          Entries: Array.from({ length: 10 }, (_, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify({
              sessionId: `q-${i + j}`,
              attemptId: `att_${i + j}`,
              channel: 'email',
            }),
          })),
        }),
      );
    }
    const full = await autocannon({
      url: `${server.url}/v1/admin/dlq/email/replay`,
      method: 'POST',
      connections: 1,
      duration: 5,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: true, limit: 100 }),
    });
    log(
      `dlq_replay_dry_run over ${dead} dead letters at ${n}: ${full.requests.total} requests, ${full.non2xx} non-2xx, p50 ${full.latency.p50} ms, p99 ${full.latency.p99} ms`,
    );
    figures.push({
      name: `dlq_replay_dry_run_${dead}_dead_p99_ms_${n}`,
      value: full.latency.p99,
      unit: 'ms',
    });
  } finally {
    await server.stop();
  }
  return figures;
}

export async function bench(log: (line: string) => void): Promise<Figure[]> {
  const emulators = await startEmulators({ log });
  try {
    const sqs = createSqsClient(emulators.endpoints);
    const figures: Figure[] = [];
    // BENCH_BACKLOG_PARTS=drain or =routes runs one half (default: both).
    const parts = (process.env.BENCH_BACKLOG_PARTS ?? 'drain,routes').split(',');
    if (parts.includes('drain')) {
      const raw = contextForResources(
        emulators.endpoints,
        sqs,
        await createResources(emulators.endpoints, sqs, 'rawtxn'),
        { shards: SHARDS },
      );
      const txn = await rawTxnPerSecond(raw, scaled(4_000));
      log(`raw: ${txn.toFixed(0)} transactions/s`);
      figures.push({ name: 'dynamodb_local_txn_per_s', value: txn, unit: 'txn/s' });

      const n = scaled(20_000);
      const one = await drain(log, emulators.endpoints, sqs, n, 1);
      const four = await drain(log, emulators.endpoints, sqs, n, 4);
      figures.push({ name: 'backlog_drain_s_1_worker', value: one.seconds, unit: 's' });
      figures.push({ name: 'backlog_drain_s_4_workers', value: four.seconds, unit: 's' });
      figures.push({
        name: 'claims_per_s_4_shard_workers',
        value: four.claimed / four.seconds,
        unit: 'claims/s',
      });
      figures.push({
        name: 'claim_conflict_ratio_4_shard_workers',
        value: four.conflicts / Math.max(1, four.claimed),
        unit: 'conflicts/claim',
      });
      figures.push({ name: 'backlog_sessions', value: n, unit: 'sessions' });
    }
    if (parts.includes('routes')) {
      for (const size of [scaled(20_000), scaled(2_000)]) {
        figures.push(...(await routeLatencies(log, emulators.endpoints, sqs, size)));
      }
    }
    return figures;
  } finally {
    await emulators.stop();
  }
}
