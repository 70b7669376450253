// The state gauges the alarms watch (#20), emitted by every scheduled timeout-monitor run whether or not
// receipts arrive: the receipts function emits them only after a bounce or complaint, and those stop once
// email is paused, so an alarm fed by receipts alone went back to OK with email still paused. Read-only:
// the guard's decision to pause stays with the receipts (evaluateReputation). The same run emits each channel
// DLQ's depth: SQS stops publishing metrics for a queue idle more than 6 h, so a full but idle DLQ went OK.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AppContext } from '../context.ts';
import { DIMENSIONS, QUEUE_METRICS, RECEIPT_METRICS } from '../infra/metrics.ts';
import { logger } from '../observability/logger.ts';
import { metrics } from '../observability/metrics.ts';
import { readReputation } from '../receipts/reputation.ts';
import type { RunRecord } from '../repositories/jobs.ts';
import { GUARDED_CHANNELS, readPause } from '../reputation/guard.ts';
import { listDlqDepths } from './health.ts';
import { isScheduledTrigger } from './job-run.ts';
import { type MonitorOptions, runTimeoutMonitor } from './timeout-monitor.ts';

/** BounceRate, ComplaintRate (24 h) and SendingPaused of each guarded channel, as they are now. */
export async function emitStateGauges(ctx: AppContext): Promise<void> {
  for (const channel of GUARDED_CHANNELS) {
    const [window, pause] = await Promise.all([
      readReputation(ctx, channel, ctx.clock()),
      readPause(ctx, channel),
    ]);
    // Synchronous from first add to publish, as everywhere (shared/receipts/observe.ts).
    metrics.addDimension(DIMENSIONS.channel, channel);
    metrics.addMetric(RECEIPT_METRICS.bounceRate, MetricUnit.Percent, window.bounceRate ?? 0);
    metrics.addMetric(RECEIPT_METRICS.complaintRate, MetricUnit.Percent, window.complaintRate ?? 0);
    metrics.addMetric(RECEIPT_METRICS.sendingPaused, MetricUnit.Count, pause.paused ? 1 : 0);
    metrics.publishStoredMetrics();
  }
}

/**
 * DeadLetterDepth of each channel whose DLQ answered. A DLQ that did not answer (or is not configured) emits
 * nothing this period, which its alarm treats as missing (keeps its state), and is logged.
 */
export async function emitDeadLetterGauges(ctx: AppContext): Promise<void> {
  for (const d of await listDlqDepths(ctx)) {
    if (d.error !== undefined || d.depth === null) {
      logger.error('DLQ depth gauge not emitted', { channel: d.channel, error: d.error });
      continue;
    }
    metrics.addDimension(DIMENSIONS.channel, d.channel);
    metrics.addMetric(QUEUE_METRICS.deadLetterDepth, MetricUnit.Count, d.depth + (d.inFlight ?? 0));
    metrics.publishStoredMetrics();
  }
}

/**
 * The timeout monitor as its schedule runs it: the run, then the state and DLQ gauges (a scheduled, non-dry run only:
 * a manual run must not stand in for the schedule). A failed read leaves the gauges out of this period,
 * which the alarms treat as missing (they keep their state), and is logged; it does not fail the run.
 */
export async function runScheduledTimeoutMonitor(
  ctx: AppContext,
  options: MonitorOptions,
): Promise<RunRecord> {
  const record = await runTimeoutMonitor(ctx, options);
  if (isScheduledTrigger(options.trigger) && !options.dryRun) {
    // Each set on its own: a reputation read that fails must not take the DLQ gauges with it.
    await Promise.all([
      emitStateGauges(ctx).catch((error: unknown) => logger.error('state gauges not emitted', { error })),
      emitDeadLetterGauges(ctx).catch((error: unknown) =>
        logger.error('DLQ depth gauges not emitted', { error }),
      ),
    ]);
  }
  return record;
}
