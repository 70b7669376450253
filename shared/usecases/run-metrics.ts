// EMF metrics of a scheduled run (the heartbeat alarm pages when `Heartbeat` stops arriving).
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DIMENSIONS, JOB_METRICS, MONITOR_METRICS, SWEEP_METRICS } from '../infra/metrics.ts';
import { metrics } from '../observability/metrics.ts';
import type { RunRecord } from '../repositories/jobs.ts';

/**
 * `scheduled`: the run came from the job's schedule. Only those beat the heart: a manual run (API, CLI) or a
 * fan-out worker proves nothing about the schedule, and must not hide one that stopped firing.
 */
export function emitRunMetrics(run: RunRecord, consecutiveFailures: number, scheduled: boolean): void {
  if (run.dryRun) return;
  metrics.addDimension(DIMENSIONS.job, run.job);
  if (scheduled) metrics.addMetric(JOB_METRICS.heartbeat, MetricUnit.Count, 1);
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
    // Sessions found past their deadline and still processing (timed out, or left on an error); one that
    // changed under the monitor (a conflict: completed meanwhile) was not stuck.
    metrics.addMetric(MONITOR_METRICS.stuckSessions, MetricUnit.Count, run.counts.stuck);
    metrics.addMetric(MONITOR_METRICS.timedOut, MetricUnit.Count, run.counts.timedOut);
  }
  metrics.publishStoredMetrics();
}
