// The state gauges the alarms watch (#20), emitted by every scheduled timeout-monitor run whether or not
// receipts arrive: the receipts function emits them only after a bounce or complaint, and those stop once
// email is paused, so an alarm fed by receipts alone went back to OK with email still paused. Read-only:
// the guard's decision to pause stays with the receipts (evaluateReputation).
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AppContext } from '../context.ts';
import { DIMENSIONS, RECEIPT_METRICS } from '../infra/metrics.ts';
import { logger } from '../observability/logger.ts';
import { metrics } from '../observability/metrics.ts';
import { readReputation } from '../receipts/reputation.ts';
import type { RunRecord } from '../repositories/jobs.ts';
import { GUARDED_CHANNELS, readPause } from '../reputation/guard.ts';
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
 * The timeout monitor as its schedule runs it: the run, then the state gauges (a scheduled, non-dry run only:
 * a manual run must not stand in for the schedule). A failed read leaves the gauges out of this period,
 * which the alarms treat as missing (they keep their state), and is logged; it does not fail the run.
 */
export async function runScheduledTimeoutMonitor(
  ctx: AppContext,
  options: MonitorOptions,
): Promise<RunRecord> {
  const record = await runTimeoutMonitor(ctx, options);
  if (isScheduledTrigger(options.trigger) && !options.dryRun) {
    try {
      await emitStateGauges(ctx);
    } catch (error) {
      logger.error('state gauges not emitted', { error });
    }
  }
  return record;
}
