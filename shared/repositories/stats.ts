// Counters for /retry/stats and /health/sessions, kept up to date as things happen so that reading
// them costs the same at a thousand sessions or ten million: no Scan anywhere.
//
// Daily counters per org: pk `stats#<orgId>#<yyyy-mm-dd>`, sk `<key>#<shard>`; the same counts per hour
// (`statsh#<orgId>#<yyyy-mm-ddThh>`, kept 8 days through the TTL) draw the console's hourly charts.
// Status gauges (how many sessions are in each status now): pk `gauge#status`, sk `<status>#<shard>`.
// Each counter is spread over a few shard items so a busy day never makes one item hot. They are
// updated after the business write commits (best effort): a crash in between under-counts by one,
// which stats can tolerate and the run records and timeline never do.
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { DEFAULT_ORG } from '../domain/org.ts';
import type { SessionStatus } from '../domain/session.ts';
import { logger } from '../observability/logger.ts';
import { isConditionalCheckFailed } from './dynamo-errors.ts';

const COUNTER_SHARDS = 4;

function day(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function shard(): number {
  return Math.floor(Math.random() * COUNTER_SHARDS);
}

async function add(
  ctx: AppContext,
  pk: string,
  key: string,
  delta: number,
  expiresAt?: number,
): Promise<void> {
  await ctx.ddb.send(
    new UpdateCommand({
      TableName: ctx.tables.control,
      Key: { pk, sk: `${key}#${shard()}` },
      UpdateExpression: expiresAt
        ? 'ADD #count :delta SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)'
        : 'ADD #count :delta',
      ExpressionAttributeNames: { '#count': 'count', ...(expiresAt ? { '#expiresAt': 'expiresAt' } : {}) },
      ExpressionAttributeValues: { ':delta': delta, ...(expiresAt ? { ':expiresAt': expiresAt } : {}) },
    }),
  );
}

/** Hourly counters (the console's charts) live this long; daily ones are kept. */
const HOURLY_STATS_DAYS = 8;

/** The partition of an hour's counters: `statsh#<orgId>#<yyyy-mm-ddThh>`. */
export function hourlyStatsPk(orgId: string, at: Date): string {
  return `statsh#${orgId}#${at.toISOString().slice(0, 13)}`;
}

/** The partition of a day's counters: `stats#<orgId>#<yyyy-mm-dd>`. */
export function dailyStatsPk(orgId: string, at: Date): string {
  return `stats#${orgId}#${day(at)}`;
}

export interface StatsInput {
  readonly orgId?: string;
  readonly at: Date;
  /** e.g. `{ attempts: 1 }`, `{ recovered: 1 }`, `{ 'channel.email.sent': 1 }`. */
  readonly counts: Record<string, number>;
}

/** Adds to today's counters. Never throws: a lost increment must not fail the business write before it. */
export async function recordStats(ctx: AppContext, input: StatsInput): Promise<void> {
  const org = input.orgId ?? DEFAULT_ORG;
  const pk = dailyStatsPk(org, input.at);
  const hourly = hourlyStatsPk(org, input.at);
  const expiresAt = Math.floor(input.at.getTime() / 1000) + HOURLY_STATS_DAYS * 86_400;
  const results = await Promise.allSettled(
    Object.entries(input.counts)
      .filter(([, delta]) => delta !== 0)
      .flatMap(([key, delta]) => [add(ctx, pk, key, delta), add(ctx, hourly, key, delta, expiresAt)]),
  );
  for (const r of results) {
    if (r.status === 'rejected') logger.warn('stats counter update failed', { error: String(r.reason) });
  }
}

/** Moves one session between status gauges (from undefined on registration). Never throws. */
export async function moveStatusGauge(
  ctx: AppContext,
  from: SessionStatus | undefined,
  to: SessionStatus,
): Promise<void> {
  if (from === to) return;
  const ops = [add(ctx, 'gauge#status', to, 1)];
  if (from) ops.push(add(ctx, 'gauge#status', from, -1));
  const results = await Promise.allSettled(ops);
  for (const r of results) {
    if (r.status === 'rejected') logger.warn('status gauge update failed', { error: String(r.reason) });
  }
}

async function sumPartition(ctx: AppContext, pk: string, into: Record<string, number>): Promise<void> {
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.control,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ExclusiveStartKey: cursor,
      }),
    );
    for (const item of page.Items ?? []) {
      const key = String(item.sk).replace(/#\d+$/, '');
      into[key] = (into[key] ?? 0) + Number(item.count ?? 0);
    }
    cursor = page.LastEvaluatedKey;
  } while (cursor);
}

/** The counters of one partition (a day's or an hour's, see dailyStatsPk/hourlyStatsPk), summed over shards. */
export async function readStatsPartition(ctx: AppContext, pk: string): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  await sumPartition(ctx, pk, totals);
  return totals;
}

/** Sums the daily counters of an org between two dates (inclusive, at most 366 days). */
export async function readStats(
  ctx: AppContext,
  input: { orgId?: string; from: Date; to: Date },
): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  const start = new Date(`${day(input.from)}T00:00:00.000Z`).getTime();
  const end = new Date(`${day(input.to)}T00:00:00.000Z`).getTime();
  const days: string[] = [];
  for (let t = start; t <= end && days.length < 366; t += 86_400_000) days.push(day(new Date(t)));
  for (const d of days) await sumPartition(ctx, `stats#${input.orgId ?? DEFAULT_ORG}#${d}`, totals);
  return totals;
}

export async function readStatusGauges(ctx: AppContext): Promise<Partial<Record<SessionStatus, number>>> {
  const totals: Record<string, number> = {};
  await sumPartition(ctx, 'gauge#status', totals);
  return totals as Partial<Record<SessionStatus, number>>;
}

/**
 * Collects counter changes during a run and writes them once at its end: a sweep of 1,000 claims makes
 * a handful of counter writes instead of 3,000. A crash before the flush under-counts that run's stats.
 */
export class StatsBuffer {
  private readonly counts = new Map<string, { orgId?: string; at: Date; counts: Record<string, number> }>();
  private readonly gauges = new Map<SessionStatus, number>();

  add(input: StatsInput): void {
    // Keyed by hour: the hourly counters are written at the entry's time, so one entry per hour.
    const key = hourlyStatsPk(input.orgId ?? DEFAULT_ORG, input.at);
    const entry = this.counts.get(key) ?? { orgId: input.orgId, at: input.at, counts: {} };
    for (const [k, v] of Object.entries(input.counts)) entry.counts[k] = (entry.counts[k] ?? 0) + v;
    this.counts.set(key, entry);
  }

  move(from: SessionStatus | undefined, to: SessionStatus): void {
    if (from === to) return;
    this.gauges.set(to, (this.gauges.get(to) ?? 0) + 1);
    if (from) this.gauges.set(from, (this.gauges.get(from) ?? 0) - 1);
  }

  async flush(ctx: AppContext): Promise<void> {
    const counts = [...this.counts.values()];
    const gauges = [...this.gauges].filter(([, d]) => d !== 0);
    this.counts.clear();
    this.gauges.clear();
    await Promise.all(counts.map((c) => recordStats(ctx, c)));
    const results = await Promise.allSettled(
      gauges.map(([status, delta]) => add(ctx, 'gauge#status', status, delta)),
    );
    for (const r of results) {
      if (r.status === 'rejected') logger.warn('status gauge update failed', { error: String(r.reason) });
    }
  }
}

/**
 * What the timeout monitor found on its last run, for /health/sessions without walking the `deadline` index:
 * sessions running long, and those still processing past their deadline after the run (left on an error, or
 * beyond the run's limit: then `complete` is false and the count is a lower bound).
 *   pk `gauge#monitor`, sk `latest`
 */
export interface MonitorGauge {
  readonly longRunning: number;
  readonly stuck: number;
  readonly complete: boolean;
  readonly at: string;
  readonly runId: string;
}

const MONITOR_GAUGE_KEY = { pk: 'gauge#monitor', sk: 'latest' };

export async function putMonitorGauge(ctx: AppContext, gauge: MonitorGauge): Promise<void> {
  await ctx.ddb
    .send(
      new PutCommand({
        TableName: ctx.tables.control,
        Item: { ...MONITOR_GAUGE_KEY, ...gauge },
        // A slow run never overwrites what a later one found.
        ConditionExpression: 'attribute_not_exists(pk) OR #at <= :at',
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: { ':at': gauge.at },
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionalCheckFailed(error)) throw error;
    });
}

/** The monitor's last gauge: an item only the monitor writes, always whole (one put). */
export async function readMonitorGauge(ctx: AppContext): Promise<MonitorGauge | undefined> {
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.control, Key: MONITOR_GAUGE_KEY, ConsistentRead: true }),
  );
  return res.Item as MonitorGauge | undefined;
}
