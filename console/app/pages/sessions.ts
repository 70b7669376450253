/// <reference lib="dom" />
// Sessions: filter by status, kind and org; find one by id or by its customer's email or phone; sort by
// next retry. Every filter is in the URL.

import { retryNow, type SessionView } from '../actions.ts';
import { ApiError, get, qs } from '../api.ts';
import { badge, field, h, table, time } from '../dom.ts';
import type { Page } from '../main.ts';
import { messageArea, READ_ONLY } from '../ui.ts';

const STATUSES = [
  'stalled',
  'recovering',
  'recovered',
  'exhausted',
  'cancelled',
  'active',
  'processing',
  'completed',
  'failed',
  'timed_out',
];

export const sessionsPage: Page = {
  title: 'Sessions',
  refreshSeconds: 15,
  async render(ctx) {
    const p = ctx.params;
    const filters = {
      status: p.get('status') ?? '',
      kind: p.get('kind') ?? '',
      org: p.get('org') ?? '',
      recipient: p.get('recipient') ?? '',
      sort: p.get('sort') ?? 'next-retry',
    };
    const messages = messageArea('sessions-messages');
    // A refused search (a recipient that is neither an email nor a phone) is shown next to the form, which
    // stays, so the operator can correct it.
    let page: { items: SessionView[]; nextCursor: string | null } = { items: [], nextCursor: null };
    let refused: unknown;
    try {
      page = await get(
        `/sessions${qs({ status: filters.status, kind: filters.kind, orgId: filters.org, recipient: filters.recipient, limit: 100, cursor: p.get('cursor') })}`,
      );
    } catch (error) {
      refused = error;
    }
    if (refused) messages.fail(refused);
    const items = [...page.items];
    if (filters.sort === 'next-retry') {
      // Soonest first; sessions with no next retry after them.
      items.sort((a, b) =>
        (a.recoveryState.nextRetryAt ?? '~').localeCompare(b.recoveryState.nextRetryAt ?? '~'),
      );
    }

    const status = h(
      'select',
      { id: 'filter-status' },
      h('option', { value: '' }, 'any'),
      STATUSES.map((s) => h('option', { value: s, ...(s === filters.status ? { selected: true } : {}) }, s)),
    );
    const kind = h('input', { id: 'filter-kind', value: filters.kind, 'data-from-url': 'true' });
    const org = h('input', { id: 'filter-org', value: filters.org, 'data-from-url': 'true' });
    const recipient = h('input', {
      id: 'filter-recipient',
      type: 'search',
      value: filters.recipient,
      placeholder: 'ada@example.com or +14155550101',
      'data-from-url': 'true',
    });
    const sort = h(
      'select',
      { id: 'filter-sort' },
      h(
        'option',
        { value: 'next-retry', ...(filters.sort === 'next-retry' ? { selected: true } : {}) },
        'next retry, soonest first',
      ),
      h(
        'option',
        { value: 'updated', ...(filters.sort === 'updated' ? { selected: true } : {}) },
        'last update (by status)',
      ),
    );
    const idInput = h('input', { id: 'find-id', placeholder: 'demo-checkout-1' });
    const findById = h(
      'form',
      {
        class: 'filters',
        role: 'search',
        'aria-label': 'Find a session by id',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const value = idInput.value.trim();
          if (!value) return messages.fail(new ApiError(400, 'Bad Request', 'type a session id', []));
          get(`/sessions/${encodeURIComponent(value)}`)
            .then(() => ctx.navigate(`/console/sessions/${encodeURIComponent(value)}`))
            .catch((error: unknown) => messages.fail(error));
        },
      },
      field('Session id', idInput),
      h('button', { type: 'submit' }, 'Open session'),
    );
    const filterForm = h(
      'form',
      {
        class: 'filters',
        role: 'search',
        'aria-label': 'Filter sessions',
        onsubmit: (e: Event) => {
          e.preventDefault();
          ctx.setParams({
            status: status.value,
            kind: kind.value.trim(),
            org: org.value.trim(),
            recipient: recipient.value.trim(),
            sort: sort.value === 'next-retry' ? undefined : sort.value,
            cursor: undefined,
          });
        },
      },
      field(
        'Recipient (email or phone)',
        recipient,
        'a phone finds the sessions that have no email: each is indexed by one address',
      ),
      field('Status', status),
      field('Kind', kind),
      field('Org', org),
      field('Sort by', sort),
      h('button', { type: 'submit' }, 'Search'),
    );
    const rows = items.map((s) => [
      h('a', { href: `/console/sessions/${encodeURIComponent(s.sessionId)}` }, s.sessionId),
      s.kind,
      s.orgId ?? 'default',
      h('span', {}, badge(s.status), s.recoveryState.paused ? [' ', badge('paused')] : null),
      `${s.retryCount}${s.maxRetries !== undefined ? ` / ${s.maxRetries}` : ''}`,
      time(s.recoveryState.nextRetryAt),
      s.contact?.email ?? s.contact?.phone ?? '—',
      READ_ONLY
        ? null
        : h(
            'button',
            {
              type: 'button',
              id: `retry-${s.sessionId}`,
              'aria-label': `Retry now ${s.sessionId}`,
              onclick: () => retryNow(s, ctx, messages),
            },
            'Retry now',
          ),
    ]);
    return h(
      'div',
      {},
      h('h1', {}, 'Sessions'),
      findById,
      filterForm,
      messages.el,
      items.length
        ? table(
            [
              'session',
              'kind',
              'org',
              'status',
              'attempts',
              'next retry',
              'recipient',
              ...(READ_ONLY ? [] : ['actions']),
            ],
            rows.map((r) => r.filter((c) => c !== null)),
            `${items.length} session(s)${filters.recipient ? ` for ${filters.recipient}` : ''}`,
          )
        : refused
          ? null
          : h(
              'p',
              { role: 'status' },
              filters.recipient
                ? `No session has the recipient ${filters.recipient}.`
                : 'No session matches.',
            ),
      page.nextCursor
        ? h(
            'p',
            {},
            h(
              'a',
              { href: `/console/sessions${qs({ ...Object.fromEntries(p), cursor: page.nextCursor })}` },
              'Next page',
            ),
          )
        : null,
    );
  },
};
