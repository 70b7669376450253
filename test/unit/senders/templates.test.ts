import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../../../shared/infra/resources.ts';
import { type ChannelMessage, TEMPLATE_IDS } from '../../../shared/messages.ts';
import { renderNotification } from '../../../shared/templates/render.ts';

const at = '2026-03-02T10:00:00.000Z';

function message(overrides: Record<string, unknown> = {}): ChannelMessage {
  return {
    v: 1,
    type: 'recovery',
    attemptId: 's-1#1',
    sessionId: 's-1',
    number: 1,
    maxRetries: 3,
    fence: 2,
    attemptAt: at,
    channel: 'email',
    recipient: 'ada@example.com',
    templateId: 'recovery_attempt',
    data: { kind: 'checkout', recoveryUrl: 'https://shop.example.com/r/s-1?a=1&b=2', name: 'Ada' },
    createdAt: at,
    ...overrides,
  } as ChannelMessage;
}

describe('renderNotification', () => {
  it('puts the recovery link in both the HTML and the text of an email, escaped for each', () => {
    // Prepare
    const m = message();
    // Act
    const rendered = renderNotification(m);
    // Assess
    expect(rendered.text).toContain('https://shop.example.com/r/s-1?a=1&b=2');
    expect(rendered.html).toContain('href="https://shop.example.com/r/s-1?a=1&amp;b=2"');
    expect(rendered.subject).toBe('Your checkout is waiting for you');
  });

  it('escapes whatever the product put in the contact name, in HTML and in Slack', () => {
    // Prepare
    const m = message({
      data: { name: '<img src=x onerror=alert(1)> & co', recoveryUrl: 'https://x.example/' },
    });
    // Act
    const email = renderNotification(m, 'email');
    const slack = renderNotification(m, 'slack');
    // Assess
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; co');
    expect(slack.text).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; co');
  });

  it('drops a link that is not http(s), so no template carries a javascript: URL', () => {
    // Prepare
    const m = message({ data: { recoveryUrl: 'javascript:alert(1)' } });
    // Act
    const email = renderNotification(m, 'email');
    // Assess
    expect(email.html).not.toContain('javascript');
    expect(email.html).not.toContain('href=');
    expect(email.link).toBeUndefined();
  });

  it('prefers the session’s fresher link and name over the message’s', () => {
    // Prepare
    const m = message();
    // Act
    const rendered = renderNotification(m, 'sms', { recoveryUrl: 'https://new.example/r', name: 'Grace' });
    // Assess
    expect(rendered.text).toBe('Hi Grace, your checkout is waiting. Continue: https://new.example/r');
  });

  it('says “last reminder” for the final attempt', () => {
    // Prepare
    const m = message({ templateId: 'final_attempt', number: 3 });
    // Act
    const rendered = renderNotification(m, 'email');
    // Assess
    expect(rendered.subject).toMatch(/^Last reminder/);
    expect(rendered.text).toContain('We will not remind you again.');
  });

  it('renders a Slack link with Slack’s own syntax, never breaking it with a |', () => {
    // Prepare
    const m = message({ data: { recoveryUrl: 'https://x.example/r?a=1|2' } });
    // Act
    const rendered = renderNotification(m, 'slack');
    // Assess
    expect(rendered.text).toContain('<https://x.example/r?a=1%7C2|Continue where you left off>');
  });

  it('keeps the subject on one line', () => {
    // Prepare
    const alert: ChannelMessage = {
      v: 1,
      type: 'ops_alert',
      alertId: 'run-1',
      source: 'recovery-sweep',
      severity: 'critical',
      channel: 'email',
      templateId: 'ops_alert',
      summary: 'line one\nBcc: someone@example.com',
      data: {},
      createdAt: at,
    };
    // Act
    const rendered = renderNotification(alert, 'email', { stage: 'prod' });
    // Assess
    expect(rendered.subject).toBe(
      '[critical] session-recovery (prod) recovery-sweep: line one Bcc: someone@example.com',
    );
  });

  it.each(CHANNELS.flatMap((c) => TEMPLATE_IDS.map((t) => [c, t] as const)))(
    'renders %s × %s without leftovers',
    (channel, templateId) => {
      // Prepare
      const m =
        templateId === 'ops_alert'
          ? ({
              ...message(),
              type: 'ops_alert',
              alertId: 'r',
              source: 'timeout-monitor',
              severity: 'info',
              summary: 'ok',
              templateId,
              data: { n: 1 },
            } as unknown as ChannelMessage)
          : message({ channel, templateId });
      // Act
      const rendered = renderNotification(m, channel);
      // Assess
      for (const text of [rendered.subject, rendered.text, rendered.html ?? '']) {
        expect(text).not.toMatch(/undefined|<%|%>|\[object Object\]/);
      }
      expect(rendered.text.length).toBeGreaterThan(0);
    },
  );
});
