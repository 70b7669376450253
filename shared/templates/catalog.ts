// The notification texts, one set per template id, in each output format a channel needs (Eta syntax,
// data under `it`, see TemplateView in render.ts). Which format a channel uses:
//   email → subject + text + html · slack → subject + slack · sms, whatsapp → subject + short
//   webhook → subject + text (plus structured fields added by the webhook provider)
// `<%= %>` escapes for the format (HTML for html, Slack mrkdwn for slack, nothing for plain text);
// there is no raw output tag in any template, on purpose.
import type { TemplateId } from '../messages.ts';

export const FORMATS = ['subject', 'text', 'html', 'slack', 'short'] as const;
export type TemplateFormat = (typeof FORMATS)[number];

const greeting = `Hi<% if (it.name) { %> <%= it.name %><% } %>,`;

const htmlFrame = (body: string) => `<!doctype html>
<html><body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222">
${body}
</body></html>`;

const htmlButton = `<% if (it.link) { %><p><a href="<%= it.link %>" style="display:inline-block;padding:10px 18px;background:#1a73e8;color:#fff;text-decoration:none;border-radius:4px">Continue where you left off</a></p>
<p style="font-size:12px;color:#666">Or open this link: <a href="<%= it.link %>"><%= it.link %></a></p><% } %>`;

export const CATALOG: Record<TemplateId, Record<TemplateFormat, string>> = {
  recovery_attempt: {
    subject: `Your <%= it.what %> is waiting for you`,
    text: `${greeting}

You started your <%= it.what %> but did not finish it. Everything is saved.<% if (it.link) { %>
Continue where you left off: <%= it.link %><% } %>

Reminder <%= it.number %> of <%= it.maxRetries %>.
`,
    html: htmlFrame(`<p>${greeting}</p>
<p>You started your <%= it.what %> but did not finish it. Everything is saved.</p>
${htmlButton}
<p style="font-size:12px;color:#666">Reminder <%= it.number %> of <%= it.maxRetries %>.</p>`),
    slack: `${greeting} your <%= it.what %> is waiting.<% if (it.link) { %> <<%= it.link %>|Continue where you left off>.<% } %> _Reminder <%= it.number %> of <%= it.maxRetries %>._`,
    short: `${greeting} your <%= it.what %> is waiting.<% if (it.link) { %> Continue: <%= it.link %><% } %>`,
  },
  final_attempt: {
    subject: `Last reminder: your <%= it.what %> is still waiting`,
    text: `${greeting}

This is the last reminder about your unfinished <%= it.what %>. Everything is still saved.<% if (it.link) { %>
Continue where you left off: <%= it.link %><% } %>

We will not remind you again.
`,
    html: htmlFrame(`<p>${greeting}</p>
<p>This is the last reminder about your unfinished <%= it.what %>. Everything is still saved.</p>
${htmlButton}
<p style="font-size:12px;color:#666">We will not remind you again.</p>`),
    slack: `${greeting} last reminder: your <%= it.what %> is still waiting.<% if (it.link) { %> <<%= it.link %>|Continue where you left off>.<% } %>`,
    short: `${greeting} last reminder: your <%= it.what %> is still waiting.<% if (it.link) { %> Continue: <%= it.link %><% } %>`,
  },
  timeout_notice: {
    subject: `Processing timed out: <%= it.what %> <%= it.sessionId %>`,
    text: `Session <%= it.sessionId %> (<%= it.what %>) did not finish processing before its deadline and is now timed out. Its data is kept; an operator can send it back to processing.<% for (const d of it.details) { %>
<%= d.key %>: <%= d.value %><% } %>
`,
    html: htmlFrame(`<p>Session <strong><%= it.sessionId %></strong> (<%= it.what %>) did not finish processing before its deadline and is now timed out. Its data is kept; an operator can send it back to processing.</p>
<% if (it.details.length) { %><ul><% for (const d of it.details) { %><li><%= d.key %>: <%= d.value %></li><% } %></ul><% } %>`),
    slack: `:hourglass: Session \`<%= it.sessionId %>\` (<%= it.what %>) timed out while processing; its data is kept.<% for (const d of it.details) { %>
• <%= d.key %>: <%= d.value %><% } %>`,
    short: `Session <%= it.sessionId %> (<%= it.what %>) timed out while processing.`,
  },
  ops_alert: {
    subject: `[<%= it.severity %>] session-recovery<% if (it.stage) { %> (<%= it.stage %>)<% } %> <%= it.source %>: <%= it.summary %>`,
    text: `<%= it.summary %>

Severity: <%= it.severity %>
Source: <%= it.source %><% if (it.stage) { %>
Stage: <%= it.stage %><% } %><% for (const d of it.details) { %>
<%= d.key %>: <%= d.value %><% } %>
`,
    html: htmlFrame(`<p><strong><%= it.summary %></strong></p>
<ul><li>Severity: <%= it.severity %></li><li>Source: <%= it.source %></li><% if (it.stage) { %><li>Stage: <%= it.stage %></li><% } %><% for (const d of it.details) { %><li><%= d.key %>: <%= d.value %></li><% } %></ul>`),
    slack: `<% if (it.severity === 'critical') { %>:rotating_light:<% } else if (it.severity === 'warning') { %>:warning:<% } else { %>:information_source:<% } %> *<%= it.summary %>* (<%= it.source %><% if (it.stage) { %>, <%= it.stage %><% } %>)<% for (const d of it.details) { %>
• <%= d.key %>: <%= d.value %><% } %>`,
    short: `[<%= it.severity %>] <%= it.source %>: <%= it.summary %>`,
  },
};
