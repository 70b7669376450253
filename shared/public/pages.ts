// The pages a person sees on the public routes: plain HTML, no script, a strict Content-Security-Policy.
import { escapeHtml } from '../templates/escape.ts';

/** No script at all; the form may only post back here. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1rem}</style></head>
<body><main>${body}</main></body>
</html>
`;
}

/** GET: asks for a click. Mail scanners prefetch links, so showing this page changes nothing. */
export function confirmPage(address: string): string {
  return page(
    'Unsubscribe',
    `<h1>Unsubscribe</h1>
<p>Stop reminder emails to <strong>${escapeHtml(address)}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}

export function donePage(address: string): string {
  return page(
    'Unsubscribed',
    `<h1>You are unsubscribed</h1><p>No more reminder emails will be sent to <strong>${escapeHtml(address)}</strong>.</p>`,
  );
}

export function notFoundPage(): string {
  return page(
    'Link not valid',
    '<h1>This link is not valid</h1><p>It may have been changed or cut short.</p>',
  );
}

export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
