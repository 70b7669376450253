// What follows an applied receipt, whichever provider sent it: the delivery metrics, and after a bounce,
// complaint or failed delivery the reputation guard's look at the channel's 24 h rates (gauges the alarms
// watch; email pauses itself above its thresholds). Metrics are published per call, synchronously from
// first add to publish, so a process hosting several handlers cannot mix dimensions.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AppContext } from '../context.ts';
import { DIMENSIONS, RECEIPT_METRICS } from '../infra/metrics.ts';
import { logger } from '../observability/logger.ts';
import { metrics } from '../observability/metrics.ts';
import { type Evaluation, evaluateReputation, type GuardThresholds } from '../reputation/guard.ts';
import type { AppliedReceipt } from './apply.ts';
import type { Receipt } from './receipt.ts';

const COUNTED: Partial<Record<Receipt['status'], string>> = {
  delivered: RECEIPT_METRICS.delivered,
  bounced: RECEIPT_METRICS.bounced,
  complained: RECEIPT_METRICS.complained,
  undelivered: RECEIPT_METRICS.undelivered,
};

const JUDGED = new Set<Receipt['status']>(['bounced', 'complained', 'undelivered']);

export async function observeReceipt(
  ctx: AppContext,
  receipt: Receipt,
  applied: AppliedReceipt,
  guard: GuardThresholds,
): Promise<Evaluation | undefined> {
  const evaluation =
    JUDGED.has(receipt.status) && applied.first
      ? await evaluateReputation(ctx, receipt.channel, guard)
      : undefined;
  const counted = COUNTED[receipt.status];
  if (applied.first && (counted || evaluation)) {
    metrics.addDimension(DIMENSIONS.channel, receipt.channel);
    if (counted) metrics.addMetric(counted, MetricUnit.Count, 1);
    if (evaluation) {
      metrics.addMetric(RECEIPT_METRICS.bounceRate, MetricUnit.Percent, evaluation.window.bounceRate ?? 0);
      metrics.addMetric(
        RECEIPT_METRICS.complaintRate,
        MetricUnit.Percent,
        evaluation.window.complaintRate ?? 0,
      );
      metrics.addMetric(RECEIPT_METRICS.sendingPaused, MetricUnit.Count, evaluation.paused ? 1 : 0);
    }
    metrics.publishStoredMetrics();
  }
  if (evaluation?.pausedNow)
    logger.error('reputation guard paused sending; messages wait on the queue until an operator resumes', {
      channel: receipt.channel,
      bounceRate: evaluation.window.bounceRate,
      complaintRate: evaluation.window.complaintRate,
    });
  return evaluation;
}
