// The admin API on 127.0.0.1 for `npm start` and the tests: each HTTP request becomes the API Gateway REST
// proxy event the deployed function receives, and goes through the same router, so what answers locally
// is what answers in AWS. The caller is `local-operator` (no IAM locally); loopback only.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiHandler } from '../shared/api/handler.ts';
import { buildInProcess } from '../shared/api/openapi.ts';
import type { ProxyEvent } from '../shared/api/router.ts';
import type { AppContext } from '../shared/context.ts';
import { createPublicBindings } from '../shared/public/bindings.ts';
import { createPublicRouter } from '../shared/public/router.ts';
import type { PublicSecrets } from '../shared/public/secrets.ts';
import { DEFAULT_GUARD, type GuardThresholds } from '../shared/reputation/guard.ts';

export interface ApiServerOptions {
  readonly ctx: AppContext;
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /**
   * Serve the public routes (`/v1/public/`) too, as the receipts function does in AWS, with these keys.
   * Their public base URL is this server's own URL. @default - not served (404)
   */
  readonly publicRoutes?: { readonly secrets: PublicSecrets; readonly guard?: GuardThresholds };
}

export interface RunningApiServer {
  /** e.g. `http://127.0.0.1:3000` */
  readonly url: string;
  stop(): Promise<void>;
}

export const LOCAL_CALLER = 'local-operator';

/** More than the API accepts (64 KiB), so the router's 413 answers ordinary oversize bodies; past this the
 * server stops reading, so a runaway client cannot fill memory. */
const MAX_READ_BYTES = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_READ_BYTES) return 'too-large';
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export function toProxyEvent(req: IncomingMessage, body: Buffer): ProxyEvent {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  // Maps and fromEntries, not assignment into {}: a `__proto__` name must arrive as a name, to be refused.
  const headerEntries = Object.entries(req.headersDistinct).filter(
    (e): e is [string, string[]] => (e[1]?.length ?? 0) > 0,
  );
  const headers = Object.fromEntries(headerEntries.map(([k, v]) => [k, v[v.length - 1] ?? '']));
  const multiValueHeaders = Object.fromEntries(headerEntries);
  const params = new Map<string, string[]>();
  for (const [k, v] of url.searchParams) params.set(k, [...(params.get(k) ?? []), v]);
  const query = Object.fromEntries([...params].map(([k, v]) => [k, v[v.length - 1] ?? '']));
  const multiQuery = Object.fromEntries(params);
  const hasQuery = params.size > 0;
  return {
    httpMethod: req.method ?? 'GET',
    path: url.pathname,
    // API Gateway names the matched template here; locally the router matches the path itself.
    resource: '/{proxy+}',
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: { proxy: url.pathname.slice(1) },
    body: body.length ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      requestId: randomUUID(),
      identity: { userArn: null, caller: null },
    },
  };
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number | boolean>,
  body: string,
) {
  res.writeHead(status, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])));
  res.end(body);
}

export async function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const api = createApiHandler(options.ctx, {
    defaultCaller: LOCAL_CALLER,
    openApiDocument: buildInProcess,
  });
  let publicApi: ((event: unknown) => ReturnType<typeof api>) | undefined;
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (body === 'too-large') {
        // Answer without reading the rest, and close: the client is still sending.
        res.setHeader('connection', 'close');
        send(
          res,
          413,
          { 'content-type': 'application/problem+json' },
          JSON.stringify({
            type: '/problems/body-too-large',
            title: 'Content Too Large',
            status: 413,
            detail: `the body is over ${MAX_READ_BYTES} bytes`,
            errors: [],
          }),
        );
        req.destroy();
        return;
      }
      const event = toProxyEvent(req, body);
      const result =
        publicApi && event.path.startsWith('/v1/public/') ? await publicApi(event) : await api(event);
      send(res, result.statusCode, result.headers ?? {}, result.body);
    })().catch((error: unknown) => {
      // The router never throws; this is a broken socket. Answer if still possible.
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain' }, String(error));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  if (options.publicRoutes) {
    publicApi = createPublicRouter({
      ctx: options.ctx,
      publicBaseUrl: `http://127.0.0.1:${port}`,
      bindings: createPublicBindings({
        secrets: options.publicRoutes.secrets,
        guard: options.publicRoutes.guard ?? DEFAULT_GUARD,
      }),
    });
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
