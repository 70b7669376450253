// The timeout monitor: query the sparse `deadline` index for processing sessions near or past their
// deadline, time out those past it (keeping every attribute), count those running long, and send one
// aggregated ops alert per run — never one per session. The alert goes through the outbox: the sessions it
// is about have already left the deadline index, so an alert that could not be published is published by
// the next run instead of being lost with them (and the run that could not publish it ends `failed`).
import type { AppContext } from '../context.ts';
import { ConflictError } from '../domain/errors.ts';
import { type Session, SessionSchema } from '../domain/session.ts';
import { CHANNELS } from '../infra/resources.ts';
import type { OpsAlertMessage } from '../messages.ts';
import { logger } from '../observability/logger.ts';
import {
  findStaleOpsAlerts,
  markDispatched,
  noteDispatchFailure,
  type OpsAlertItem,
  opsAlertOutboxFields,
  publishMessages,
  putOpsAlertItem,
  takeOverOutboxItem,
  unpublishedMessages,
} from '../repositories/attempts.ts';
import type { RunRecord } from '../repositories/jobs.ts';
import { queryShard, shardOrder } from '../repositories/sessions.ts';
import { shardsToRead } from '../repositories/shards.ts';
import { putMonitorGauge } from '../repositories/stats.ts';
import { describeIssues, safeParse } from '../schema.ts';
import { type Settings, settingsOf } from '../settings.ts';
import { type JobRunOptions, type RunContext, runJob } from './job-run.ts';
import { timeOutSession } from './sessions.ts';

const JOB = 'timeout-monitor';

export type MonitorEvent =
  | { type: 'timed_out'; sessionId: string; minutesProcessing: number; deadlineAt: string }
  | { type: 'long_running'; sessionId: string; minutesProcessing: number }
  | { type: 'alert'; summary: string; messages: number };

export interface MonitorOptions extends JobRunOptions {
  readonly onEvent?: (event: MonitorEvent) => void;
}

/** How far past `now` a deadline can be while its session already runs long (warnAt ≤ now). */
function warnWindowMs(settings: Settings): number {
  const widest = Math.max(
    ...Object.values(settings.timeoutRules).map((r) => r.maxMinutes - r.warnMinutes),
    0,
  );
  return widest * 60_000;
}

function minutesSince(iso: string | undefined, now: Date): number {
  return iso ? Math.floor((now.getTime() - new Date(iso).getTime()) / 60_000) : 0;
}

/** "40 s" under two minutes, "17 min" above: what a person reads in an error and a live log. */
function durationSince(iso: string | undefined, now: Date): string {
  const seconds = iso ? Math.floor((now.getTime() - new Date(iso).getTime()) / 1000) : 0;
  return seconds < 120 ? `${seconds} s` : `${Math.floor(seconds / 60)} min`;
}

function opsAlertMessages(
  settings: Settings,
  alert: Pick<OpsAlertMessage, 'alertId' | 'source' | 'severity' | 'summary' | 'data' | 'createdAt'>,
): OpsAlertMessage[] {
  const out: OpsAlertMessage[] = [];
  for (const channel of CHANNELS) {
    for (const recipient of settings.opsRecipients[channel] ?? []) {
      out.push({ v: 1, type: 'ops_alert', templateId: 'ops_alert', channel, recipient, ...alert });
    }
  }
  return out;
}

export async function runTimeoutMonitor(ctx: AppContext, options: MonitorOptions): Promise<RunRecord> {
  const settings = settingsOf(ctx);
  const emit = options.onEvent ?? (() => {});
  return runJob(ctx, JOB, { ...options, defaultLimit: 1000 }, async (run) => {
    const now = run.started;
    const failedAlerts = run.dryRun ? 0 : await redispatchAlerts(ctx, run, settings);
    const horizon = new Date(now.getTime() + warnWindowMs(settings)).toISOString();
    // One more than the limit is read, only to know whether more remain: the run handles `run.limit`.
    const candidates: Session[] = [];
    for (const shard of shardOrder(await shardsToRead(ctx))) {
      if (candidates.length > run.limit) break;
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await queryShard(ctx, {
          table: ctx.tables.sessions,
          index: 'deadline',
          shardAttr: 'deadlineShard',
          sortAttr: 'deadlineAt',
          shard,
          upTo: horizon,
          limit: Math.min(500, run.limit + 1 - candidates.length),
          startKey,
        });
        for (const item of page.items) {
          const parsed = safeParse(SessionSchema, item);
          if (parsed.success) candidates.push(parsed.data);
          else {
            run.counts.invalid++;
            const reason = `session item fails the schema: ${describeIssues(parsed.issues, '(item)')}`;
            run.problems.push({ sessionId: String(item.sessionId ?? ''), reason });
            logger.warn('skipping invalid session item', { sessionId: item.sessionId, reason });
          }
        }
        startKey = page.lastKey;
      } while (startKey && candidates.length <= run.limit);
    }
    if (candidates.length > run.limit) {
      // The rest wait for the next run (every 5 minutes); the run record says so.
      candidates.length = run.limit;
      run.readings.moreRemain = true;
    }
    run.counts.selected = candidates.length;
    const timedOut: string[] = [];
    for (const s of candidates) {
      if (s.status !== 'processing') {
        run.counts.skipped++;
        continue;
      }
      const minutes = minutesSince(s.processingStartedAt, now);
      // Running long: past the warning, still before the deadline (past it, the session times out below).
      const pastDeadline = s.deadlineAt !== undefined && s.deadlineAt <= now.toISOString();
      if (!pastDeadline && s.warnAt && s.warnAt <= now.toISOString()) {
        run.counts.longRunning++;
        emit({ type: 'long_running', sessionId: s.sessionId, minutesProcessing: minutes });
      }
      if (!s.deadlineAt || s.deadlineAt > now.toISOString()) continue;
      if (run.dryRun) {
        run.counts.stuck++;
        run.wouldProcess.push(s.sessionId);
        continue;
      }
      try {
        await timeOutSession(ctx, s, {
          error: `processing exceeded its deadline (${s.deadlineAt}) after ${durationSince(s.processingStartedAt, now)}`,
          eventType: 'timed_out',
          audit: { triggeredBy: `${JOB}/${options.trigger}` },
        });
        run.counts.timedOut++;
        run.counts.stuck++;
        timedOut.push(s.sessionId);
        emit({
          type: 'timed_out',
          sessionId: s.sessionId,
          minutesProcessing: minutes,
          deadlineAt: s.deadlineAt,
        });
      } catch (error) {
        // A conflict: the session changed since it was read (completed, or timed out by another run).
        if (error instanceof ConflictError) run.counts.conflicts++;
        else {
          run.counts.stuck++;
          run.counts.errors++;
          run.problems.push({ sessionId: s.sessionId, reason: String(error) });
        }
      }
    }
    if (!run.dryRun) {
      // What /health/sessions reads instead of walking the index. A lost write leaves the previous one,
      // whose age the health answer shows.
      await putMonitorGauge(ctx, {
        longRunning: run.counts.longRunning,
        stuck: run.counts.stuck - run.counts.timedOut,
        complete: candidates.length < run.limit,
        at: now.toISOString(),
        runId: run.runId,
      }).catch((error: unknown) => {
        run.problems.push({ reason: `health gauge not written: ${String(error)}` });
      });
    }
    const tooManyLong = run.counts.longRunning > settings.maxLongRunning;
    if (!run.dryRun && (timedOut.length > 0 || tooManyLong)) {
      const summary = [
        timedOut.length ? `${timedOut.length} session(s) timed out` : undefined,
        `${run.counts.longRunning} running long (threshold ${settings.maxLongRunning})`,
      ]
        .filter(Boolean)
        .join('; ');
      const messages = opsAlertMessages(settings, {
        alertId: run.runId,
        source: JOB,
        severity: tooManyLong || timedOut.length > settings.maxLongRunning ? 'critical' : 'warning',
        summary,
        data: {
          runId: run.runId,
          timedOut: timedOut.slice(0, 25),
          timedOutCount: timedOut.length,
          longRunning: run.counts.longRunning,
        },
        createdAt: now.toISOString(),
      });
      run.counts.alerts = messages.length;
      if (messages.length) {
        const leaseUntil = new Date(now.getTime() + settings.dispatchLeaseSeconds * 1000).toISOString();
        const item: OpsAlertItem = {
          sessionId: `ops#${run.runId}`,
          sk: 'alert',
          type: 'ops_alert',
          alertId: run.runId,
          at: now.toISOString(),
          state: 'queued',
          messages,
          ...opsAlertOutboxFields(leaseUntil, run.runId),
        };
        await putOpsAlertItem(ctx, item);
        try {
          await publishMessages(ctx, messages);
          await markDispatched(ctx, item);
          for (const m of messages) run.channels.add(m.channel);
          emit({ type: 'alert', summary, messages: messages.length });
        } catch (error) {
          await noteDispatchFailure(ctx, item, error);
          return {
            failed: `ops alert "${summary}" could not be published; it waits in the outbox: ${String(error)}`,
          };
        }
      } else emit({ type: 'alert', summary, messages: 0 });
    }
    return failedAlerts > 0
      ? { failed: `${failedAlerts} earlier ops alert(s) still could not be published` }
      : undefined;
  });
}

/** Publishes ops alerts an earlier run wrote but could not publish. Returns how many still failed. */
async function redispatchAlerts(ctx: AppContext, run: RunContext, settings: Settings): Promise<number> {
  let failed = 0;
  for (const item of await findStaleOpsAlerts(ctx, ctx.clock(), 100)) {
    const mine = await takeOverOutboxItem(ctx, item, run.runId, settings.dispatchLeaseSeconds);
    if (!mine) continue;
    try {
      const messages = unpublishedMessages(mine);
      await publishMessages(ctx, messages);
      if (await markDispatched(ctx, mine)) run.counts.redispatched++;
      for (const m of messages) run.channels.add(m.channel);
    } catch (error) {
      failed++;
      run.counts.errors++;
      run.problems.push({
        reason: `ops alert ${item.alertId} still waits in the outbox: ${String(error)}`,
      });
      await noteDispatchFailure(ctx, mine, error);
    }
  }
  return failed;
}
