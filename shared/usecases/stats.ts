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
  byChannel: Record<Channel, ChannelCounts>;
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
  const byChannel = {} as Record<Channel, ChannelCounts>;
  for (const channel of CHANNELS) {
    byChannel[channel] = {
      sent: count(`channel.${channel}.sent`),
      failed: count(`channel.${channel}.failed`),
      skipped: count(`channel.${channel}.skipped`),
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
  };
}
