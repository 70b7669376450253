/// <reference lib="dom" />
// Overview: readiness (every component the API reports, whatever its name), jobs, dead-letter depths,
// session health, and attempts and outcomes per channel over time from the counters.
import { get, qs } from '../api.ts';
import { barChart } from '../chart.ts';
import { badge, field, h, table, time } from '../dom.ts';
import type { Page } from '../main.ts';
import { details } from '../ui.ts';

interface Ready {
  status: string;
  components: Record<string, Record<string, unknown> & { status: string }>;
}
export interface JobState {
  name: string;
  paused: boolean;
  pausedBy: string | null;
  pausedAt: string | null;
  pauseReason: string | null;
  lastHeartbeatAt: string | null;
  lastSuccessAt: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  heartbeatTtlSeconds: number;
  heartbeatAgeSeconds: number | null;
}
interface Dlq {
  channels: Array<{ channel: string; depth: number | null; inFlight?: number | null }>;
}
interface Health {
  status: string;
  metrics: Record<string, number | null>;
  measured?: { at: string | null; ageSeconds?: number | null; maxAgeSeconds?: number };
  thresholds: Record<string, number>;
}
interface Series {
  buckets: Array<{
    start: string;
    attempts: number;
    recovered: number;
    exhausted: number;
    byChannel: Record<string, { sent: number; failed: number; skipped: number }>;
  }>;
}

/** GET /v1/retry/stats: what was recovered, credited to which channel and which attempt (#14). */
interface Stats {
  from: string;
  to: string;
  recovered: number;
  recoveredAmount: Record<string, number>;
  byChannel: Record<string, { sent: number; recovered: number; recoveredAmount: Record<string, number> }>;
  byAttempt: Record<string, { recovered: number; recoveredAmount: Record<string, number> }>;
  events: Record<string, number>;
}

/** `{ USD: 4900, EUR: 1250 }` (minor units) → "$49.00 · €12.50"; "—" for none. */
export function money(amounts: Record<string, number>): string {
  const parts = Object.entries(amounts)
    .filter(([, v]) => v)
    .map(([currency, minor]) => {
      try {
        const format = new Intl.NumberFormat('en', { style: 'currency', currency });
        const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
        return format.format(minor / 10 ** digits);
      } catch {
        return `${minor} ${currency} (minor units)`;
      }
    });
  return parts.length ? parts.join(' · ') : '—';
}

function revenueSection(stats: Stats): HTMLElement {
  const channels = Object.entries(stats.byChannel).filter(([, c]) => c.recovered || c.sent);
  const attempts = Object.entries(stats.byAttempt).sort(([a], [b]) => Number(a) - Number(b));
  return h(
    'section',
    { 'aria-labelledby': 'h-revenue' },
    h('h2', { id: 'h-revenue' }, 'Recovered revenue'),
    h(
      'p',
      { class: 'hint' },
      `${stats.recovered} recovered, ${money(stats.recoveredAmount)}, ${stats.from} to ${stats.to}. A recovery is credited to the latest attempt with a notification sent or delivered before it, and to each such channel (one recovery can count for two channels).`,
    ),
    h(
      'div',
      { class: 'two' },
      table(
        ['channel', 'sent', 'recovered', 'amount'],
        channels.map(([channel, c]) => [
          channel,
          String(c.sent),
          String(c.recovered),
          money(c.recoveredAmount),
        ]),
        'Recovered by channel',
      ),
      table(
        ['attempt', 'recovered', 'amount'],
        attempts.map(([n, a]) => [
          n === '0' ? 'none before it' : `attempt ${n}`,
          String(a.recovered),
          money(a.recoveredAmount),
        ]),
        'Recovered by attempt',
      ),
    ),
    h(
      'p',
      { class: 'hint' },
      `Product events: ${['applied', 'duplicate', 'stale', 'ignored', 'rejected'].map((k) => `${stats.events[k] ?? 0} ${k}`).join(', ')}.`,
    ),
  );
}

export function jobsTable(jobs: readonly JobState[]): HTMLElement {
  return table(
    ['job', 'state', 'heartbeat age', 'last success', 'consecutive failures', 'last error'],
    jobs.map((j) => [
      h('strong', {}, j.name),
      j.paused
        ? h(
            'span',
            {},
            badge('paused'),
            ` by ${j.pausedBy ?? '?'}${j.pauseReason ? `: “${j.pauseReason}”` : ''}`,
          )
        : badge('running'),
      j.heartbeatAgeSeconds === null
        ? 'never'
        : h(
            'span',
            { class: j.heartbeatAgeSeconds > j.heartbeatTtlSeconds ? 'bad' : '' },
            `${j.heartbeatAgeSeconds} s (limit ${j.heartbeatTtlSeconds} s)`,
          ),
      time(j.lastSuccessAt),
      h('span', { class: j.consecutiveFailures ? 'bad' : '' }, String(j.consecutiveFailures)),
      j.lastError ?? '—',
    ]),
    'Scheduled jobs',
  );
}

/** The monitor's count, or what there is instead: never a 0 that nobody measured. */
function monitorCount(health: Health, count: number | null | undefined): string {
  if (!health.measured?.at || count === null || count === undefined) return 'not measured yet';
  return health.status === 'unknown' ? `${count} (out of date)` : String(count);
}

function measuredAt(health: Health): HTMLElement {
  if (!health.measured?.at) return h('span', { class: 'bad' }, 'not measured yet');
  const at = time(health.measured.at);
  return health.status === 'unknown'
    ? h(
        'span',
        { class: 'bad' },
        at,
        ` — older than ${Math.round((health.measured.maxAgeSeconds ?? 0) / 60)} min`,
      )
    : at;
}

export const overviewPage: Page = {
  title: 'Overview',
  refreshSeconds: 15,
  async render(ctx) {
    const granularity = ctx.params.get('granularity') === 'day' ? 'day' : 'hour';
    const org = ctx.params.get('org') ?? '';
    const [ready, jobs, dlq, health, series, stats] = await Promise.all([
      get<Ready>('/health/readyz'),
      get<{ jobs: JobState[] }>('/admin/jobs/status'),
      get<Dlq>('/admin/dlq'),
      get<Health>('/health/sessions'),
      get<Series>(`/retry/stats/series${qs({ granularity, orgId: org })}`),
      get<Stats>(`/retry/stats${qs({ orgId: org })}`),
    ]);
    const labels = series.buckets.map((b) =>
      granularity === 'hour' ? `${b.start.slice(11, 13)}h` : b.start.slice(5, 10),
    );
    const channels = Object.keys(series.buckets[0]?.byChannel ?? {});
    const orgInput = h('input', {
      id: 'overview-org',
      value: org,
      placeholder: 'default',
      'data-from-url': 'true',
    });
    const select = h(
      'select',
      { id: 'overview-granularity' },
      h(
        'option',
        { value: 'hour', ...(granularity === 'hour' ? { selected: true } : {}) },
        'per hour (last 24 h)',
      ),
      h(
        'option',
        { value: 'day', ...(granularity === 'day' ? { selected: true } : {}) },
        'per day (last 14 days)',
      ),
    );
    const form = h(
      'form',
      {
        class: 'filters',
        onsubmit: (e: Event) => {
          e.preventDefault();
          ctx.setParams({
            org: orgInput.value.trim(),
            granularity: select.value === 'day' ? 'day' : undefined,
          });
        },
      },
      field('Org', orgInput),
      field('Buckets', select),
      h('button', { type: 'submit' }, 'Show'),
    );
    return h(
      'div',
      {},
      h('h1', {}, 'Overview'),
      h(
        'section',
        { 'aria-labelledby': 'h-ready' },
        h('h2', { id: 'h-ready' }, 'Readiness ', badge(ready.status)),
        h(
          'div',
          { class: 'cards' },
          Object.entries(ready.components).map(([name, c]) => {
            const { status, ...rest } = c;
            return h('article', { class: 'card' }, h('h3', {}, name, ' ', badge(status)), details(rest));
          }),
        ),
      ),
      h('section', { 'aria-labelledby': 'h-jobs' }, h('h2', { id: 'h-jobs' }, 'Jobs'), jobsTable(jobs.jobs)),
      h(
        'div',
        { class: 'two' },
        h(
          'section',
          { 'aria-labelledby': 'h-dlq' },
          h('h2', { id: 'h-dlq' }, 'Dead letters'),
          table(
            ['channel', 'DLQ depth'],
            dlq.channels.map((c) => [
              h('a', { href: `/console/dlq${qs({ channel: c.channel })}` }, c.channel),
              h('span', { class: c.depth ? 'bad' : '' }, c.depth === null ? 'unknown' : String(c.depth)),
            ]),
          ),
        ),
        h(
          'section',
          { 'aria-labelledby': 'h-health' },
          h('h2', { id: 'h-health' }, 'Session health ', badge(health.status)),
          table(
            ['measure', 'now'],
            [
              ['processing', String(health.metrics.processingSessions ?? 0)],
              ['running long', monitorCount(health, health.metrics.longRunningSessions)],
              [
                'stuck (past deadline)',
                h('a', { href: '/console/stuck' }, monitorCount(health, health.metrics.stuckSessions)),
              ],
              ['all sessions', String(health.metrics.totalSessions ?? 0)],
              ['counted by the timeout monitor', measuredAt(health)],
            ],
          ),
          h(
            'p',
            { class: 'hint' },
            `Running long after ${health.thresholds.warningMinutes} min; alert above ${health.thresholds.maxLongRunning}.`,
          ),
        ),
      ),
      revenueSection(stats),
      h(
        'section',
        { 'aria-labelledby': 'h-charts' },
        h('h2', { id: 'h-charts' }, 'Attempts and outcomes over time'),
        form,
        h(
          'div',
          { class: 'charts' },
          barChart({
            title: `Attempts ${granularity === 'hour' ? 'per hour' : 'per day'}`,
            labels,
            series: [
              { name: 'attempts', className: 's-attempts', values: series.buckets.map((b) => b.attempts) },
              { name: 'recovered', className: 's-sent', values: series.buckets.map((b) => b.recovered) },
              { name: 'exhausted', className: 's-failed', values: series.buckets.map((b) => b.exhausted) },
            ],
          }),
          channels.map((channel) =>
            barChart({
              title: `${channel} outcomes`,
              labels,
              series: (['sent', 'failed', 'skipped'] as const).map((k) => ({
                name: k,
                className: `s-${k}`,
                values: series.buckets.map((b) => b.byChannel[channel]?.[k] ?? 0),
              })),
            }),
          ),
        ),
      ),
    );
  },
};
