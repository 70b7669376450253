// The console's static assets: the browser app (console/app) bundled by esbuild in memory once per process,
// served by the project itself (no CDN: it works offline), under a strict Content-Security-Policy — no
// inline script or style, nothing from elsewhere, no framing, and fetches to this origin only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'app');

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // The proxy's first URL carries its token: never send it on as a Referer.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface ConsoleAssets {
  readonly js: string;
  readonly css: string;
}

let built: Promise<ConsoleAssets> | undefined;

/** Bundles console/app once per process (about 100 ms). */
function buildConsoleAssets(): Promise<ConsoleAssets> {
  built ??= (async () => {
    const result = await build({
      entryPoints: [join(APP_DIR, 'main.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      target: ['chrome120', 'firefox120', 'safari17'],
      write: false,
      outdir: '/console-assets',
      entryNames: 'app',
      legalComments: 'none',
      logLevel: 'silent',
    });
    const file = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
    return { js: file('.js'), css: file('.css') };
  })();
  return built;
}

/** Gzipped bytes of the JS and CSS the console ships (the budget is 100 KB). */
export async function gzippedSize(): Promise<{ js: number; css: number; total: number }> {
  const { js, css } = await buildConsoleAssets();
  const size = (s: string) => gzipSync(Buffer.from(s), { level: 9 }).length;
  return { js: size(js), css: size(css), total: size(js) + size(css) };
}

export interface ConsolePageOptions {
  /** Hide every write action (the proxy's --read-only; the API is not told, IAM decides). */
  readonly readOnly: boolean;
  /** What the console says it is connected to, e.g. `local (npm start)` or the API URL. */
  readonly target: string;
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function indexHtml(options: ConsolePageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>session-recovery console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/app.css">
<script type="module" src="/console/assets/app.js"></script>
</head>
<body data-read-only="${options.readOnly}" data-target="${escapeAttribute(options.target)}">
<noscript>The console needs JavaScript.</noscript>
</body>
</html>
`;
}

function send(res: ServerResponse, status: number, type: string, body: string, cache: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': cache });
  res.end(body);
}

/** Answers `/console` and everything under it; false when the path is not the console's. */
export async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  options: ConsolePageOptions,
): Promise<boolean> {
  if (pathname !== '/console' && !pathname.startsWith('/console/')) return false;
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('the console serves GET only');
    return true;
  }
  const assets = await buildConsoleAssets();
  if (pathname === '/console/assets/app.js') {
    send(res, 200, 'text/javascript; charset=utf-8', assets.js, 'no-cache');
  } else if (pathname === '/console/assets/app.css') {
    send(res, 200, 'text/css; charset=utf-8', assets.css, 'no-cache');
  } else if (pathname.startsWith('/console/assets/')) {
    send(res, 404, 'text/plain; charset=utf-8', 'no such asset', 'no-store');
  } else {
    // Every other path is a page of the app: it reads the path and query itself (shareable views).
    send(res, 200, 'text/html; charset=utf-8', indexHtml(options), 'no-store');
  }
  return true;
}
