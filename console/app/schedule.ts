/// <reference lib="dom" />
// The remaining schedule of a session on a time axis: now, each planned attempt, and the policy's quiet
// hours shaded (in the recipient's time zone when the contact names one, as the sweep computes them).
import { h, svg, when } from './dom.ts';

export interface Planned {
  attempt: number;
  at: string;
  delaySeconds: number;
  channels: string[];
}

export interface QuietHours {
  start: string;
  end: string;
  timezone?: string;
}

/** Minutes the zone is ahead of UTC at `date`. */
function offsetMinutes(timeZone: string, date: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(date);
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return (
    (Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - date.getTime()) /
    60_000
  );
}

/** The UTC instant of a wall-clock time in a zone (two passes settle DST edges). */
function zonedToUtc(timeZone: string, y: number, m: number, d: number, hh: number, mm: number): number {
  const naive = Date.UTC(y, m, d, hh, mm);
  let t = naive - offsetMinutes(timeZone, new Date(naive)) * 60_000;
  t = naive - offsetMinutes(timeZone, new Date(t)) * 60_000;
  return t;
}

/** Quiet windows (UTC ms) that overlap [from, to]. */
function quietWindows(q: QuietHours, timeZone: string, from: number, to: number): Array<[number, number]> {
  const [sh, sm] = q.start.split(':').map(Number) as [number, number];
  const [eh, em] = q.end.split(':').map(Number) as [number, number];
  const out: Array<[number, number]> = [];
  for (let t = from - 86_400_000; t <= to + 86_400_000 && out.length < 400; t += 86_400_000) {
    const local = new Date(t + offsetMinutes(timeZone, new Date(t)) * 60_000);
    const [y, m, d] = [local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()];
    const start = zonedToUtc(timeZone, y, m, d, sh, sm);
    let end = zonedToUtc(timeZone, y, m, d, eh, em);
    if (end <= start) end = zonedToUtc(timeZone, y, m, d + 1, eh, em);
    if (end > from && start < to) out.push([Math.max(start, from), Math.min(end, to)]);
  }
  return out;
}

export function scheduleAxis(options: {
  schedule: readonly Planned[];
  quietHours?: QuietHours;
  timeZone: string;
  now?: number;
}): HTMLElement {
  const now = options.now ?? Date.now();
  const times = options.schedule.map((p) => Date.parse(p.at));
  const from = Math.min(now, ...times);
  const to = Math.max(now + 60_000, ...times);
  const span = to - from;
  const pad = span * 0.05;
  const [lo, hi] = [from - pad, to + pad];
  const width = 640;
  const height = 74;
  const x = (t: number) => 10 + ((t - lo) / (hi - lo)) * (width - 20);
  const quiet = options.quietHours ? quietWindows(options.quietHours, options.timeZone, lo, hi) : [];
  const label = `Remaining schedule from ${when(new Date(from).toISOString())} to ${when(new Date(to).toISOString())}: ${options.schedule.length} attempt(s)${quiet.length ? `, quiet hours ${options.quietHours?.start}–${options.quietHours?.end} ${options.timeZone} shaded` : ''}`;
  return h(
    'figure',
    { class: 'chart-figure' },
    h('figcaption', {}, 'Next retries on a time axis'),
    svg(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: 'chart axis-chart' },
      quiet.map(([a, b]) =>
        svg(
          'rect',
          { x: x(a), y: 4, width: Math.max(1, x(b) - x(a)), height: 40, class: 'quiet' },
          svg(
            'title',
            {},
            `quiet hours ${when(new Date(a).toISOString())} – ${when(new Date(b).toISOString())}`,
          ),
        ),
      ),
      svg('line', { x1: 10, x2: width - 10, y1: 30, y2: 30, class: 'axis' }),
      svg(
        'text',
        { x: 10, y: 68, 'text-anchor': 'start', class: 'tick' },
        when(new Date(from).toISOString()),
      ),
      svg(
        'text',
        { x: width - 10, y: 68, 'text-anchor': 'end', class: 'tick' },
        when(new Date(to).toISOString()),
      ),
      svg('line', { x1: x(now), x2: x(now), y1: 8, y2: 44, class: 'now' }),
      svg('text', { x: x(now), y: 55, 'text-anchor': 'middle', class: 'tick' }, 'now'),
      options.schedule.map((p) =>
        svg(
          'g',
          {},
          svg('circle', { cx: x(Date.parse(p.at)), cy: 30, r: 6, class: 'planned' }),
          svg(
            'text',
            { x: x(Date.parse(p.at)), y: 18, 'text-anchor': 'middle', class: 'tick' },
            `#${p.attempt}`,
          ),
          svg('title', {}, `attempt ${p.attempt} at ${when(p.at)} → ${p.channels.join(', ')}`),
        ),
      ),
    ),
    quiet.length
      ? h(
          'p',
          { class: 'hint' },
          h('span', { class: 'swatch quiet', 'aria-hidden': 'true' }),
          ` quiet hours (${options.quietHours?.start}–${options.quietHours?.end}, ${options.timeZone}): attempts are pushed out of them`,
        )
      : null,
  );
}
