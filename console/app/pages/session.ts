/// <reference lib="dom" />
// One session: its Recovery Timeline (attempts with each channel's outcome, overrides, pauses, timeouts,
// resets: who, when, why), its next retries on a time axis, and the operator's actions.

import { overrideNextRetry, recoverTimedOut, retryNow, type SessionView, setPaused } from '../actions.ts';
import { ApiError, all, call, get, qs } from '../api.ts';
import { badge, h, table, time, when } from '../dom.ts';
import type { Page } from '../main.ts';
import { type Planned, type QuietHours, scheduleAxis } from '../schedule.ts';
import { messageArea, READ_ONLY } from '../ui.ts';

type Event = Record<string, unknown> & { at: string; type: string };

interface Policy {
  policyId: string;
  name: string;
  quietHours?: QuietHours;
  maxRetries: number;
}

const s = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

function who(e: Event): HTMLElement | null {
  if (!e.triggeredBy && !e.reason) return null;
  return h(
    'p',
    { class: 'who' },
    e.triggeredBy ? ['by ', h('strong', {}, s(e.triggeredBy))] : null,
    e.reason ? [' — why: “', s(e.reason), '”'] : null,
  );
}

/** The product event (#14) a change came from: its source, type and id. */
function eventSource(e: Event): Node[] {
  const ev = e.event as { source?: string; type?: string; id?: string } | undefined;
  if (!ev || typeof ev !== 'object') return [];
  return [h('span', { class: 'hint' }, ` from ${s(ev.source)} ${s(ev.type)} `, h('code', {}, s(ev.id)))];
}

function describe(e: Event): Node[] {
  switch (e.type) {
    case 'registered':
      return [h('span', {}, 'registered as ', badge(s(e.status))), ...eventSource(e)];
    case 'status_changed':
      return [
        h('span', {}, 'status ', badge(s(e.from)), ' → ', badge(s(e.to))),
        // "recovered after attempt 2 (email) — 49.00 USD" (#14)
        ...(e.summary ? [h('strong', { class: 'attribution' }, ` ${s(e.summary)}`)] : []),
        ...eventSource(e),
      ];
    case 'event_applied':
      return [h('span', {}, 'product event applied'), ...eventSource(e)];
    case 'override':
      return [h('span', {}, `next retry overridden to ${when(s(e.overrideNextRetryAt) || null)}`)];
    case 'paused':
      return [h('span', {}, 'automation paused')];
    case 'resumed':
      return [h('span', {}, 'automation resumed')];
    case 'timed_out':
      return [h('span', {}, 'timed out', e.error ? `: ${s(e.error)}` : '')];
    case 'reset':
      return [h('span', {}, 'reset (stuck): timed out by an operator')];
    case 'recovered_by_operator':
      return [h('span', {}, 'recovered by an operator: processing again with a new deadline')];
    default: {
      const { at: _a, type: _t, sessionId: _s, ...rest } = e;
      return [h('span', {}, e.type, ' ', h('code', {}, JSON.stringify(rest)))];
    }
  }
}

function attemptItem(e: Event, outcomes: readonly Event[]): HTMLElement {
  const channels = Array.isArray(e.channels) ? (e.channels as string[]) : [];
  const byChannel = new Map(outcomes.map((o) => [s(o.channel), o]));
  return h(
    'li',
    { class: 'attempt', 'data-attempt': s(e.attemptId) },
    h(
      'div',
      { class: 'event-head' },
      time(e.at),
      h('strong', {}, ` Attempt ${s(e.number)}${e.maxRetries ? ` of ${s(e.maxRetries)}` : ''}`),
      ' ',
      badge(s(e.state)),
      e.final ? ' (last)' : '',
    ),
    who(e),
    table(
      ['channel', 'outcome', 'provider', 'message id', 'error / reason', 'updated'],
      channels.map((c) => {
        const o = byChannel.get(c);
        return [
          c,
          o ? badge(s(o.status)) : h('span', { class: 'muted' }, 'waiting'),
          s(o?.provider) || '—',
          o?.providerMessageId ? h('code', {}, s(o.providerMessageId)) : '—',
          s(o?.error) || s(o?.reason) || '—',
          o ? time(s(o.updatedAt) || o.at) : '—',
        ];
      }),
      `Attempt ${s(e.number)}: one outcome per channel`,
    ),
  );
}

export const sessionPage: Page = {
  title: 'Session',
  refreshSeconds: 5,
  async render(ctx) {
    const sessionId = ctx.path[1] ?? '';
    const enc = encodeURIComponent(sessionId);
    const messages = messageArea('session-messages');
    const [res, events] = await Promise.all([
      call<SessionView>('GET', `/sessions/${enc}`),
      all<Event>(`/sessions/${enc}/timeline`),
    ]);
    const session = res.body;
    let policy: Policy | undefined;
    let schedule: Planned[] = [];
    let scheduleNote = '';
    try {
      policy = session.policyId
        ? await get<Policy>(`/retry/policies/${encodeURIComponent(session.policyId)}`)
        : await get<Policy>(`/retry/policies/active${qs({ orgId: session.orgId })}`);
      const preview = await get<{ schedule: Planned[]; basis: string }>(
        `/retry/policies/${encodeURIComponent(policy.policyId)}/preview${qs({ sessionId })}`,
      );
      if (preview.basis === 'session') schedule = preview.schedule;
      else
        scheduleNote =
          'The sweep will not retry this session as it is (paused, finished, out of retries or not stalled): no schedule remains.';
    } catch (error) {
      scheduleNote = `The schedule could not be read: ${error instanceof ApiError ? error.detail : String(error)}`;
    }

    const outcomes = new Map<string, Event[]>();
    for (const e of events) {
      if (e.type !== 'notification') continue;
      const list = outcomes.get(s(e.attemptId)) ?? [];
      list.push(e);
      outcomes.set(s(e.attemptId), list);
    }
    const timeline = events
      .filter((e) => e.type !== 'notification')
      .map((e) =>
        e.type === 'attempt'
          ? attemptItem(e, outcomes.get(s(e.attemptId)) ?? [])
          : h(
              'li',
              { class: `event event-${e.type}` },
              h('div', { class: 'event-head' }, time(e.at), ' ', describe(e)),
              who(e),
            ),
      );

    const paused = session.recoveryState.paused;
    const actions = READ_ONLY
      ? null
      : h(
          'div',
          { class: 'actions', role: 'group', 'aria-label': 'Session actions' },
          h(
            'button',
            { type: 'button', id: 'act-retry', onclick: () => retryNow(session, ctx, messages) },
            'Retry now',
          ),
          h(
            'button',
            { type: 'button', id: 'act-pause', onclick: () => setPaused(session, !paused, ctx, messages) },
            paused ? 'Resume automation' : 'Pause automation',
          ),
          h(
            'button',
            { type: 'button', id: 'act-override', onclick: () => overrideNextRetry(session, ctx, messages) },
            'Override next retry',
          ),
          session.status === 'timed_out'
            ? h(
                'button',
                { type: 'button', id: 'act-recover', onclick: () => recoverTimedOut(session, ctx, messages) },
                'Recover session',
              )
            : null,
        );
    const contact = session.contact ?? {};
    return h(
      'div',
      {},
      h('p', { class: 'crumbs' }, h('a', { href: '/console/sessions' }, 'Sessions'), ' / ', sessionId),
      h('h1', {}, `Session ${sessionId} `, badge(session.status), paused ? [' ', badge('paused')] : null),
      h(
        'dl',
        { class: 'kv summary' },
        h('dt', {}, 'kind'),
        h('dd', {}, session.kind),
        h('dt', {}, 'org'),
        h('dd', {}, session.orgId ?? 'default'),
        h('dt', {}, 'attempts'),
        h(
          'dd',
          {},
          `${session.retryCount}${session.maxRetries !== undefined ? ` of ${session.maxRetries}` : ''}`,
        ),
        h('dt', {}, 'next retry'),
        h('dd', {}, time(session.recoveryState.nextRetryAt)),
        h('dt', {}, 'policy'),
        h('dd', {}, policy ? `${policy.name} (${policy.policyId})` : (session.policyId ?? '—')),
        h('dt', {}, 'recipient'),
        h(
          'dd',
          {},
          [contact.name, contact.email, contact.phone, contact.timezone].filter(Boolean).join(' · ') || '—',
        ),
        session.deadlineAt ? [h('dt', {}, 'deadline'), h('dd', {}, time(session.deadlineAt))] : null,
        session.error ? [h('dt', {}, 'error'), h('dd', {}, session.error)] : null,
        h('dt', {}, 'version (ETag)'),
        h('dd', {}, String(session.version)),
      ),
      actions,
      messages.el,
      h(
        'section',
        { 'aria-labelledby': 'h-schedule' },
        h('h2', { id: 'h-schedule' }, 'Next retries'),
        schedule.length
          ? [
              scheduleAxis({
                schedule,
                quietHours: policy?.quietHours,
                timeZone: contact.timezone ?? policy?.quietHours?.timezone ?? 'UTC',
              }),
              table(
                ['attempt', 'at', 'delay', 'channels'],
                schedule.map((p) => [
                  `#${p.attempt}`,
                  time(p.at),
                  `${p.delaySeconds} s`,
                  p.channels.join(', '),
                ]),
                'Remaining schedule (policy preview)',
              ),
            ]
          : h('p', {}, scheduleNote || 'No retry is planned.'),
      ),
      h(
        'section',
        { 'aria-labelledby': 'h-timeline' },
        h('h2', { id: 'h-timeline' }, 'Recovery Timeline'),
        h('ol', { class: 'timeline' }, timeline),
      ),
    );
  },
};
