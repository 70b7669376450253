// Scheduled jobs in the control table: the job lease (one sweep at a time), the job state an operator
// and the heartbeat alarm read, and one run record per execution.
//   lease:  pk `lease`, sk <job>      state: pk `job`, sk <job>      run: pk `run#<job>`, sk <startedAt>#<runId>
import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { JOBS, type JobName } from '../infra/resources.ts';
import { type Infer, integer, parse } from '../schema.ts';
import { isConditionalCheckFailed } from './dynamo-errors.ts';

const RUN_RECORD_TTL_DAYS = 90;

export const JobStateSchema = v.looseObject({
  name: v.picklist(JOBS),
  paused: v.optional(v.boolean(), false),
  pausedBy: v.optional(v.string()),
  pausedAt: v.optional(v.string()),
  pauseReason: v.optional(v.string()),
  lastHeartbeatAt: v.optional(v.string()),
  /** When a run on demand (API, CLI, a fan-out worker) last ended: it beats no heartbeat. */
  lastManualRunAt: v.optional(v.string()),
  lastSuccessAt: v.optional(v.string()),
  lastRunId: v.optional(v.string()),
  consecutiveFailures: v.optional(integer(0), 0),
  lastError: v.optional(v.string()),
});
export type JobState = Infer<typeof JobStateSchema>;

export const RUN_STATUSES = ['succeeded', 'failed', 'skipped'] as const;

export interface RunCounts {
  selected: number;
  claimed: number;
  dispatched: number;
  redispatched: number;
  skipped: number;
  conflicts: number;
  /** Due sessions whose next attempt waits for the previous one's outcomes (moved to the bound). */
  deferred: number;
  exhausted: number;
  invalid: number;
  errors: number;
  timedOut: number;
  /**
   * The monitor: processing sessions found past their deadline and still processing when it came to them
   * (timed out, or left on an error); one that changed meanwhile (a conflict) is not counted.
   */
  stuck: number;
  longRunning: number;
  alerts: number;
}

export function emptyCounts(): RunCounts {
  return {
    selected: 0,
    claimed: 0,
    dispatched: 0,
    redispatched: 0,
    skipped: 0,
    conflicts: 0,
    deferred: 0,
    exhausted: 0,
    invalid: 0,
    errors: 0,
    timedOut: 0,
    stuck: 0,
    longRunning: 0,
    alerts: 0,
  };
}

export interface RunRecord {
  runId: string;
  job: JobName;
  trigger: string;
  dryRun: boolean;
  limit: number;
  status: (typeof RUN_STATUSES)[number];
  reason?: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  counts: RunCounts;
  channels: string[];
  /** Sessions a dry run would act on (ids only, at most 100), so an operator can check before a real run. */
  wouldProcess?: string[];
  problems: Array<{ sessionId?: string; reason: string }>;
  error?: string;
  /** The sweep: age of the oldest item still in the outbox when the run ended (0 when it is empty). */
  outboxOldestAgeSeconds?: number;
  /** The run stopped at its limit and left work for the next run (the timeout monitor). */
  moreRemain?: boolean;
  /** A sweep worker: the shards it was given and the run that started it. */
  shardGroup?: string[];
  parentRunId?: string;
  /** The due shards this run found leased by another run and left to it. */
  shardsBusy?: string[];
  /** A sweep whose backlog exceeded its limit: the workers it started, one per shard group. */
  fanOut?: { workers: number; groups: string[][] };
}

export function newRunId(at: Date): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** Takes the job lease; false when another execution holds it and it has not expired. */
export async function acquireJobLease(
  ctx: AppContext,
  job: JobName,
  owner: string,
  now: Date,
  leaseSeconds: number,
): Promise<boolean> {
  return acquireLease(ctx, job, owner, now, leaseSeconds);
}

/** The lease of one `due` shard for the sweep: a shard is never walked by two sweep runs at once. */
export function shardLeaseName(shard: string): string {
  return `recovery-sweep#shard#${shard}`;
}

export async function acquireShardLease(
  ctx: AppContext,
  shard: string,
  owner: string,
  now: Date,
  leaseSeconds: number,
): Promise<boolean> {
  return acquireLease(ctx, shardLeaseName(shard), owner, now, leaseSeconds);
}

export async function releaseShardLease(ctx: AppContext, shard: string, owner: string): Promise<void> {
  await releaseLease(ctx, shardLeaseName(shard), owner);
}

async function acquireLease(
  ctx: AppContext,
  name: string,
  owner: string,
  now: Date,
  leaseSeconds: number,
): Promise<boolean> {
  try {
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.control,
        Item: {
          pk: 'lease',
          sk: name,
          owner,
          acquiredAt: now.toISOString(),
          leaseUntil: new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
        },
        // `#owner = :owner`: when the answer to our own put is lost, the SDK's retry finds the lease we
        // just wrote; without this it would lock us (and, until it expires, every run) out.
        ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':now': now.toISOString(), ':owner': owner },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Releases the lease only if this execution still owns it (it may have expired and been taken). */
export async function releaseJobLease(ctx: AppContext, job: JobName, owner: string): Promise<void> {
  await releaseLease(ctx, job, owner);
}

async function releaseLease(ctx: AppContext, name: string, owner: string): Promise<void> {
  try {
    await ctx.ddb.send(
      new DeleteCommand({
        TableName: ctx.tables.control,
        Key: { pk: 'lease', sk: name },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export async function getJobState(ctx: AppContext, job: JobName): Promise<JobState> {
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.control, Key: { pk: 'job', sk: job }, ConsistentRead: true }),
  );
  return parse(JobStateSchema, { name: job, ...(res.Item ?? {}) });
}

/**
 * Records how a run ended on the job state: success or one more failure, and the heartbeat when the run came
 * from the schedule (a manual run sets `lastManualRunAt` instead: readiness and the alarm read the heartbeat).
 */
export async function recordJobOutcome(
  ctx: AppContext,
  job: JobName,
  run: Pick<RunRecord, 'runId' | 'status' | 'finishedAt' | 'error'>,
  options: { heartbeat: boolean } = { heartbeat: true },
): Promise<JobState> {
  const names: Record<string, string> = {
    '#hb': options.heartbeat ? 'lastHeartbeatAt' : 'lastManualRunAt',
    '#run': 'lastRunId',
    '#name': 'name',
  };
  const values: Record<string, unknown> = { ':at': run.finishedAt, ':run': run.runId, ':name': job };
  let expression = 'SET #hb = :at, #run = :run, #name = :name';
  if (run.status === 'failed') {
    expression += ', lastError = :err ADD consecutiveFailures :one';
    values[':err'] = run.error ?? 'unknown error';
    values[':one'] = 1;
  } else if (run.status === 'succeeded') {
    expression += ', lastSuccessAt = :at, consecutiveFailures = :zero';
    values[':zero'] = 0;
  }
  try {
    const res = await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.control,
        Key: { pk: 'job', sk: job },
        UpdateExpression: expression,
        // Once per run: an SDK retry after a lost answer must not count a failure twice.
        ConditionExpression: 'attribute_not_exists(#run) OR #run <> :run',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return parse(JobStateSchema, res.Attributes);
  } catch (error) {
    if (isConditionalCheckFailed(error)) return getJobState(ctx, job);
    throw error;
  }
}

export async function setJobPaused(
  ctx: AppContext,
  job: JobName,
  paused: boolean,
  audit: { triggeredBy: string; at: Date; reason?: string },
): Promise<JobState> {
  const res = await ctx.ddb.send(
    new UpdateCommand({
      TableName: ctx.tables.control,
      Key: { pk: 'job', sk: job },
      UpdateExpression:
        'SET paused = :p, pausedBy = :by, pausedAt = :at, pauseReason = :reason, #name = :name',
      ExpressionAttributeNames: { '#name': 'name' },
      ExpressionAttributeValues: {
        ':p': paused,
        ':by': audit.triggeredBy,
        ':at': audit.at.toISOString(),
        ':reason': audit.reason ?? (paused ? 'paused by operator' : 'resumed by operator'),
        ':name': job,
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return parse(JobStateSchema, res.Attributes);
}

export async function putRunRecord(ctx: AppContext, run: RunRecord): Promise<void> {
  const expiresAt = Math.floor(new Date(run.startedAt).getTime() / 1000) + RUN_RECORD_TTL_DAYS * 86400;
  await ctx.ddb.send(
    new PutCommand({
      TableName: ctx.tables.control,
      Item: { pk: `run#${run.job}`, sk: `${run.startedAt}#${run.runId}`, expiresAt, ...run },
    }),
  );
}

export interface RunPage {
  items: RunRecord[];
  lastKey?: Record<string, unknown>;
}

/** Run records of one job, newest first. */
export async function listRuns(
  ctx: AppContext,
  job: JobName,
  limit: number,
  startKey?: Record<string, unknown>,
): Promise<RunPage> {
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.control,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `run#${job}` },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: startKey,
    }),
  );
  const items = (res.Items ?? []).map((item) => {
    const { pk: _pk, sk: _sk, expiresAt: _exp, ...run } = item;
    return run as RunRecord;
  });
  return { items, lastKey: res.LastEvaluatedKey };
}
