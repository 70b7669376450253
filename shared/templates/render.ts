// Renders a channel message into the texts its channel sends: picks the formats the channel needs from
// the catalog, builds the view from the message (and the fresher session, when the sender read one), and
// escapes for each format. Templates are compiled once per process.
import { Eta, type TemplateFunction } from 'eta/core';
import * as v from 'valibot';
import type { Channel } from '../infra/resources.ts';
import type { ChannelMessage, TemplateId } from '../messages.ts';
import type { RenderedNotification } from '../providers/types.ts';
import { lenient, parse } from '../schema.ts';
import { CATALOG, type TemplateFormat } from './catalog.ts';
import { escapeHtml, escapeSlack, safeLink } from './escape.ts';

/** What a template sees under `it`. */
export interface TemplateView {
  readonly name?: string;
  /** The recovery link, http(s) only. */
  readonly link?: string;
  /** What the session is, in words: its kind (`checkout`) or `session`. */
  readonly what: string;
  readonly sessionId?: string;
  readonly number?: number;
  readonly maxRetries?: number;
  readonly summary?: string;
  readonly severity?: string;
  readonly source?: string;
  readonly stage?: string;
  /** Extra facts (ops alerts, timeouts) as `key: value` lines. */
  readonly details: ReadonlyArray<{ readonly key: string; readonly value: string }>;
}

/** Facts the sender knows better than the message: the session as it is now. */
export interface RenderContext {
  readonly recoveryUrl?: string;
  readonly name?: string;
  readonly kind?: string;
  /** Deployment stage, shown in ops alerts. */
  readonly stage?: string;
}

const RecoveryDataSchema = v.looseObject({
  recoveryUrl: lenient(v.string()),
  name: lenient(v.string()),
  kind: lenient(v.string()),
});

/** Keys of `data` that are plumbing, not facts worth showing. */
const HIDDEN_DETAILS = new Set(['recoveryUrl', 'name', 'kind', 'orgId']);
const MAX_DETAILS = 20;

function detailsOf(data: Record<string, unknown>): TemplateView['details'] {
  const out: Array<{ key: string; value: string }> = [];
  for (const [key, raw] of Object.entries(data)) {
    if (HIDDEN_DETAILS.has(key) || raw === undefined || raw === null) continue;
    const value = typeof raw === 'string' ? raw : JSON.stringify(raw);
    out.push({ key, value: value.length > 200 ? `${value.slice(0, 199)}…` : value });
    if (out.length >= MAX_DETAILS) break;
  }
  return out;
}

function buildView(message: ChannelMessage, context: RenderContext = {}): TemplateView {
  const data = parse(RecoveryDataSchema, message.data);
  const kind = context.kind ?? data.kind;
  const common = {
    what: kind && kind.length <= 64 ? kind : 'session',
    stage: context.stage,
    details: detailsOf(message.data),
  };
  if (message.type === 'ops_alert') {
    return { ...common, summary: message.summary, severity: message.severity, source: message.source };
  }
  return {
    ...common,
    name: context.name ?? data.name,
    link: safeLink(context.recoveryUrl ?? data.recoveryUrl),
    sessionId: message.sessionId,
    number: message.number,
    maxRetries: message.maxRetries,
  };
}

// One engine per escaping rule. autoTrim off: the catalog's whitespace is what gets sent.
const engines = {
  html: new Eta({ autoEscape: true, escapeFunction: escapeHtml, autoTrim: false }),
  slack: new Eta({ autoEscape: true, escapeFunction: escapeSlack, autoTrim: false }),
  plain: new Eta({ autoEscape: false, autoTrim: false }),
};
type EngineName = keyof typeof engines;

function engineFor(format: TemplateFormat): EngineName {
  if (format === 'html') return 'html';
  if (format === 'slack') return 'slack';
  return 'plain';
}

const compiled = new Map<string, TemplateFunction>();

function renderFormat(templateId: TemplateId, format: TemplateFormat, view: TemplateView): string {
  const key = `${templateId}.${format}`;
  const engine = engines[engineFor(format)];
  let fn = compiled.get(key);
  if (!fn) {
    fn = engine.compile(CATALOG[templateId][format]);
    compiled.set(key, fn);
  }
  return fn.call(engine, view);
}

/** A subject is one line: a newline there would be a header injection in some mail paths. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').trim();
}

export function renderNotification(
  message: ChannelMessage,
  channel: Channel = message.channel,
  context: RenderContext = {},
): RenderedNotification {
  const view = buildView(message, context);
  const id = message.templateId;
  const subject = oneLine(renderFormat(id, 'subject', view));
  switch (channel) {
    case 'email':
      return {
        subject,
        text: renderFormat(id, 'text', view),
        html: renderFormat(id, 'html', view),
        link: view.link,
      };
    case 'slack':
      // `|` would end the link inside Slack's <url|label> syntax.
      return {
        subject,
        text: renderFormat(id, 'slack', { ...view, link: view.link?.replace(/\|/g, '%7C') }),
        link: view.link,
      };
    case 'sms':
    case 'whatsapp':
      return { subject, text: renderFormat(id, 'short', view), link: view.link };
    case 'webhook':
      return { subject, text: renderFormat(id, 'text', view), link: view.link };
  }
}
