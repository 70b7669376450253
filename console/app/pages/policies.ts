/// <reference lib="dom" />
// Policies: every policy (by org), the active one of an org, create, deactivate, and a preview of the
// schedule a policy gives a session.
import { all, call, get, qs } from '../api.ts';
import { badge, field, h, table, time } from '../dom.ts';
import type { Page } from '../main.ts';
import { messageArea, openDialog, READ_ONLY } from '../ui.ts';

interface Policy {
  policyId: string;
  name: string;
  orgId: string;
  active: boolean;
  maxRetries: number;
  initialDelaySeconds: number;
  backoffMultiplier: number;
  maxDelaySeconds: number;
  jitter: string;
  enabledChannels: string[];
  quietHours?: { start: string; end: string; timezone?: string };
  createdAt: string;
}

const CHANNELS = ['email', 'slack', 'sms', 'whatsapp', 'webhook'];

function rules(p: Policy): string {
  return `${p.maxRetries} retries, ${p.initialDelaySeconds} s ×${p.backoffMultiplier} (cap ${p.maxDelaySeconds} s), jitter ${p.jitter}${p.quietHours ? `, quiet ${p.quietHours.start}–${p.quietHours.end} ${p.quietHours.timezone ?? 'UTC'}` : ''}`;
}

export const policiesPage: Page = {
  title: 'Policies',
  refreshSeconds: 0,
  async render(ctx) {
    const org = ctx.params.get('org') ?? '';
    const previewId = ctx.params.get('preview') ?? '';
    const previewSession = ctx.params.get('session') ?? '';
    const messages = messageArea('policies-messages');
    const [policies, active] = await Promise.all([
      all<Policy>(`/retry/policies${qs({ orgId: org })}`),
      get<Policy>(`/retry/policies/active${qs({ orgId: org })}`),
    ]);

    let preview: HTMLElement | null = null;
    if (previewId) {
      try {
        const res = await get<{
          schedule: Array<{ attempt: number; at: string; delaySeconds: number; channels: string[] }>;
          basis: string;
        }>(`/retry/policies/${encodeURIComponent(previewId)}/preview${qs({ sessionId: previewSession })}`);
        preview = h(
          'div',
          { class: 'run-result', role: 'status' },
          table(
            ['attempt', 'at', 'delay', 'channels'],
            res.schedule.map((s) => [
              `#${s.attempt}`,
              time(s.at),
              `${s.delaySeconds} s`,
              s.channels.join(', '),
            ]),
            `Schedule of ${previewId}${previewSession ? ` for ${previewSession}` : ''} (${res.basis === 'session' ? 'continuing the session' : 'starting now'})`,
          ),
        );
      } catch (error) {
        messages.fail(error);
      }
    }

    const orgInput = h('input', {
      id: 'policies-org',
      value: org,
      placeholder: 'default',
      'data-from-url': 'true',
    });
    const policySelect = h(
      'select',
      { id: 'preview-policy' },
      policies.map((p) =>
        h(
          'option',
          { value: p.policyId, ...(p.policyId === previewId ? { selected: true } : {}) },
          `${p.name} (${p.policyId})`,
        ),
      ),
      h(
        'option',
        { value: 'default', ...(previewId === 'default' ? { selected: true } : {}) },
        'Default policy (default)',
      ),
    );
    const sessionInput = h('input', {
      id: 'preview-session',
      value: previewSession,
      placeholder: 'optional: a session id',
      'data-from-url': 'true',
    });

    const createForm = READ_ONLY ? null : createPolicyForm(org, messages, () => ctx.refresh());

    return h(
      'div',
      {},
      h('h1', {}, 'Policies'),
      h(
        'form',
        {
          class: 'filters',
          role: 'search',
          'aria-label': 'Policies of an org',
          onsubmit: (e: Event) => {
            e.preventDefault();
            ctx.setParams({ org: orgInput.value.trim() });
          },
        },
        field('Org', orgInput),
        h('button', { type: 'submit' }, 'Show'),
      ),
      messages.el,
      h(
        'section',
        { 'aria-labelledby': 'h-active' },
        h('h2', { id: 'h-active' }, `Active policy of ${org || 'default'}`),
        h(
          'p',
          {},
          h('strong', {}, active.name),
          ` (${active.policyId}): ${rules(active)} → ${active.enabledChannels.join(', ')}`,
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'h-all' },
        h('h2', { id: 'h-all' }, 'All policies'),
        table(
          ['policy', 'org', 'state', 'rules', 'channels', 'created', ...(READ_ONLY ? [] : ['actions'])],
          policies.map((p) => [
            h('span', {}, h('strong', {}, p.name), h('br', {}), h('code', {}, p.policyId)),
            p.orgId,
            p.active ? badge('active') : badge('inactive'),
            rules(p),
            p.enabledChannels.join(', '),
            time(p.createdAt),
            ...(READ_ONLY
              ? []
              : [
                  p.active
                    ? h(
                        'button',
                        {
                          type: 'button',
                          id: `deactivate-${p.policyId}`,
                          'aria-label': `Deactivate ${p.name}`,
                          onclick: () =>
                            openDialog({
                              title: `Deactivate ${p.name}`,
                              description: `Sessions of ${p.orgId} fall back to the default policy (or a newer active one). Policies are never deleted.`,
                              confirm: 'Deactivate',
                              danger: true,
                              run: async () => {
                                await call('DELETE', `/retry/policies/${encodeURIComponent(p.policyId)}`);
                                messages.ok(`${p.name} is no longer active.`);
                                await ctx.refresh();
                              },
                            }),
                        },
                        'Deactivate',
                      )
                    : '—',
                ]),
          ]),
          `${policies.length} polic${policies.length === 1 ? 'y' : 'ies'}`,
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'h-preview' },
        h('h2', { id: 'h-preview' }, 'Preview a schedule'),
        h(
          'form',
          {
            class: 'filters',
            onsubmit: (e: Event) => {
              e.preventDefault();
              ctx.setParams({ preview: policySelect.value, session: sessionInput.value.trim() });
            },
          },
          field('Policy', policySelect),
          field('Session', sessionInput),
          h('button', { type: 'submit' }, 'Preview'),
        ),
        preview,
      ),
      createForm,
    );
  },
};

function createPolicyForm(
  org: string,
  messages: ReturnType<typeof messageArea>,
  refresh: () => Promise<void>,
): HTMLElement {
  const num = (id: string, value: string, min: string, max?: string, step = '1') =>
    h('input', { id, type: 'number', value, min, ...(max ? { max } : {}), step, required: true });
  const name = h('input', { id: 'new-name', required: true, maxlength: 120 });
  const orgId = h('input', { id: 'new-org', value: org, placeholder: 'default' });
  const maxRetries = num('new-max-retries', '3', '0', '50');
  const initial = num('new-initial', '3600', '0');
  const multiplier = num('new-multiplier', '2', '1', '10', '0.1');
  const cap = num('new-cap', '86400', '0');
  const jitter = h(
    'select',
    { id: 'new-jitter' },
    ['none', 'full', 'equal'].map((j) => h('option', { value: j }, j)),
  );
  const quietStart = h('input', { id: 'new-quiet-start', placeholder: '22:00', pattern: '\\d{2}:\\d{2}' });
  const quietEnd = h('input', { id: 'new-quiet-end', placeholder: '08:00', pattern: '\\d{2}:\\d{2}' });
  const quietZone = h('input', { id: 'new-quiet-zone', placeholder: 'UTC' });
  const channels = CHANNELS.map((c) =>
    h('input', {
      type: 'checkbox',
      id: `new-channel-${c}`,
      value: c,
      ...(c === 'email' ? { checked: true } : {}),
    }),
  );
  const activate = h('input', { type: 'checkbox', id: 'new-active', checked: true });
  return h(
    'section',
    { 'aria-labelledby': 'h-create' },
    h('h2', { id: 'h-create' }, 'Create a policy'),
    h(
      'form',
      {
        class: 'grid-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const body: Record<string, unknown> = {
            name: name.value.trim(),
            maxRetries: Number(maxRetries.value),
            initialDelaySeconds: Number(initial.value),
            backoffMultiplier: Number(multiplier.value),
            maxDelaySeconds: Number(cap.value),
            jitter: jitter.value,
            enabledChannels: channels.filter((c) => c.checked).map((c) => c.value),
            active: activate.checked,
          };
          if (orgId.value.trim()) body.orgId = orgId.value.trim();
          if (quietStart.value || quietEnd.value) {
            body.quietHours = {
              start: quietStart.value,
              end: quietEnd.value,
              ...(quietZone.value ? { timezone: quietZone.value } : {}),
            };
          }
          call<Policy>('POST', '/retry/policies', { body })
            .then(async (res) => {
              messages.ok(
                `Created ${res.body.name} (${res.body.policyId})${res.body.active ? ', now active for its org' : ''}.`,
              );
              await refresh();
            })
            .catch((error: unknown) => messages.fail(error));
        },
      },
      field('Name', name),
      field('Org', orgId),
      field('Max retries', maxRetries),
      field('Initial delay (s)', initial),
      field('Backoff multiplier', multiplier),
      field('Max delay (s)', cap),
      field('Jitter', jitter),
      field('Quiet hours start', quietStart),
      field('Quiet hours end', quietEnd),
      field('Quiet hours time zone', quietZone),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Channels'),
        channels.map((c) => h('label', { class: 'check' }, c, ` ${c.value}`)),
      ),
      h('label', { class: 'check' }, activate, ' active (replaces the org’s active policy)'),
      h('button', { type: 'submit', id: 'create-policy', class: 'primary' }, 'Create policy'),
    ),
  );
}
