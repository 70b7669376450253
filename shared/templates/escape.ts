// Escaping per output format, and the one check every link goes through before it lands in a template.

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** For HTML text and attribute values (quoted). */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

/** Slack mrkdwn treats only &, < and > as control characters; everything else is shown as typed. */
export function escapeSlack(value: unknown): string {
  return String(value ?? '').replace(/[&<>]/g, (c) => HTML_ENTITIES[c] ?? c);
}

/**
 * The link as it may appear in a message: an absolute http(s) URL, normalised; anything else (a
 * `javascript:` URL, a relative path, garbage) is dropped so no template can be made to carry it.
 */
export function safeLink(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
