// Recovery statistics for GET /retry/stats, summed from the daily counters (a few GetItem-sized queries per
// day, whatever the number of sessions): never a scan.
import type { AppContext } from '../context.ts';
import { DomainError } from '../domain/errors.ts';
import { DEFAULT_ORG } from '../domain/org.ts';
import { CHANNELS, type Channel } from '../infra/resources.ts';
import { readStats } from '../repositories/stats.ts';

export interface ChannelCounts {
  sent: number;
  failed: number;
  skipped: number;
}

export interface ChannelRecoveryCounts extends ChannelCounts {
  /** Recoveries this channel's notification preceded (one recovery can count for two channels). */
  recovered: number;
  /** Their amounts, per currency, in minor units. */
  recoveredAmount: Record<string, number>;
}

export interface RecoveredCounts {
  recovered: number;
  recoveredAmount: Record<string, number>;
}

/** What happened to the product events received (#14). */
export interface EventCounts {
  applied: number;
  duplicate: number;
  stale: number;
  ignored: number;
  rejected: number;
}

export interface RecoveryStats {
  orgId: string;
  from: string;
  to: string;
  sessions: number;
  attempts: number;
  recovered: number;
  exhausted: number;
  successRate: number | null;
  averageRetries: number | null;
  byChannel: Record<Channel, ChannelRecoveryCounts>;
  /** Recovered amounts per currency, in minor units (recoveries that carried an amount). */
  recoveredAmount: Record<string, number>;
  /** Recoveries by the attempt credited with them; "0": none preceded the recovery. */
  byAttempt: Record<string, RecoveredCounts>;
  events: EventCounts;
}

/** `<prefix>.<CUR>` counters → `{ CUR: n }`. */
function amounts(totals: Record<string, number>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(totals)) {
    const match = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.([A-Z]{3})$`).exec(key);
    if (match?.[1] && value) out[match[1]] = value;
  }
  return out;
}

const DAY_MS = 86_400_000;

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Counters of an org from `from` to `to`, whole UTC days; the last 7 days by default. */
export async function getRecoveryStats(
  ctx: AppContext,
  input: { from?: string; to?: string; orgId?: string },
): Promise<RecoveryStats> {
  const to = input.to ? new Date(input.to) : ctx.clock();
  const from = input.from ? new Date(input.from) : new Date(to.getTime() - 6 * DAY_MS);
  if (from.getTime() > to.getTime()) throw new DomainError('validation', 'from must not be after to');
  if (to.getTime() - from.getTime() > 366 * DAY_MS) {
    throw new DomainError('validation', 'stats cover at most 366 days at once');
  }
  const orgId = input.orgId ?? DEFAULT_ORG;
  const totals = await readStats(ctx, { orgId, from, to });
  const count = (key: string) => totals[key] ?? 0;

  // recoveredAfter.<n>: recovered after n attempts; their mean is how many retries a recovery takes.
  let recoveredWithCount = 0;
  let retriesBeforeRecovery = 0;
  for (const [key, value] of Object.entries(totals)) {
    const match = /^recoveredAfter\.(\d+)$/.exec(key);
    if (!match) continue;
    recoveredWithCount += value;
    retriesBeforeRecovery += Number(match[1]) * value;
  }
  const recovered = count('recovered');
  const exhausted = count('exhausted');
  const byChannel = {} as Record<Channel, ChannelRecoveryCounts>;
  for (const channel of CHANNELS) {
    byChannel[channel] = {
      sent: count(`channel.${channel}.sent`),
      failed: count(`channel.${channel}.failed`),
      skipped: count(`channel.${channel}.skipped`),
      recovered: count(`recoveredBy.channel.${channel}`),
      recoveredAmount: amounts(totals, `recoveredBy.channel.${channel}.amount`),
    };
  }
  const byAttempt: Record<string, RecoveredCounts> = {};
  for (const key of Object.keys(totals)) {
    const n = /^recoveredBy\.attempt\.(\d+)$/.exec(key)?.[1];
    if (n === undefined || !count(key)) continue;
    byAttempt[n] = {
      recovered: count(key),
      recoveredAmount: amounts(totals, `recoveredBy.attempt.${n}.amount`),
    };
  }
  return {
    orgId,
    from: from.toISOString().slice(0, 10),
    to: to.toISOString().slice(0, 10),
    sessions: count('sessions'),
    attempts: count('attempts'),
    recovered,
    exhausted,
    successRate: recovered + exhausted > 0 ? round(recovered / (recovered + exhausted)) : null,
    averageRetries: recoveredWithCount > 0 ? round(retriesBeforeRecovery / recoveredWithCount) : null,
    byChannel,
    recoveredAmount: amounts(totals, 'recoveredAmount'),
    byAttempt,
    events: {
      applied: count('events.applied'),
      duplicate: count('events.duplicate'),
      stale: count('events.stale'),
      ignored: count('events.ignored'),
      rejected: count('events.rejected'),
    },
  };
}
