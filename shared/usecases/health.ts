// Health for operators and probes. Readiness checks what a request needs (each table answers, the channel
// DLQs are readable and empty, each job's heartbeat is younger than its TTL, the monitor's last count is recent).
// Session health reads the counters: the status gauges and what the timeout monitor last found (`unknown` when
// that is missing or older than two monitor intervals); the stuck list reads the oldest entries
// of the sparse `deadline` index (bounded), never a scan.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { type Session, SessionSchema } from '../domain/session.ts';
import { CHANNELS, JOBS } from '../infra/resources.ts';
import { OPS_ALERT_OUTBOX, oldestInOutbox } from '../repositories/attempts.ts';
import { readChannelHealth } from '../repositories/channel-health.ts';
import { getJobState } from '../repositories/jobs.ts';
import { shardNumbers, shardsToRead } from '../repositories/shards.ts';
import { readMonitorGauge, readStatusGauges } from '../repositories/stats.ts';
import { safeParse } from '../schema.ts';
import { settingsOf, timeoutRuleFor } from '../settings.ts';
import { jobStatusOf } from './job-status.ts';

export type ComponentStatus = 'ok' | 'degraded' | 'error';

export interface ComponentReport {
  status: ComponentStatus;
  [detail: string]: unknown;
}

export interface Readiness {
  status: ComponentStatus;
  components: {
    database: ComponentReport;
    queues: ComponentReport;
    jobs: ComponentReport;
    dispatch: ComponentReport;
    channels: ComponentReport;
    sessions: ComponentReport;
  };
}

/** A component that does not answer within this is in error: a probe must answer, even about a hang. */
const CHECK_TIMEOUT_MS = 5000;

function worst(statuses: readonly ComponentStatus[]): ComponentStatus {
  if (statuses.includes('error')) return 'error';
  if (statuses.includes('degraded')) return 'degraded';
  return 'ok';
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkDatabase(ctx: AppContext): Promise<ComponentReport> {
  const started = Date.now();
  // A GetItem of a key that never exists: proves the table answers and this function may read it,
  // at the price of one read unit (DescribeTable is a control-plane call with a low rate limit).
  const probes = {
    sessions: { TableName: ctx.tables.sessions, Key: { sessionId: '__readyz__' } },
    timeline: { TableName: ctx.tables.timeline, Key: { sessionId: '__readyz__', sk: '__readyz__' } },
    control: { TableName: ctx.tables.control, Key: { pk: '__readyz__', sk: '__readyz__' } },
  };
  const results = await Promise.all(
    Object.entries(probes).map(async ([table, input]) => {
      try {
        await withTimeout(ctx.ddb.send(new GetCommand(input)), `table ${table}`);
        return [table, 'ok'] as const;
      } catch (error) {
        return [table, `error: ${message(error)}`] as const;
      }
    }),
  );
  const tables = Object.fromEntries(results);
  return {
    status: results.every(([, r]) => r === 'ok') ? 'ok' : 'error',
    tables,
    latencyMs: Date.now() - started,
  };
}

export interface DlqDepth {
  channel: (typeof CHANNELS)[number];
  queue: string | null;
  dlq: string | null;
  depth: number | null;
  inFlight: number | null;
  error?: string;
}

/** A channel's DLQ with whether its sender can send: a misconfigured channel's messages wait there. */
export interface DlqReport extends DlqDepth {
  health: { status: 'ok' | 'misconfigured' | 'unknown'; reason: string | null; since: string | null };
}

export async function listDlqsWithHealth(ctx: AppContext): Promise<DlqReport[]> {
  const [depths, health] = await Promise.all([
    listDlqDepths(ctx),
    readChannelHealth(ctx).catch(() => ({}) as Awaited<ReturnType<typeof readChannelHealth>>),
  ]);
  return depths.map((d) => {
    const h = health[d.channel];
    return {
      ...d,
      health: {
        status: h?.status ?? 'unknown',
        reason: h?.status === 'misconfigured' ? (h.reason ?? null) : null,
        since: h?.status === 'misconfigured' ? (h.misconfiguredSince ?? null) : null,
      },
    };
  });
}

function queueName(url: string): string | null {
  return url ? (url.split('/').pop() ?? url) : null;
}

/** Depth of every channel's DLQ (ApproximateNumberOfMessages: waiting, not in flight). */
export async function listDlqDepths(ctx: AppContext): Promise<DlqDepth[]> {
  return Promise.all(
    CHANNELS.map(async (channel): Promise<DlqDepth> => {
      const urls = ctx.queues[channel];
      const base = { channel, queue: queueName(urls?.url ?? ''), dlq: queueName(urls?.dlqUrl ?? '') };
      if (!urls?.dlqUrl) return { ...base, depth: null, inFlight: null, error: 'no DLQ configured' };
      try {
        const res = await withTimeout(
          ctx.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: urls.dlqUrl,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          ),
          `DLQ of ${channel}`,
        );
        return {
          ...base,
          depth: Number(res.Attributes?.ApproximateNumberOfMessages ?? 0),
          inFlight: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
        };
      } catch (error) {
        return { ...base, depth: null, inFlight: null, error: message(error) };
      }
    }),
  );
}

async function checkQueues(ctx: AppContext): Promise<ComponentReport> {
  const depths = await listDlqDepths(ctx);
  const status = worst(depths.map((d) => (d.error ? 'error' : (d.depth ?? 0) > 0 ? 'degraded' : 'ok')));
  return {
    status,
    dlqDepths: Object.fromEntries(depths.map((d) => [d.channel, d.error ? `error: ${d.error}` : d.depth])),
  };
}

async function checkJobs(ctx: AppContext): Promise<ComponentReport> {
  const now = ctx.clock();
  const schedules = settingsOf(ctx).schedules;
  const reports = await Promise.all(
    JOBS.map(async (job) => {
      try {
        const state = await withTimeout(getJobState(ctx, job), `job ${job}`);
        const s = jobStatusOf(state, now, schedules[job]);
        // Never ran: a fresh deployment before its first schedule, worth a look but not an outage. A
        // disabled schedule is a choice: no heartbeat is expected, so its age says nothing.
        const heartbeat: ComponentStatus = !s.scheduleEnabled
          ? 'ok'
          : s.heartbeatAgeSeconds === null
            ? 'degraded'
            : s.heartbeatAgeSeconds > s.heartbeatTtlSeconds
              ? 'error'
              : 'ok';
        // Failing runs are not ok (their run records say why); the outage they point at, if it lasts,
        // shows as an error in its own component (dispatch, channels, database).
        const status: ComponentStatus =
          heartbeat !== 'ok' ? heartbeat : s.paused || s.consecutiveFailures > 0 ? 'degraded' : 'ok';
        return [
          job,
          {
            status,
            paused: s.paused,
            lastHeartbeatAt: s.lastHeartbeatAt,
            heartbeatAgeSeconds: s.heartbeatAgeSeconds,
            heartbeatTtlSeconds: s.heartbeatTtlSeconds,
            schedule: s.scheduleEnabled ? `every ${s.scheduleRateSeconds} s` : 'disabled',
            consecutiveFailures: s.consecutiveFailures,
            lastError: s.lastError,
          },
        ] as const;
      } catch (error) {
        return [job, { status: 'error' as ComponentStatus, error: message(error) }] as const;
      }
    }),
  );
  return { status: worst(reports.map(([, r]) => r.status)), ...Object.fromEntries(reports) };
}

/**
 * The outbox: an attempt (or ops alert) is normally published within a second of its claim, and a failed
 * publish is retried by the next sweep once the dispatch lease has passed. One that has waited longer than
 * the lease plus a sweep cannot reach its queue (a deleted queue, a lost `sqs:SendMessage` grant).
 */
async function checkDispatch(ctx: AppContext): Promise<ComponentReport> {
  const settings = settingsOf(ctx);
  const limitSeconds = settings.dispatchLeaseSeconds + settings.schedules['recovery-sweep'].rateSeconds;
  try {
    const oldest = await withTimeout(
      shardsToRead(ctx).then((n) => oldestInOutbox(ctx, [...shardNumbers(n), OPS_ALERT_OUTBOX])),
      'outbox index',
    );
    const ageSeconds = oldest
      ? Math.max(0, Math.floor((ctx.clock().getTime() - Date.parse(oldest.at)) / 1000))
      : 0;
    return {
      status: ageSeconds > limitSeconds ? 'error' : 'ok',
      oldestAgeSeconds: ageSeconds,
      limitSeconds,
      ...(oldest
        ? {
            oldest: {
              sessionId: oldest.sessionId,
              type: oldest.type,
              queuedAt: oldest.at,
              ...(oldest.lastDispatchError ? { lastError: oldest.lastDispatchError } : {}),
            },
          }
        : {}),
    };
  } catch (error) {
    return { status: 'error', error: message(error) };
  }
}

/** Channels a sender found misconfigured (missing or unreadable secret, refused credential, no identity). */
async function checkChannels(ctx: AppContext): Promise<ComponentReport> {
  try {
    const health = await withTimeout(readChannelHealth(ctx), 'channel health');
    const report: Record<string, unknown> = {};
    for (const channel of CHANNELS) {
      const h = health[channel];
      report[channel] = !h
        ? { status: 'unknown' }
        : h.status === 'ok'
          ? { status: 'ok', lastSeenAt: h.lastSeenAt ?? null }
          : {
              status: 'misconfigured',
              reason: h.reason ?? null,
              since: h.misconfiguredSince ?? null,
              lastSeenAt: h.lastSeenAt ?? null,
            };
    }
    const bad = CHANNELS.filter((c) => health[c]?.status === 'misconfigured');
    return { status: bad.length ? 'error' : 'ok', ...(bad.length ? { misconfigured: bad } : {}), ...report };
  } catch (error) {
    return { status: 'error', error: message(error) };
  }
}

/**
 * Whether session health has a recent count to show: the monitor's last gauge, younger than two of its
 * intervals. Never measured or older is `degraded` (a paused or broken monitor would otherwise leave the
 * last count, or none, looking healthy); a disabled monitor schedule is a choice, as for the jobs.
 */
async function checkSessionCounts(ctx: AppContext): Promise<ComponentReport> {
  try {
    const gauge = await withTimeout(readMonitorGauge(ctx), 'monitor gauge');
    const m = measurement(ctx, gauge);
    const enabled = settingsOf(ctx).schedules['timeout-monitor'].enabled;
    return {
      status: m.fresh || !enabled ? 'ok' : 'degraded',
      measuredAt: m.at,
      ageSeconds: m.ageSeconds,
      maxAgeSeconds: m.maxAgeSeconds,
      ...(enabled ? {} : { schedule: 'disabled' }),
    };
  } catch (error) {
    return { status: 'error', error: message(error) };
  }
}

export async function checkReadiness(ctx: AppContext): Promise<Readiness> {
  const [database, queues, jobs, dispatch, channels, sessions] = await Promise.all([
    checkDatabase(ctx),
    checkQueues(ctx),
    checkJobs(ctx),
    checkDispatch(ctx),
    checkChannels(ctx),
    checkSessionCounts(ctx),
  ]);
  return {
    status: worst([
      database.status,
      queues.status,
      jobs.status,
      dispatch.status,
      channels.status,
      sessions.status,
    ]),
    components: { database, queues, jobs, dispatch, channels, sessions },
  };
}

// ---------------------------------------------------------------------------------------------------------

/** Stuck sessions listed at most: the oldest deadlines first. */
const STUCK_LISTED = 100;

/**
 * The processing sessions past their deadline with the oldest deadlines, at most `cap`: each shard of the
 * `deadline` index is read oldest first up to `cap` items, so the read is bounded whatever the backlog.
 */
async function oldestPastDeadline(ctx: AppContext, upTo: string, cap: number): Promise<Session[]> {
  const perShard = await Promise.all(
    shardNumbers(await shardsToRead(ctx)).map(async (shard) => {
      const res = await ctx.ddb.send(
        new QueryCommand({
          TableName: ctx.tables.sessions,
          IndexName: 'deadline',
          KeyConditionExpression: 'deadlineShard = :shard AND deadlineAt <= :upTo',
          ExpressionAttributeValues: { ':shard': shard, ':upTo': upTo },
          Limit: cap,
        }),
      );
      const out: Session[] = [];
      for (const item of res.Items ?? []) {
        const parsed = safeParse(SessionSchema, item);
        if (parsed.success && parsed.data.status === 'processing') out.push(parsed.data);
      }
      return out;
    }),
  );
  return perShard
    .flat()
    .sort((a, b) => (a.deadlineAt ?? '').localeCompare(b.deadlineAt ?? ''))
    .slice(0, cap);
}

export interface SessionsHealth {
  /** `unknown`: the monitor has not counted yet, or its last count is older than two of its intervals. */
  status: 'healthy' | 'warning' | 'critical' | 'unknown';
  timestamp: string;
  metrics: {
    totalSessions: number;
    processingSessions: number;
    /** The monitor's last count; null before it has counted. */
    longRunningSessions: number | null;
    stuckSessions: number | null;
  };
  /**
   * When the timeout monitor last counted running-long and stuck sessions (null: never), whether that run
   * saw every candidate (false: it stopped at its limit and the counts are lower bounds), how old the count
   * is and the age past which it says nothing (two monitor intervals).
   */
  measured: { at: string | null; complete: boolean; ageSeconds: number | null; maxAgeSeconds: number };
  thresholds: { warningMinutes: number; timeoutMinutes: number; maxLongRunning: number };
}

/** How recent the monitor's last count is, against two of its intervals. */
function measurement(ctx: AppContext, gauge: { at: string } | undefined) {
  const maxAgeSeconds = 2 * settingsOf(ctx).schedules['timeout-monitor'].rateSeconds;
  const at = gauge?.at ?? null;
  const taken = at === null ? Number.NaN : Date.parse(at);
  const ageSeconds = Number.isNaN(taken)
    ? null
    : Math.max(0, Math.floor((ctx.clock().getTime() - taken) / 1000));
  return { at, ageSeconds, maxAgeSeconds, fresh: ageSeconds !== null && ageSeconds <= maxAgeSeconds };
}

/**
 * Session health from counters only: the status gauges and what the timeout monitor's last run found. Two
 * reads of the control table whatever the number of sessions, so it always answers well within the API's limit.
 */
export async function getSessionsHealth(ctx: AppContext): Promise<SessionsHealth> {
  const now = ctx.clock();
  const settings = settingsOf(ctx);
  const rule = timeoutRuleFor(settings, 'default');
  const [gauges, monitor] = await Promise.all([readStatusGauges(ctx), readMonitorGauge(ctx)]);
  // Gauges are best-effort counters: a lost decrement must not show a negative count.
  const total = Object.values(gauges).reduce((sum, n) => sum + Math.max(0, n ?? 0), 0);
  const longRunning = monitor?.longRunning ?? 0;
  const stuck = monitor?.stuck ?? 0;
  const m = measurement(ctx, monitor);
  const status = !m.fresh
    ? 'unknown'
    : stuck > 0 || longRunning > settings.maxLongRunning
      ? 'critical'
      : longRunning > 0
        ? 'warning'
        : 'healthy';
  return {
    status,
    timestamp: now.toISOString(),
    metrics: {
      totalSessions: total,
      processingSessions: Math.max(0, gauges.processing ?? 0),
      longRunningSessions: monitor ? longRunning : null,
      stuckSessions: monitor ? stuck : null,
    },
    measured: {
      at: m.at,
      complete: monitor?.complete ?? true,
      ageSeconds: m.ageSeconds,
      maxAgeSeconds: m.maxAgeSeconds,
    },
    thresholds: {
      warningMinutes: rule.warnMinutes,
      timeoutMinutes: rule.baseMinutes,
      maxLongRunning: settings.maxLongRunning,
    },
  };
}

export interface StuckSession {
  id: string;
  createdAt: string;
  processingMinutes: number;
  sizeBytes: number | null;
  deadlineAt: string | null;
}

/**
 * Sessions still processing past their deadline (the monitor has not timed them out yet), the oldest deadlines
 * first, at most 100; `count` is the monitor's last count (never less than what is listed), as of `countAt`.
 */
export async function listStuckSessions(
  ctx: AppContext,
): Promise<{ stuckSessions: StuckSession[]; count: number; countAt: string | null }> {
  const now = ctx.clock();
  const [items, monitor] = await Promise.all([
    oldestPastDeadline(ctx, now.toISOString(), STUCK_LISTED),
    readMonitorGauge(ctx),
  ]);
  const stuckSessions = items.map((s) => ({
    id: s.sessionId,
    createdAt: s.createdAt,
    processingMinutes: s.processingStartedAt
      ? Math.max(0, Math.floor((now.getTime() - new Date(s.processingStartedAt).getTime()) / 60_000))
      : 0,
    sizeBytes: s.sizeBytes ?? null,
    deadlineAt: s.deadlineAt ?? null,
  }));
  return {
    stuckSessions,
    count: Math.max(monitor?.stuck ?? 0, stuckSessions.length),
    countAt: monitor?.at ?? null,
  };
}
