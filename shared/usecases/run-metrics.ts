// EMF metrics of a scheduled run (the heartbeat alarm pages when `Heartbeat` stops arriving).
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { metrics } from '../observability/metrics.ts';
import type { RunRecord } from '../repositories/jobs.ts';

export function emitRunMetrics(run: RunRecord, consecutiveFailures: number): void {
  if (run.dryRun) return;
  metrics.addDimension('job', run.job);
  metrics.addMetric('Heartbeat', MetricUnit.Count, 1);
  metrics.addMetric('Selected', MetricUnit.Count, run.counts.selected);
  metrics.addMetric('Claimed', MetricUnit.Count, run.counts.claimed);
  metrics.addMetric('Dispatched', MetricUnit.Count, run.counts.dispatched);
  metrics.addMetric('Skipped', MetricUnit.Count, run.counts.skipped + run.counts.conflicts);
  metrics.addMetric('Errors', MetricUnit.Count, run.counts.errors + run.counts.invalid);
  metrics.addMetric('RunFailed', MetricUnit.Count, run.status === 'failed' ? 1 : 0);
  metrics.addMetric('ConsecutiveFailures', MetricUnit.Count, consecutiveFailures);
  metrics.addMetric('DurationMs', MetricUnit.Milliseconds, run.durationMs);
  if (run.job === 'timeout-monitor') {
    metrics.addMetric('TimedOut', MetricUnit.Count, run.counts.timedOut);
    metrics.addMetric('StuckSessions', MetricUnit.Count, run.counts.longRunning);
  }
  metrics.publishStoredMetrics();
}
