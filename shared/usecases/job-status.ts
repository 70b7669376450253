// A job's state as operators read it (admin API, readiness, CLI): its own module, so the readiness check
// reads job heartbeats without importing the jobs themselves.
import type { JobName } from '../infra/resources.ts';
import type { JobState } from '../repositories/jobs.ts';
import { DEFAULT_SETTINGS, heartbeatTtlSeconds, type JobSchedule } from '../settings.ts';

export interface JobStatus {
  name: JobName;
  paused: boolean;
  pausedBy: string | null;
  pausedAt: string | null;
  pauseReason: string | null;
  lastHeartbeatAt: string | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  heartbeatTtlSeconds: number;
  /** Whether its schedule is enabled; a disabled one (a deliberate choice) expects no heartbeat. */
  scheduleEnabled: boolean;
  scheduleRateSeconds: number;
  /** Seconds since the last heartbeat; null when the job never ran. */
  heartbeatAgeSeconds: number | null;
}

export function jobStatusOf(
  state: JobState,
  now: Date,
  schedule: JobSchedule = DEFAULT_SETTINGS.schedules[state.name],
): JobStatus {
  const heartbeat = state.lastHeartbeatAt ? new Date(state.lastHeartbeatAt).getTime() : undefined;
  return {
    name: state.name,
    paused: state.paused,
    pausedBy: state.pausedBy ?? null,
    pausedAt: state.pausedAt ?? null,
    pauseReason: state.pauseReason ?? null,
    lastHeartbeatAt: state.lastHeartbeatAt ?? null,
    lastSuccessAt: state.lastSuccessAt ?? null,
    consecutiveFailures: state.consecutiveFailures,
    lastError: state.lastError ?? null,
    heartbeatTtlSeconds: heartbeatTtlSeconds(schedule),
    scheduleEnabled: schedule.enabled,
    scheduleRateSeconds: schedule.rateSeconds,
    heartbeatAgeSeconds:
      heartbeat === undefined || Number.isNaN(heartbeat)
        ? null
        : Math.max(0, Math.floor((now.getTime() - heartbeat) / 1000)),
  };
}
