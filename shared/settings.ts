// Service settings that are not resource names: timeout rules per kind, alert thresholds, ops alert
// recipients, dispatch lease. Read from env through a schema (a bad value fails loudly at cold start).
import * as z from 'zod';
import type { AppContext } from './context.ts';
import { DEFAULT_TIMEOUT_RULE, type TimeoutRule, TimeoutRuleSchema } from './domain/deadline.ts';
import { type OpsRecipients, OpsRecipientsSchema } from './messages.ts';

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
}

export const DEFAULT_SETTINGS: Settings = {
  timeoutRules: { default: DEFAULT_TIMEOUT_RULE },
  maxLongRunning: 3,
  opsRecipients: {},
  dispatchLeaseSeconds: 60,
  sweepLimit: 1000,
  sweepConcurrency: 16,
};

const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const EnvSchema = z.object({
  TIMEOUT_RULES: json(z.record(z.string(), TimeoutRuleSchema)).optional(),
  MAX_LONG_RUNNING: z.coerce.number().int().min(0).optional(),
  OPS_ALERT_RECIPIENTS: json(OpsRecipientsSchema).optional(),
  DISPATCH_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).optional(),
  SWEEP_LIMIT: z.coerce.number().int().min(1).max(100_000).optional(),
  SWEEP_CONCURRENCY: z.coerce.number().int().min(1).max(128).optional(),
});

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
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
  };
}

export function settingsOf(ctx: AppContext): Settings {
  return ctx.settings ?? DEFAULT_SETTINGS;
}

export function timeoutRuleFor(settings: Settings, kind: string): TimeoutRule {
  return settings.timeoutRules[kind] ?? settings.timeoutRules.default ?? DEFAULT_TIMEOUT_RULE;
}
