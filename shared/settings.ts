// Service settings that are not resource names: timeout rules per kind, alert thresholds, ops alert
// recipients, dispatch lease. Read from env through a schema (a bad value fails loudly at cold start).
import * as v from 'valibot';
import { type AppContext, contextFromEnv } from './context.ts';
import { DEFAULT_TIMEOUT_RULE, type TimeoutRule, TimeoutRuleSchema } from './domain/deadline.ts';
import { JOB_DESCRIPTIONS, JOBS, type JobName } from './infra/resources.ts';

export { heartbeatTtlSeconds } from './infra/resources.ts';

import { type OpsRecipients, OpsRecipientsSchema } from './messages.ts';
import { describeIssues, integer, numberFromText, objectOf, safeParse } from './schema.ts';

export interface Settings {
  /** Timeout rule per session kind; `default` applies to kinds not listed. */
  readonly timeoutRules: Record<string, TimeoutRule>;
  /** More long-running sessions than this in one monitor run raises an ops alert. */
  readonly maxLongRunning: number;
  readonly opsRecipients: OpsRecipients;
  /** How long a claimer owns the dispatch of its attempt before another sweep may re-dispatch it. */
  readonly dispatchLeaseSeconds: number;
  /** Sessions one sweep handles at most (a run's `limit` can lower it). */
  readonly sweepLimit: number;
  /** Claims in flight at once within one sweep. */
  readonly sweepConcurrency: number;
  /**
   * Shard groups a sweep fans out to when the due backlog exceeds its limit: one worker per group, each
   * holding the lease of its shards (capped at the shard count).
   */
  readonly sweepWorkers: number;
  /**
   * How long past its due time the next attempt waits, at most, for the previous attempt's notifications to
   * reach a final outcome. A channel that stays down delays the next reminder by this much, no more.
   */
  readonly outcomeWaitSeconds: number;
  /** Consecutive dispatch failures after which a sweep stops claiming for the rest of its run. */
  readonly dispatchFailureLimit: number;
  /** Each job's schedule as deployed: readiness and the heartbeat read their age against it. */
  readonly schedules: Record<JobName, JobSchedule>;
}

export interface JobSchedule {
  readonly rateSeconds: number;
  /** A disabled schedule (a deliberate choice) is not an outage: no heartbeat is expected. */
  readonly enabled: boolean;
}

function defaultSchedules(): Record<JobName, JobSchedule> {
  return Object.fromEntries(
    JOBS.map((job) => [job, { rateSeconds: JOB_DESCRIPTIONS[job].rateMinutes * 60, enabled: true }]),
  ) as Record<JobName, JobSchedule>;
}

export const DEFAULT_SETTINGS: Settings = {
  timeoutRules: { default: DEFAULT_TIMEOUT_RULE },
  maxLongRunning: 3,
  opsRecipients: {},
  dispatchLeaseSeconds: 60,
  sweepLimit: 1000,
  sweepConcurrency: 16,
  sweepWorkers: 4,
  outcomeWaitSeconds: 3600,
  dispatchFailureLimit: 3,
  schedules: defaultSchedules(),
};

/** A JSON string in an env var, parsed and then checked against `schema`. */
function json<S extends v.GenericSchema>(schema: S) {
  return v.pipe(v.string(), v.parseJson(undefined, 'not valid JSON'), schema);
}

const EnvSchema = v.object({
  TIMEOUT_RULES: v.optional(json(objectOf(TimeoutRuleSchema))),
  MAX_LONG_RUNNING: v.optional(numberFromText(integer(0))),
  OPS_ALERT_RECIPIENTS: v.optional(json(OpsRecipientsSchema)),
  DISPATCH_LEASE_SECONDS: v.optional(numberFromText(integer(5, 3600))),
  SWEEP_LIMIT: v.optional(numberFromText(integer(1, 100_000))),
  SWEEP_CONCURRENCY: v.optional(numberFromText(integer(1, 128))),
  SWEEP_WORKERS: v.optional(numberFromText(integer(1, 64))),
  OUTCOME_WAIT_SECONDS: v.optional(numberFromText(integer(0, 7 * 86_400))),
  DISPATCH_FAILURE_LIMIT: v.optional(numberFromText(integer(1, 1000))),
  SWEEP_RATE_SECONDS: v.optional(numberFromText(integer(1, 86_400))),
  MONITOR_RATE_SECONDS: v.optional(numberFromText(integer(1, 86_400))),
  SWEEP_SCHEDULE_ENABLED: v.optional(v.picklist(['true', 'false'])),
  MONITOR_SCHEDULE_ENABLED: v.optional(v.picklist(['true', 'false'])),
});

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = safeParse(EnvSchema, env);
  if (!parsed.success) {
    const detail = describeIssues(parsed.issues);
    throw new Error(`invalid settings in environment: ${detail}`);
  }
  const e = parsed.data;
  return {
    timeoutRules: { default: DEFAULT_TIMEOUT_RULE, ...(e.TIMEOUT_RULES ?? {}) },
    maxLongRunning: e.MAX_LONG_RUNNING ?? DEFAULT_SETTINGS.maxLongRunning,
    opsRecipients: e.OPS_ALERT_RECIPIENTS ?? {},
    dispatchLeaseSeconds: e.DISPATCH_LEASE_SECONDS ?? DEFAULT_SETTINGS.dispatchLeaseSeconds,
    sweepLimit: e.SWEEP_LIMIT ?? DEFAULT_SETTINGS.sweepLimit,
    sweepConcurrency: e.SWEEP_CONCURRENCY ?? DEFAULT_SETTINGS.sweepConcurrency,
    sweepWorkers: e.SWEEP_WORKERS ?? DEFAULT_SETTINGS.sweepWorkers,
    outcomeWaitSeconds: e.OUTCOME_WAIT_SECONDS ?? DEFAULT_SETTINGS.outcomeWaitSeconds,
    dispatchFailureLimit: e.DISPATCH_FAILURE_LIMIT ?? DEFAULT_SETTINGS.dispatchFailureLimit,
    schedules: {
      'recovery-sweep': {
        rateSeconds: e.SWEEP_RATE_SECONDS ?? DEFAULT_SETTINGS.schedules['recovery-sweep'].rateSeconds,
        enabled: e.SWEEP_SCHEDULE_ENABLED !== 'false',
      },
      'timeout-monitor': {
        rateSeconds: e.MONITOR_RATE_SECONDS ?? DEFAULT_SETTINGS.schedules['timeout-monitor'].rateSeconds,
        enabled: e.MONITOR_SCHEDULE_ENABLED !== 'false',
      },
    },
  };
}

/** The context of a scheduled job or the API: `contextFromEnv` plus the settings, checked at cold start. */
export function contextWithSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AppContext {
  return { ...contextFromEnv(env), settings: settingsFromEnv(env) };
}

export function settingsOf(ctx: AppContext): Settings {
  return ctx.settings ?? DEFAULT_SETTINGS;
}

export function timeoutRuleFor(settings: Settings, kind: string): TimeoutRule {
  return settings.timeoutRules[kind] ?? settings.timeoutRules.default ?? DEFAULT_TIMEOUT_RULE;
}
