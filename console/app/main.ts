/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The operator console: a page per view, chosen by the URL, which also holds every filter so a view can be
// shared. Each page is rendered from the API; a refresh every few seconds shows "updated N s ago" and can
// be paused. No framework: see the README for why.
import './style.css';
import { h, replace } from './dom.ts';
import { dlqPage } from './pages/dlq.ts';
import { jobsPage } from './pages/jobs.ts';
import { overviewPage } from './pages/overview.ts';
import { policiesPage } from './pages/policies.ts';
import { sessionPage } from './pages/session.ts';
import { sessionsPage } from './pages/sessions.ts';
import { stuckPage } from './pages/stuck.ts';
import { clearMessages, dialogOpen, explain, READ_ONLY, TARGET } from './ui.ts';

export interface PageContext {
  readonly path: readonly string[];
  readonly params: URLSearchParams;
  /** Go to another view (pushes history). */
  navigate(url: string): void;
  /** Change this view's filters in the URL (replaces nothing else) and render again. */
  setParams(params: Record<string, string | undefined>): void;
  /** Render again now (after an action). */
  refresh(): Promise<void>;
  /** Refresh every second for a while (an action whose effects arrive within seconds). */
  watch(seconds: number): void;
}

export interface Page {
  readonly title: string;
  /** Automatic refresh period; 0: none. */
  readonly refreshSeconds: number;
  render(ctx: PageContext): Promise<Node>;
}

const NAV: ReadonlyArray<readonly [string, string]> = [
  ['/console', 'Overview'],
  ['/console/sessions', 'Sessions'],
  ['/console/jobs', 'Jobs and runs'],
  ['/console/dlq', 'Dead letters'],
  ['/console/stuck', 'Stuck sessions'],
  ['/console/policies', 'Policies'],
];

function pageFor(path: readonly string[]): Page {
  switch (path[0]) {
    case undefined:
    case '':
      return overviewPage;
    case 'sessions':
      return path[1] ? sessionPage : sessionsPage;
    case 'jobs':
      return jobsPage;
    case 'dlq':
      return dlqPage;
    case 'stuck':
      return stuckPage;
    case 'policies':
      return policiesPage;
    default:
      return {
        title: 'Not found',
        refreshSeconds: 0,
        render: async () => h('p', {}, 'There is no such page. Pick one above.'),
      };
  }
}

const main = h('main', { id: 'main', tabindex: -1 });
const updated = h('span', { class: 'updated', 'aria-live': 'off' });
const pauseButton = h(
  'button',
  { type: 'button', id: 'pause-refresh', 'aria-pressed': 'false' },
  'Pause refresh',
);
const refreshButton = h('button', { type: 'button', id: 'refresh-now' }, 'Refresh now');
const nav = h('nav', { 'aria-label': 'Console pages' });

let paused = false;
let lastUpdate = 0;
let watchUntil = 0;
let rendering: Promise<void> | undefined;
let renderSeq = 0;

function currentPath(): string[] {
  return location.pathname
    .replace(/^\/console\/?/, '')
    .split('/')
    .filter(Boolean)
    .map(decodeURIComponent);
}

function drawNav(): void {
  const here = `/console${currentPath()[0] ? `/${currentPath()[0]}` : ''}`;
  replace(
    nav,
    h(
      'ul',
      {},
      NAV.map(([href, label]) =>
        h('li', {}, h('a', { href, ...(href === here ? { 'aria-current': 'page' } : {}) }, label)),
      ),
    ),
  );
}

/** Keep what the operator was doing across a re-render: focus and typed values, by element id. */
function snapshot(): { focus?: string; values: Map<string, string> } {
  const values = new Map<string, string>();
  for (const el of main.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input[id], textarea[id]')) {
    if (el.type !== 'checkbox' && el.type !== 'radio') values.set(el.id, el.value);
  }
  const active = document.activeElement;
  return { focus: active && main.contains(active) && active.id ? active.id : undefined, values };
}

function restore(state: { focus?: string; values: Map<string, string> }): void {
  for (const [id, value] of state.values) {
    const el = document.getElementById(id) as HTMLInputElement | null;
    if (el && main.contains(el) && el.value !== value && el.dataset.fromUrl !== 'true') el.value = value;
  }
  if (state.focus) document.getElementById(state.focus)?.focus();
}

async function render(initial: boolean): Promise<void> {
  const seq = ++renderSeq;
  const path = currentPath();
  const page = pageFor(path);
  const ctx: PageContext = {
    path,
    params: new URLSearchParams(location.search),
    navigate,
    setParams(params) {
      const next = new URLSearchParams(location.search);
      for (const [k, v] of Object.entries(params)) {
        if (v === undefined || v === '') next.delete(k);
        else next.set(k, v);
      }
      const q = next.toString();
      history.pushState(null, '', `${location.pathname}${q ? `?${q}` : ''}`);
      void render(true);
    },
    refresh: () => render(false),
    watch(seconds) {
      watchUntil = Date.now() + seconds * 1000;
    },
  };
  document.title = `${page.title} · session-recovery console`;
  if (initial) {
    drawNav();
    replace(main, h('h1', {}, page.title), h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  }
  const state = snapshot();
  let content: Node;
  try {
    content = await page.render(ctx);
  } catch (error) {
    content = h('div', { class: 'msg msg-error', role: 'alert' }, explain(error));
  }
  if (seq !== renderSeq) return;
  replace(main, content);
  if (!initial) restore(state);
  lastUpdate = Date.now();
  pauseButton.hidden = page.refreshSeconds === 0;
  tick();
}

function navigate(url: string): void {
  history.pushState(null, '', url);
  clearMessages();
  watchUntil = 0;
  void render(true).then(() => main.focus());
}

function tick(): void {
  const page = pageFor(currentPath());
  const age = Math.round((Date.now() - lastUpdate) / 1000);
  updated.textContent = lastUpdate
    ? `updated ${age} s ago${paused ? ' (refresh paused)' : page.refreshSeconds ? `, every ${page.refreshSeconds} s` : ''}`
    : '';
  const due = Date.now() < watchUntil ? 1 : page.refreshSeconds;
  if (!paused && due && age >= due && !dialogOpen() && !rendering) {
    rendering = render(false).finally(() => {
      rendering = undefined;
    });
  }
}

pauseButton.addEventListener('click', () => {
  paused = !paused;
  pauseButton.setAttribute('aria-pressed', String(paused));
  pauseButton.textContent = paused ? 'Resume refresh' : 'Pause refresh';
  tick();
});
refreshButton.addEventListener('click', () => void render(false));

document.addEventListener('click', (event) => {
  const a = (event.target as Element | null)?.closest?.('a');
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
    return;
  const href = a.getAttribute('href');
  if (!href?.startsWith('/console')) return;
  event.preventDefault();
  navigate(href);
});
window.addEventListener('popstate', () => {
  clearMessages();
  void render(true);
});

document.body.append(
  h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
  h(
    'header',
    {},
    h('div', { class: 'brand' }, 'session-recovery', h('span', {}, ' console')),
    nav,
    h(
      'div',
      { class: 'toolbar' },
      h('span', { class: 'target' }, TARGET, READ_ONLY ? ' · read only' : ''),
      updated,
      refreshButton,
      pauseButton,
    ),
  ),
  main,
);
window.setInterval(tick, 1000);
void render(true);
