/// <reference lib="dom" />
// Dead letters: depth per channel, and a filtered replay (session id, attempt id, error text) whose dry run
// shows the matched count and a sample before a confirm; then the result.
import { call, get } from '../api.ts';
import { field, h, table } from '../dom.ts';
import type { Page } from '../main.ts';
import { messageArea, READ_ONLY } from '../ui.ts';

interface Replay {
  dryRun: boolean;
  matched: number;
  replayed: number;
  scanned: number;
  messages: Array<{ messageId: string; sessionId: string | null; attemptId: string | null }>;
}

let preview: { key: string; body: Record<string, unknown>; result: Replay } | undefined;
let done: { channel: string; result: Replay } | undefined;

/** The channel named in the URL when the API lists it (a plain name), else undefined. */
export function knownChannel(asked: string, listed: ReadonlyArray<{ channel: string }>): string | undefined {
  return /^[a-z]{1,32}$/.test(asked) && listed.some((c) => c.channel === asked) ? asked : undefined;
}

function replayPath(channel: string): string {
  return `/admin/dlq/${encodeURIComponent(channel)}/replay`;
}

export const dlqPage: Page = {
  title: 'Dead letters',
  refreshSeconds: 15,
  async render(ctx) {
    const p = ctx.params;
    const messages = messageArea('dlq-messages');
    const dlq = await get<{
      channels: Array<{ channel: string; depth: number | null; inFlight: number | null }>;
    }>('/admin/dlq');
    // The channel goes into an API path: only a channel the API lists, so a pasted link cannot turn the
    // replay buttons into another admin call (`?channel=../jobs/recovery-sweep/run?x=`).
    const asked = p.get('channel') ?? '';
    const channel = knownChannel(asked, dlq.channels) ?? '';
    const list = table(
      ['channel', 'DLQ depth', 'in flight', ...(READ_ONLY ? [] : ['replay'])],
      dlq.channels.map((c) => [
        c.channel,
        h('span', { class: c.depth ? 'bad' : '' }, c.depth === null ? 'unknown' : String(c.depth)),
        c.inFlight === null ? '—' : String(c.inFlight),
        ...(READ_ONLY
          ? []
          : [
              h(
                'a',
                {
                  href: `/console/dlq?channel=${encodeURIComponent(c.channel)}`,
                  ...(c.channel === channel ? { 'aria-current': 'true' } : {}),
                },
                `Replay ${c.channel} dead letters`,
              ),
            ]),
      ]),
      'Dead-letter queues',
    );
    let replay: HTMLElement | null = null;
    if (channel && !READ_ONLY) {
      const sessionId = h('input', {
        id: 'replay-session',
        value: p.get('sessionId') ?? '',
        'data-from-url': 'true',
      });
      const attemptId = h('input', {
        id: 'replay-attempt',
        value: p.get('attemptId') ?? '',
        'data-from-url': 'true',
      });
      const errorContains = h('input', {
        id: 'replay-error',
        value: p.get('error') ?? '',
        'data-from-url': 'true',
      });
      const limit = h('input', {
        id: 'replay-limit',
        type: 'number',
        min: 1,
        max: 1000,
        value: p.get('limit') ?? '100',
        'data-from-url': 'true',
      });
      const body = () => {
        const b: Record<string, unknown> = { limit: Number(limit.value) || 100 };
        if (sessionId.value.trim()) b.sessionId = sessionId.value.trim();
        if (attemptId.value.trim()) b.attemptId = attemptId.value.trim();
        if (errorContains.value.trim()) b.errorContains = errorContains.value.trim();
        return b;
      };
      const key = (b: Record<string, unknown>) => `${channel}:${JSON.stringify(b)}`;
      const current = preview && preview.key === key(body()) ? preview : undefined;
      const dryRun = async () => {
        try {
          const b = body();
          const res = await call<Replay>('POST', replayPath(channel), {
            body: { ...b, dryRun: true },
          });
          preview = { key: key(b), body: b, result: res.body };
          done = undefined;
          ctx.setParams({
            sessionId: b.sessionId as string,
            attemptId: b.attemptId as string,
            error: b.errorContains as string,
            limit: String(b.limit),
          });
        } catch (error) {
          messages.fail(error);
        }
      };
      const execute = async () => {
        if (!current) return;
        try {
          const res = await call<Replay>('POST', replayPath(channel), {
            body: { ...current.body, dryRun: false },
          });
          done = { channel, result: res.body };
          preview = undefined;
          await ctx.refresh();
        } catch (error) {
          messages.fail(error);
        }
      };
      replay = h(
        'section',
        { 'aria-labelledby': 'h-replay' },
        h('h2', { id: 'h-replay' }, `Replay ${channel} dead letters`),
        h(
          'form',
          {
            class: 'filters',
            onsubmit: (e: Event) => {
              e.preventDefault();
              void dryRun();
            },
          },
          field('Session id', sessionId),
          field('Attempt id', attemptId),
          field('Error contains', errorContains),
          field('At most', limit),
          h('button', { type: 'submit', id: 'replay-dry' }, 'Dry run'),
        ),
        current
          ? h(
              'div',
              { class: 'run-result', role: 'status' },
              h(
                'p',
                {},
                h('strong', {}, `Dry run: ${current.result.matched} matched`),
                ` of ${current.result.scanned} message(s) looked at. Nothing moved yet.`,
              ),
              current.result.messages.length
                ? table(
                    ['message', 'session', 'attempt'],
                    current.result.messages
                      .slice(0, 10)
                      .map((m) => [h('code', {}, m.messageId), m.sessionId ?? '—', m.attemptId ?? '—']),
                    'Sample of the matched messages',
                  )
                : null,
              current.result.matched
                ? h(
                    'button',
                    { type: 'button', id: 'replay-confirm', class: 'danger', onclick: () => void execute() },
                    `Replay ${current.result.matched} message(s) to the ${channel} queue`,
                  )
                : h('p', {}, 'Nothing to replay with these filters.'),
            )
          : null,
        done && done.channel === channel
          ? h(
              'p',
              { class: 'msg msg-ok', role: 'status' },
              `Replayed ${done.result.replayed} of ${done.result.matched} matched message(s) to the ${channel} queue.`,
            )
          : null,
      );
    }
    return h(
      'div',
      {},
      h('h1', {}, 'Dead letters'),
      messages.el,
      asked && !channel
        ? h(
            'p',
            { class: 'msg msg-error', role: 'alert' },
            `“${asked}” is not a channel of this service: pick one from the list.`,
          )
        : null,
      list,
      replay ??
        (channel
          ? null
          : h('p', { class: 'hint' }, READ_ONLY ? '' : 'Pick a channel to replay its dead letters.')),
    );
  },
};
