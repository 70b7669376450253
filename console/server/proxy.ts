// `session-recovery console`: the operator console on 127.0.0.1 against a deployed stack. A small proxy
// serves the console's assets and forwards each /v1 call to the stack's API, signed with SigV4 from the
// operator's credentials (the SDK's default chain: env, profiles, SSO, process, IMDS...). No AWS resource
// is added and IAM stays the only authorization: the console can do what the operator's identity may call.
// It is no door into the operator's account: see ./guard.ts for the Host, Origin and token checks.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { SECURITY_HEADERS, serveConsole } from './assets.ts';
import { checkHostAndOrigin, checkToken, guardProblem, tokenCookie } from './guard.ts';
import { createSigner, parseRawQuery, signRequest } from './sigv4.ts';

export interface ConsoleProxyOptions {
  /**
   * The API's base URL, stage included (the stack's ApiUrl output), e.g.
   * https://abc.execute-api.eu-west-1.amazonaws.com/prod/ — a trailing `/v1` is taken off.
   */
  readonly apiUrl: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** @default 0 (a free port) */
  readonly port?: number;
  readonly readOnly?: boolean;
  /** @default a fresh random token */
  readonly token?: string;
  /** Upstream call timeout. @default 30000 */
  readonly timeoutMs?: number;
}

export interface RunningConsoleProxy {
  /** The URL to open, with this launch's token. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  stop(): Promise<void>;
}

/** More than the API takes (64 KiB): the API answers 413 itself; past this the proxy stops reading. */
const MAX_BODY = 256 * 1024;
/** Request headers the API reads; everything else (cookies first) stays here. */
const FORWARDED_REQUEST = ['content-type', 'if-match', 'accept'];
/** Response headers the console reads; no CORS header from upstream ever passes. */
const FORWARDED_RESPONSE = ['content-type', 'etag', 'x-request-id', 'retry-after', 'location'];

function problem(res: ServerResponse, status: number, detail: string, title = 'Bad Gateway'): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify({ type: '/problems/console-proxy', title, status, detail, errors: [] }));
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The stage's path from the URL an operator gives: the stage (the stack's ApiUrl output) or the stage with
 * `/v1` (what the API's own links show), with or without trailing slashes; the console's calls carry `/v1`.
 * On an execute-api host the first segment is always the stage, so a stage named `v1` stays.
 */
export function stageBasePath(api: URL): string {
  const trimmed = api.pathname.replace(/\/+$/, '');
  const stageFirst = /\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(api.hostname);
  if (stageFirst && trimmed.split('/').length <= 2) return trimmed;
  return trimmed.replace(/\/v1$/, '').replace(/\/+$/, '');
}

export async function startConsoleProxy(options: ConsoleProxyOptions): Promise<RunningConsoleProxy> {
  const api = new URL(options.apiUrl);
  if (api.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(api.hostname)) {
    throw new Error(`the API URL must be https (or a loopback address for a local API): ${options.apiUrl}`);
  }
  const basePath = stageBasePath(api);
  const signer = createSigner({ region: options.region, credentials: options.credentials });
  const token = options.token ?? randomBytes(24).toString('base64url');
  const readOnly = options.readOnly ?? false;
  const target = `${api.origin}${basePath}${readOnly ? ' (read only)' : ''}`;
  let port = 0;

  async function forward(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);
    if (body === undefined)
      return problem(res, 413, `the body is over ${MAX_BODY} bytes`, 'Content Too Large');
    const headers: Record<string, string> = { host: api.host };
    for (const name of FORWARDED_REQUEST) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // One URL, normalized once: its path and query are both what is signed and what is sent, byte for byte
    // (signing decoded values but sending the raw query lets the two drift apart).
    const outgoing = new URL(`${api.origin}${basePath}${url.pathname}${url.search}`);
    const path = outgoing.pathname;
    // No prototype: a `__proto__` parameter is a parameter (the API refuses it as unknown).
    const query: Record<string, string | string[]> = Object.create(null);
    try {
      for (const [key, value] of parseRawQuery(outgoing.search.slice(1))) {
        const seen = query[key];
        query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
      }
    } catch {
      return problem(res, 400, 'the query string has a malformed percent-encoding', 'Bad Request');
    }
    let signed: Record<string, string>;
    try {
      signed = await signRequest(signer, {
        method,
        protocol: api.protocol,
        hostname: api.hostname,
        ...(api.port ? { port: Number(api.port) } : {}),
        path,
        query,
        headers,
        ...(body.length ? { body: body.toString('utf8') } : {}),
      });
    } catch (error) {
      return problem(
        res,
        502,
        `no AWS credentials to sign with (${error instanceof Error ? error.message : String(error)}); log in (aws sso login, a profile, or environment variables) and retry`,
      );
    }
    const { host: _host, ...sendHeaders } = signed;
    let upstream: Response;
    try {
      upstream = await fetch(outgoing.href, {
        method,
        headers: sendHeaders,
        body: body.length ? body.toString('utf8') : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      return problem(
        res,
        502,
        `the API did not answer: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const out: Record<string, string> = { ...SECURITY_HEADERS, 'cache-control': 'no-store' };
    for (const name of FORWARDED_RESPONSE) {
      const value = upstream.headers.get(name);
      if (value !== null) out[name] = value;
    }
    res.writeHead(upstream.status, out);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  }

  const server = createServer((req, res) => {
    void (async () => {
      const hostAndOrigin = checkHostAndOrigin(req, port);
      if (!hostAndOrigin.ok) return problem(res, hostAndOrigin.status, hostAndOrigin.detail, 'Forbidden');
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      const queryToken = url.pathname.startsWith('/console')
        ? (url.searchParams.get('token') ?? undefined)
        : undefined;
      const tokenCheck = checkToken(req, { port, token }, queryToken);
      if (!tokenCheck.ok) {
        res.writeHead(tokenCheck.status, { ...SECURITY_HEADERS, 'content-type': 'application/problem+json' });
        res.end(guardProblem(tokenCheck));
        return;
      }
      if (queryToken !== undefined) {
        // Trade the token in the URL for the cookie, and take it out of the address bar and history.
        url.searchParams.delete('token');
        res.writeHead(303, {
          ...SECURITY_HEADERS,
          'set-cookie': tokenCookie({ port, token }),
          location: `${url.pathname}${url.search}`,
          'cache-control': 'no-store',
        });
        res.end();
        return;
      }
      if (url.pathname === '/') {
        res.writeHead(303, { ...SECURITY_HEADERS, location: '/console' });
        res.end();
        return;
      }
      if (await serveConsole(req, res, url.pathname, { readOnly, target })) return;
      if (url.pathname.startsWith('/v1/')) {
        // --read-only hides the writes in the page; it refuses them here too, whatever IAM would allow.
        if (readOnly && !['GET', 'HEAD'].includes((req.method ?? 'GET').toUpperCase())) {
          return problem(res, 403, 'this console runs read-only (--read-only)', 'Forbidden');
        }
        return forward(req, res, url);
      }
      problem(res, 404, `nothing at ${url.pathname}`, 'Not Found');
    })().catch((error: unknown) => {
      if (!res.headersSent) problem(res, 500, String(error), 'Internal Server Error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/console?token=${token}`,
    origin,
    port,
    token,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
