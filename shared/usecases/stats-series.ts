// Counters over time for the console's charts (GET /v1/retry/stats/series): one bucket per hour or per
// day, each read from its own counter partition (a Query of a few items), never a scan. Hourly buckets
// exist for the last 8 days (their TTL), daily ones as long as the daily counters.
import type { AppContext } from '../context.ts';
import { DomainError } from '../domain/errors.ts';
import { DEFAULT_ORG } from '../domain/org.ts';
import { CHANNELS, type Channel } from '../infra/resources.ts';
import { dailyStatsPk, hourlyStatsPk, readStatsPartition } from '../repositories/stats.ts';
import type { ChannelCounts } from './stats.ts';

export type Granularity = 'hour' | 'day';

export interface SeriesBucket {
  start: string;
  sessions: number;
  attempts: number;
  recovered: number;
  exhausted: number;
  byChannel: Record<Channel, ChannelCounts>;
}

export interface StatsSeries {
  orgId: string;
  granularity: Granularity;
  from: string;
  to: string;
  buckets: SeriesBucket[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Buckets per request at most: a week of hours, a quarter of days. */
const MAX_BUCKETS: Record<Granularity, number> = { hour: 168, day: 92 };
const DEFAULT_BUCKETS: Record<Granularity, number> = { hour: 24, day: 14 };
/** Partitions read at once. */
const CONCURRENCY = 8;

function floorTo(t: number, granularity: Granularity): number {
  const step = granularity === 'hour' ? HOUR_MS : DAY_MS;
  return Math.floor(t / step) * step;
}

export async function getStatsSeries(
  ctx: AppContext,
  input: { granularity?: Granularity; from?: string; to?: string; orgId?: string },
): Promise<StatsSeries> {
  const granularity = input.granularity ?? 'hour';
  const step = granularity === 'hour' ? HOUR_MS : DAY_MS;
  const to = floorTo(input.to ? Date.parse(input.to) : ctx.clock().getTime(), granularity);
  const from = floorTo(
    input.from ? Date.parse(input.from) : to - (DEFAULT_BUCKETS[granularity] - 1) * step,
    granularity,
  );
  if (from > to) throw new DomainError('validation', 'from must not be after to');
  const count = (to - from) / step + 1;
  if (count > MAX_BUCKETS[granularity]) {
    throw new DomainError(
      'validation',
      `at most ${MAX_BUCKETS[granularity]} ${granularity} buckets at once (asked for ${count})`,
    );
  }
  const orgId = input.orgId ?? DEFAULT_ORG;
  const starts = Array.from({ length: count }, (_, i) => new Date(from + i * step));
  const buckets: SeriesBucket[] = new Array(count);
  for (let i = 0; i < starts.length; i += CONCURRENCY) {
    await Promise.all(
      starts.slice(i, i + CONCURRENCY).map(async (start, j) => {
        const pk = granularity === 'hour' ? hourlyStatsPk(orgId, start) : dailyStatsPk(orgId, start);
        const totals = await readStatsPartition(ctx, pk);
        const n = (key: string) => totals[key] ?? 0;
        const byChannel = {} as Record<Channel, ChannelCounts>;
        for (const c of CHANNELS) {
          byChannel[c] = {
            sent: n(`channel.${c}.sent`),
            failed: n(`channel.${c}.failed`),
            skipped: n(`channel.${c}.skipped`),
          };
        }
        buckets[i + j] = {
          start: start.toISOString(),
          sessions: n('sessions'),
          attempts: n('attempts'),
          recovered: n('recovered'),
          exhausted: n('exhausted'),
          byChannel,
        };
      }),
    );
  }
  return {
    orgId,
    granularity,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    buckets,
  };
}
