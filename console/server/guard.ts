// Who may talk to a console server (the signing proxy of `session-recovery console`, and `npm start`'s API
// and console). Three checks, each of which a web page the operator happens to visit would fail:
// - Host must be this server's own loopback address and port: a DNS-rebinding page reaches 127.0.0.1
//   under its own name (the defence Vite and webpack-dev-server added after their CVEs).
// - A write (anything but GET/HEAD) from a browser must come from this server's own origin: Origin, and
//   Sec-Fetch-Site where the browser sends it. No CORS headers are ever sent, so no other origin can read.
// - The proxy alone also asks for its per-launch token (in the printed URL once, then a SameSite=Strict
//   HttpOnly cookie), as Jupyter does: it signs with real credentials.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface GuardOptions {
  /** The port the server listens on (127.0.0.1). */
  readonly port: number;
  /** The per-launch token; absent: no token asked (npm start). */
  readonly token?: string;
}

export type GuardVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 403 | 421; readonly detail: string };

const SAFE_METHODS = new Set(['GET', 'HEAD']);

function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** The cookie that carries the token: named by port, since cookies are shared between a host's ports. */
function tokenCookieName(port: number): string {
  return `sr_console_${port}`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (header(req, 'cookie') ?? '').split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === name) return rest.join('=');
  }
  return undefined;
}

/** Host and Origin: what every console server checks on every request. */
export function checkHostAndOrigin(req: IncomingMessage, port: number): GuardVerdict {
  const host = (header(req, 'host') ?? '').toLowerCase();
  if (!allowedHosts(port).includes(host)) {
    return {
      ok: false,
      status: 421,
      detail: `this server answers only to Host ${allowedHosts(port).join(' or ')}, not ${JSON.stringify(host)}`,
    };
  }
  const method = (req.method ?? 'GET').toUpperCase();
  if (SAFE_METHODS.has(method)) return { ok: true };
  const origin = header(req, 'origin');
  // A browser names the origin of every write; a client without one (curl, the CLI) is not a web page.
  if (origin !== undefined && origin !== `http://${host}`) {
    return {
      ok: false,
      status: 403,
      detail: `writes are accepted from this console only, not from ${origin}`,
    };
  }
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { ok: false, status: 403, detail: `writes are accepted from this console only (${site} request)` };
  }
  return { ok: true };
}

/** The proxy's token: the cookie, or the `token` query parameter of the URL it printed. */
export function checkToken(req: IncomingMessage, options: GuardOptions, queryToken?: string): GuardVerdict {
  if (!options.token) return { ok: true };
  if (sameToken(cookieValue(req, tokenCookieName(options.port)), options.token)) return { ok: true };
  if (sameToken(queryToken, options.token)) return { ok: true };
  return {
    ok: false,
    status: 403,
    detail: 'open the console with the URL session-recovery console printed (it carries this launch’s token)',
  };
}

export function tokenCookie(options: { port: number; token: string }): string {
  return `${tokenCookieName(options.port)}=${options.token}; Path=/; HttpOnly; SameSite=Strict`;
}

export function guardProblem(verdict: Extract<GuardVerdict, { ok: false }>): string {
  return JSON.stringify({
    type: '/problems/forbidden',
    title: verdict.status === 421 ? 'Misdirected Request' : 'Forbidden',
    status: verdict.status,
    detail: verdict.detail,
    errors: [],
  });
}
