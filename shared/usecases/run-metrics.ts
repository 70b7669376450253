// EMF metrics of a scheduled run (the heartbeat alarm pages when `Heartbeat` stops arriving).
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DIMENSIONS, JOB_METRICS, MONITOR_METRICS, SWEEP_METRICS } from '../infra/metrics.ts';
import { metrics } from '../observability/metrics.ts';
import type { RunRecord } from '../repositories/jobs.ts';

export function emitRunMetrics(run: RunRecord, consecutiveFailures: number): void {
  if (run.dryRun) return;
  metrics.addDimension(DIMENSIONS.job, run.job);
  metrics.addMetric(JOB_METRICS.heartbeat, MetricUnit.Count, 1);
  metrics.addMetric(JOB_METRICS.consecutiveFailures, MetricUnit.Count, consecutiveFailures);
  metrics.addMetric(JOB_METRICS.selected, MetricUnit.Count, run.counts.selected);
  metrics.addMetric(JOB_METRICS.claimed, MetricUnit.Count, run.counts.claimed);
  metrics.addMetric(JOB_METRICS.dispatched, MetricUnit.Count, run.counts.dispatched);
  metrics.addMetric(JOB_METRICS.skipped, MetricUnit.Count, run.counts.skipped + run.counts.conflicts);
  metrics.addMetric(JOB_METRICS.errors, MetricUnit.Count, run.counts.errors + run.counts.invalid);
  metrics.addMetric(JOB_METRICS.durationMs, MetricUnit.Milliseconds, run.durationMs);
  if (run.job === 'recovery-sweep') {
    metrics.addMetric(SWEEP_METRICS.deferred, MetricUnit.Count, run.counts.deferred);
    if (run.outboxOldestAgeSeconds !== undefined) {
      metrics.addMetric(SWEEP_METRICS.outboxOldestAgeSeconds, MetricUnit.Seconds, run.outboxOldestAgeSeconds);
    }
  }
  if (run.job === 'timeout-monitor') {
    // Sessions found past their deadline this run (each is then timed out).
    metrics.addMetric(
      MONITOR_METRICS.stuckSessions,
      MetricUnit.Count,
      run.counts.timedOut + run.counts.conflicts,
    );
    metrics.addMetric(MONITOR_METRICS.timedOut, MetricUnit.Count, run.counts.timedOut);
  }
  metrics.publishStoredMetrics();
}
