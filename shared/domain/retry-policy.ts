// Retry policy → schedule. Pure functions of (policy, session id, attempt number, time), so the preview
// route, the sweep and the property tests all compute the same thing.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { CHANNELS, type Channel } from '../infra/resources.ts';
import { isValidTimeZone } from './session.ts';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');

export const QuietHoursSchema = z
  .object({
    start: HHMM,
    end: HHMM,
    timezone: z.string().refine(isValidTimeZone, 'an IANA time zone such as Europe/Paris').default('UTC'),
  })
  .strict();
export type QuietHours = z.infer<typeof QuietHoursSchema>;

export const JITTER_MODES = ['none', 'full', 'equal'] as const;
export type JitterMode = (typeof JITTER_MODES)[number];

/** The tunable fields of a policy, as an operator writes them (shared by the use case and the API). */
export const POLICY_RULES_SHAPE = {
  maxRetries: z.number().int().min(0).max(50),
  initialDelaySeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86400),
  backoffMultiplier: z.number().min(1).max(10),
  maxDelaySeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86400),
  jitter: z.enum(JITTER_MODES).default('none'),
  enabledChannels: z
    .array(z.enum(CHANNELS))
    .min(1)
    .refine((list) => new Set(list).size === list.length, 'each channel once'),
  quietHours: QuietHoursSchema.optional(),
};

const capNotBelowInitial = (p: { maxDelaySeconds: number; initialDelaySeconds: number }) =>
  p.maxDelaySeconds >= p.initialDelaySeconds;
const capNotBelowInitialError = {
  message: 'maxDelaySeconds must be at least initialDelaySeconds',
  path: ['maxDelaySeconds'],
};

export const PolicyRulesSchema = z
  .object(POLICY_RULES_SHAPE)
  .strict()
  .refine(capNotBelowInitial, capNotBelowInitialError);

/** A new policy: its rules, a name, and where it applies. */
export const CreatePolicySchema = z
  .object({
    name: z.string().min(1).max(120),
    ...POLICY_RULES_SHAPE,
    orgId: z.string().min(1).max(128).optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .refine(capNotBelowInitial, capNotBelowInitialError);
export type PolicyRules = z.infer<typeof PolicyRulesSchema>;

export const RetryPolicySchema = z
  .object({
    policyId: z.string().min(1),
    name: z.string().min(1).max(120),
    orgId: z.string().min(1).max(128),
    active: z.boolean(),
    maxRetries: z.number().int().min(0),
    initialDelaySeconds: z.number().int().min(0),
    backoffMultiplier: z.number().min(1),
    maxDelaySeconds: z.number().int().min(0),
    jitter: z.enum(JITTER_MODES),
    enabledChannels: z.array(z.enum(CHANNELS)).min(1),
    quietHours: QuietHoursSchema.optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    triggeredBy: z.string().optional(),
  })
  .passthrough();
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

export const DEFAULT_ORG = 'default';

/** The policy in force when an org has none active (design: 3 retries, 1 h, ×2, cap 1 day, email). */
export const DEFAULT_POLICY: RetryPolicy = {
  policyId: 'default',
  name: 'Default policy',
  orgId: DEFAULT_ORG,
  active: true,
  maxRetries: 3,
  initialDelaySeconds: 3600,
  backoffMultiplier: 2,
  maxDelaySeconds: 86400,
  jitter: 'none',
  enabledChannels: ['email'],
  createdAt: '1970-01-01T00:00:00.000Z',
  updatedAt: '1970-01-01T00:00:00.000Z',
};

type Rules = Pick<
  RetryPolicy,
  'maxRetries' | 'initialDelaySeconds' | 'backoffMultiplier' | 'maxDelaySeconds' | 'jitter' | 'quietHours'
>;

/** A number in [0, 1) fixed by session and attempt: jitter that a preview can predict. */
export function jitterFraction(sessionId: string, attempt: number): number {
  const digest = createHash('sha256').update(`${sessionId}:${attempt}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** Delay before attempt `attempt` (1-based), in whole seconds, before quiet hours. */
export function baseDelaySeconds(rules: Rules, attempt: number): number {
  const raw = rules.initialDelaySeconds * rules.backoffMultiplier ** (attempt - 1);
  return Math.min(raw, rules.maxDelaySeconds);
}

export function delaySeconds(rules: Rules, sessionId: string, attempt: number): number {
  const base = baseDelaySeconds(rules, attempt);
  switch (rules.jitter) {
    case 'none':
      return Math.floor(base);
    case 'full':
      return Math.floor(jitterFraction(sessionId, attempt) * base);
    case 'equal':
      return Math.floor(base / 2 + (jitterFraction(sessionId, attempt) * base) / 2);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight in `timeZone`. */
export function localMinuteOfDay(at: Date, timeZone: string): number {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, fmt);
  }
  let hour = 0;
  let minute = 0;
  for (const part of fmt.formatToParts(at)) {
    if (part.type === 'hour') hour = Number(part.value);
    if (part.type === 'minute') minute = Number(part.value);
  }
  return hour * 60 + minute;
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function inQuietHours(at: Date, quiet: QuietHours, timeZone: string): boolean {
  const start = toMinutes(quiet.start);
  const end = toMinutes(quiet.end);
  if (start === end) return false;
  const m = localMinuteOfDay(at, timeZone);
  return start < end ? m >= start && m < end : m >= start || m < end;
}

/**
 * Moves `at` to the end of the quiet window when it falls inside it. The recipient's time zone wins over
 * the policy's. Loops because a DST change can move the wall clock under us.
 */
export function outOfQuietHours(at: Date, quiet: QuietHours | undefined, recipientZone?: string): Date {
  if (!quiet) return at;
  const zone = recipientZone && isValidTimeZone(recipientZone) ? recipientZone : quiet.timezone;
  let t = at;
  for (let i = 0; i < 4 && inQuietHours(t, quiet, zone); i++) {
    const m = localMinuteOfDay(t, zone);
    const minutesToEnd = (toMinutes(quiet.end) - m + 1440) % 1440 || 1440;
    const intoMinuteMs = t.getTime() % 60_000;
    const jumped = new Date(t.getTime() + minutesToEnd * 60_000 - intoMinuteMs);
    // Over a spring-forward change the wall clock ran ahead of the minutes added: step back by the time
    // it skipped, when that still clears the window (it does not when the end's wall time never existed).
    const skipped = (localMinuteOfDay(jumped, zone) - m - minutesToEnd + 2880) % 1440;
    const earlier = new Date(jumped.getTime() - skipped * 60_000);
    const useEarlier = skipped > 0 && skipped < 720 && earlier > t && !inQuietHours(earlier, quiet, zone);
    t = useEarlier ? earlier : jumped;
  }
  return t;
}

/** When attempt `attempt` is due, counted from `from` (the previous attempt, or entering `stalled`). */
export function nextAttemptAt(
  rules: Rules,
  sessionId: string,
  attempt: number,
  from: Date,
  recipientZone?: string,
): Date {
  const delay = delaySeconds(rules, sessionId, attempt);
  return outOfQuietHours(new Date(from.getTime() + delay * 1000), rules.quietHours, recipientZone);
}

export interface ScheduledAttempt {
  readonly attempt: number;
  readonly at: string;
  readonly delaySeconds: number;
  readonly channels: readonly Channel[];
}

/** The attempts still to come for a session that has made `done` attempts, starting at `from`. */
export function planSchedule(
  policy: Rules & Pick<RetryPolicy, 'enabledChannels'>,
  sessionId: string,
  from: Date,
  done = 0,
  recipientZone?: string,
): ScheduledAttempt[] {
  const out: ScheduledAttempt[] = [];
  let t = from;
  for (let n = done + 1; n <= policy.maxRetries; n++) {
    t = nextAttemptAt(policy, sessionId, n, t, recipientZone);
    out.push({
      attempt: n,
      at: t.toISOString(),
      delaySeconds: delaySeconds(policy, sessionId, n),
      channels: policy.enabledChannels,
    });
  }
  return out;
}
