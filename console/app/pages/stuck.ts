/// <reference lib="dom" />
// Stuck sessions: those still processing past their deadline, and the reset (a dry run listing what would
// be timed out, then the real reset).
import { call, get } from '../api.ts';
import { field, h, table, time } from '../dom.ts';
import type { Page } from '../main.ts';
import { messageArea, READ_ONLY } from '../ui.ts';

interface ResetResult {
  dryRun: boolean;
  matched: Array<{ sessionId: string; minutesStuck: number }>;
  changed: number;
}

let preview: { olderThan: number; result: ResetResult } | undefined;
let done: ResetResult | undefined;

export const stuckPage: Page = {
  title: 'Stuck sessions',
  refreshSeconds: 15,
  async render(ctx) {
    const messages = messageArea('stuck-messages');
    const stuck = await get<{
      stuckSessions: Array<{
        id: string;
        createdAt: string;
        processingMinutes: number;
        sizeBytes: number | null;
        deadlineAt: string | null;
      }>;
      count: number;
    }>('/health/sessions/stuck');
    const olderThan = h('input', {
      id: 'reset-older',
      type: 'number',
      min: 1,
      value: ctx.params.get('olderThan') ?? '60',
      'data-from-url': 'true',
    });
    const minutes = () => Math.max(1, Math.floor(Number(olderThan.value) || 60));
    const current = preview && preview.olderThan === minutes() ? preview : undefined;
    const reset = READ_ONLY
      ? null
      : h(
          'section',
          { 'aria-labelledby': 'h-reset' },
          h('h2', { id: 'h-reset' }, 'Reset stuck sessions'),
          h(
            'p',
            { class: 'hint' },
            'Times out every session processing for longer than this; their data is kept. A dry run first.',
          ),
          h(
            'form',
            {
              class: 'filters',
              onsubmit: (e: Event) => {
                e.preventDefault();
                call<ResetResult>('POST', '/sessions/reset-stuck', {
                  body: { olderThanMinutes: minutes(), dryRun: true },
                })
                  .then((res) => {
                    preview = { olderThan: minutes(), result: res.body };
                    done = undefined;
                    ctx.setParams({ olderThan: String(minutes()) });
                  })
                  .catch((error: unknown) => messages.fail(error));
              },
            },
            field('Processing for more than (minutes)', olderThan),
            h('button', { type: 'submit', id: 'reset-dry' }, 'Dry run'),
          ),
          current
            ? h(
                'div',
                { class: 'run-result', role: 'status' },
                h(
                  'p',
                  {},
                  h('strong', {}, `Dry run: ${current.result.matched.length} session(s) would be timed out.`),
                ),
                current.result.matched.length
                  ? [
                      table(
                        ['session', 'minutes processing'],
                        current.result.matched
                          .slice(0, 20)
                          .map((m) => [
                            h(
                              'a',
                              { href: `/console/sessions/${encodeURIComponent(m.sessionId)}` },
                              m.sessionId,
                            ),
                            String(m.minutesStuck),
                          ]),
                      ),
                      h(
                        'button',
                        {
                          type: 'button',
                          id: 'reset-confirm',
                          class: 'danger',
                          onclick: () =>
                            void call<ResetResult>('POST', '/sessions/reset-stuck', {
                              body: { olderThanMinutes: current.olderThan, dryRun: false },
                            })
                              .then(async (res) => {
                                done = res.body;
                                preview = undefined;
                                await ctx.refresh();
                              })
                              .catch((error: unknown) => messages.fail(error)),
                        },
                        `Time out ${current.result.matched.length} session(s)`,
                      ),
                    ]
                  : null,
              )
            : null,
          done
            ? h('p', { class: 'msg msg-ok', role: 'status' }, `Timed out ${done.changed} session(s).`)
            : null,
        );
    return h(
      'div',
      {},
      h('h1', {}, 'Stuck sessions'),
      messages.el,
      stuck.count
        ? table(
            ['session', 'registered', 'minutes', 'size', 'deadline'],
            stuck.stuckSessions.map((s) => [
              h('a', { href: `/console/sessions/${encodeURIComponent(s.id)}` }, s.id),
              time(s.createdAt),
              String(s.processingMinutes),
              s.sizeBytes === null ? '—' : `${(s.sizeBytes / 1048576).toFixed(1)} MB`,
              time(s.deadlineAt),
            ]),
            `${stuck.count} session(s) processing past their deadline`,
          )
        : h('p', { role: 'status' }, 'No session is processing past its deadline.'),
      reset,
    );
  },
};
