// Retry policy → schedule. Pure functions of (policy, session id, attempt number, time), so the preview
// route, the sweep and the property tests all compute the same thing.
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { CHANNELS, type Channel } from '../infra/resources.ts';
import { finiteNumber, type Infer, integer, text } from '../schema.ts';
import { DEFAULT_ORG } from './org.ts';
import type { QuietHours } from './quiet-hours.ts';
import { QuietHoursSchema } from './quiet-hours.ts';
import { isValidTimeZone } from './time-zone.ts';

export { type QuietHours, QuietHoursSchema } from './quiet-hours.ts';

export const JITTER_MODES = ['none', 'full', 'equal'] as const;
export type JitterMode = (typeof JITTER_MODES)[number];

export const RetryPolicySchema = v.looseObject({
  policyId: text(1),
  name: text(1, 120),
  orgId: text(1, 128),
  active: v.boolean(),
  maxRetries: integer(0),
  initialDelaySeconds: integer(0),
  backoffMultiplier: finiteNumber(1),
  maxDelaySeconds: integer(0),
  jitter: v.picklist(JITTER_MODES),
  enabledChannels: v.pipe(v.array(v.picklist(CHANNELS)), v.minLength(1)),
  quietHours: v.optional(QuietHoursSchema),
  createdAt: v.string(),
  updatedAt: v.string(),
  triggeredBy: v.optional(v.string()),
});
export type RetryPolicy = Infer<typeof RetryPolicySchema>;

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
function localMinuteOfDay(at: Date, timeZone: string): number {
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

/** The zone whose wall clock decides quiet hours: the recipient's when it is a valid one, else the policy's. */
export function quietHoursZone(quiet: QuietHours, recipientZone?: string): string {
  return recipientZone && isValidTimeZone(recipientZone) ? recipientZone : quiet.timezone;
}

/**
 * Moves `at` to the end of the quiet window when it falls inside it. The recipient's time zone wins over
 * the policy's. Loops because a DST change can move the wall clock under us.
 */
export function outOfQuietHours(at: Date, quiet: QuietHours | undefined, recipientZone?: string): Date {
  if (!quiet) return at;
  const zone = quietHoursZone(quiet, recipientZone);
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

/** A message its sender deferred to the end of a quiet window comes back up to this much after it, spread. */
export const QUIET_END_SPREAD_SECONDS = 300;

/** How far past the end of its quiet window one channel's message of an attempt comes back (fixed per message). */
export function quietEndSpreadSeconds(attemptId: string, channel: string, attempt: number): number {
  return Math.floor(jitterFraction(`${attemptId}#${channel}`, attempt) * QUIET_END_SPREAD_SECONDS);
}

/**
 * When an attempt dispatched at `at` reaches its recipients: at once, or — inside quiet hours — when its
 * senders let the last of its messages go, at the window's end plus that message's spread. The next attempt's
 * delay runs from here (#18): counted from a claim inside the window it fell minutes after this one.
 */
export function goesOutAt(
  at: Date,
  quiet: QuietHours | undefined,
  recipientZone: string | undefined,
  attempt: { readonly attemptId: string; readonly number: number; readonly channels: readonly string[] },
): Date {
  if (!quiet || !inQuietHours(at, quiet, quietHoursZone(quiet, recipientZone))) return at;
  const end = outOfQuietHours(at, quiet, recipientZone);
  const spread = Math.max(
    0,
    ...attempt.channels.map((c) => quietEndSpreadSeconds(attempt.attemptId, c, attempt.number)),
  );
  return new Date(end.getTime() + spread * 1000);
}

/**
 * The backoff step of attempt `number` (counted from the session's first attempt ever) within the budget
 * of retries it belongs to: a new stall after exhaustion starts a budget, and the backoff restarts at 1.
 */
export function delayIndex(s: { readonly budgetStart?: number }, number: number): number {
  return number - (s.budgetStart ?? 0);
}

/**
 * How far past the end of a quiet window a retry pushed out of it lands, in seconds: the policy's jitter
 * span (the whole base delay for `full`, half of it for `equal`, nothing for `none`) times a fraction fixed
 * by session and attempt, and never more than the free part of the day, so the spread cannot reach the
 * next window. Without it every retry deferred by the window would fire at its end at once.
 */
function quietSpreadSeconds(rules: Rules, sessionId: string, attempt: number, quiet: QuietHours): number {
  const base = baseDelaySeconds(rules, attempt);
  const span = rules.jitter === 'full' ? base : rules.jitter === 'equal' ? base / 2 : 0;
  const freeSeconds = ((toMinutes(quiet.start) - toMinutes(quiet.end) + 1440) % 1440) * 60;
  const cap = Math.max(0, Math.min(span, freeSeconds - 60));
  return Math.floor(jitterFraction(`${sessionId}#quiet`, attempt) * cap);
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
  const due = new Date(from.getTime() + delay * 1000);
  const moved = outOfQuietHours(due, rules.quietHours, recipientZone);
  if (!rules.quietHours || moved.getTime() === due.getTime()) return moved;
  const spread = quietSpreadSeconds(rules, sessionId, attempt, rules.quietHours);
  // A DST change can shorten the free part of that one day: the spread then goes to the next window's end.
  return outOfQuietHours(new Date(moved.getTime() + spread * 1000), rules.quietHours, recipientZone);
}

export interface ScheduledAttempt {
  readonly attempt: number;
  readonly at: string;
  readonly delaySeconds: number;
  readonly channels: readonly Channel[];
}

/**
 * The attempts still to come for a session that has made `done` attempts, starting at `from`. Attempt
 * numbers count from the first attempt ever made; a session in a later budget of retries (a new stall after
 * it was exhausted) started that budget after attempt `budgetStart`, and its backoff restarts there.
 */
export function planSchedule(
  policy: Rules & Pick<RetryPolicy, 'enabledChannels'>,
  sessionId: string,
  from: Date,
  done = 0,
  recipientZone?: string,
  budgetStart = 0,
): ScheduledAttempt[] {
  const out: ScheduledAttempt[] = [];
  let t = from;
  for (let n = done + 1; n <= policy.maxRetries; n++) {
    const step = n - budgetStart;
    t = nextAttemptAt(policy, sessionId, step, t, recipientZone);
    out.push({
      attempt: n,
      at: t.toISOString(),
      delaySeconds: delaySeconds(policy, sessionId, step),
      channels: policy.enabledChannels,
    });
  }
  return out;
}
