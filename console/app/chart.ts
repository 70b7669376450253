/// <reference lib="dom" />
// Small SVG bar charts (stacked per bucket), drawn with attributes only (the CSP allows no inline style),
// each with a text alternative: a label for the whole chart, a title per bar, and the numbers as a table.
import { h, svg } from './dom.ts';

export interface Series {
  readonly name: string;
  /** A CSS class (colour) from style.css. */
  readonly className: string;
  readonly values: readonly number[];
}

export function barChart(options: {
  title: string;
  labels: readonly string[];
  series: readonly Series[];
}): HTMLElement {
  const { labels, series } = options;
  const width = 400;
  const height = 140;
  const pad = { left: 30, right: 6, top: 8, bottom: 20 };
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const slot = (width - pad.left - pad.right) / Math.max(1, labels.length);
  const bar = Math.max(1, slot * 0.7);
  const y = (v: number) => pad.top + (height - pad.top - pad.bottom) * (1 - v / max);
  const grand = totals.reduce((a, b) => a + b, 0);
  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `${options.title}: ${grand} in total`,
      class: 'chart',
    },
    svg('line', { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), class: 'axis' }),
    svg('text', { x: pad.left - 4, y: y(max) + 4, 'text-anchor': 'end', class: 'tick' }, String(max)),
    svg('text', { x: pad.left - 4, y: y(0), 'text-anchor': 'end', class: 'tick' }, '0'),
    labels.map((label, i) => {
      let base = 0;
      const x = pad.left + i * slot + (slot - bar) / 2;
      const parts = series.map((s) => {
        const v = s.values[i] ?? 0;
        const rect = svg(
          'rect',
          { x, width: bar, y: y(base + v), height: Math.max(0, y(base) - y(base + v)), class: s.className },
          svg('title', {}, `${label}: ${s.name} ${v}`),
        );
        base += v;
        return v ? rect : null;
      });
      const every = Math.ceil(labels.length / 6);
      return [
        parts,
        i % every === 0
          ? svg('text', { x: x + bar / 2, y: height - 6, 'text-anchor': 'middle', class: 'tick' }, label)
          : null,
      ];
    }),
  );
  return h(
    'figure',
    { class: 'chart-figure' },
    h('figcaption', {}, options.title),
    chart,
    h(
      'ul',
      { class: 'legend' },
      series.map((s) =>
        h('li', {}, h('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }), s.name),
      ),
    ),
    h(
      'details',
      {},
      h('summary', {}, `${options.title} as a table`),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'bucket'),
            series.map((s) => h('th', { scope: 'col' }, s.name)),
          ),
        ),
        h(
          'tbody',
          {},
          labels.map((label, i) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, label),
              series.map((s) => h('td', {}, String(s.values[i] ?? 0))),
            ),
          ),
        ),
      ),
    ),
  );
}
