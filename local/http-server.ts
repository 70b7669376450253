// The admin API on 127.0.0.1 for `npm start` and the tests: each HTTP request becomes the API Gateway REST
// proxy event the deployed function receives, and goes through the same router, so what answers locally
// is what answers in AWS. The caller is `local-operator` (no IAM locally), or the access key of a verified
// SigV4 signature when asked to check them; loopback only, with the console's Host and Origin checks.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsCredentialIdentity } from '@smithy/types';
import { serveConsole } from '../console/server/assets.ts';
import { checkHostAndOrigin, guardProblem } from '../console/server/guard.ts';
import { createApiHandler } from '../shared/api/handler.ts';
import { buildInProcess } from '../shared/api/openapi.ts';
import type { ProxyEvent } from '../shared/api/router.ts';
import type { AppContext } from '../shared/context.ts';
import { createHookBindings } from '../shared/events/bindings.ts';
import type { IngestDeps } from '../shared/events/ingest.ts';
import type { HookSecrets } from '../shared/events/secrets.ts';
import { DEFAULT_ABANDON_AFTER_MINUTES } from '../shared/events/shopify.ts';
import { createPublicBindings } from '../shared/public/bindings.ts';
import { createPublicRouter } from '../shared/public/router.ts';
import type { PublicSecrets } from '../shared/public/secrets.ts';
import { DEFAULT_GUARD, type GuardThresholds } from '../shared/reputation/guard.ts';
import { inProcessJobStarter } from '../shared/usecases/job-start-local.ts';
import { judgedJobStarter, type LocalIdentity } from './function-contexts.ts';
import { signatureProblem, verifyLocalSignature } from './sigv4-check.ts';

export interface ApiServerOptions {
  readonly ctx: AppContext;
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** Serve the operator console at /console (npm start does). */
  readonly console?: boolean;
  /** Verify every API call's SigV4 signature with these local credentials (npm start with API_SIGV4=true). */
  readonly sigv4?: { readonly region: string; readonly credentials: AwsCredentialIdentity };
  /**
   * Serve the public routes (`/v1/public/`) too, as the receipts function does in AWS, with these keys.
   * Their public base URL is this server's own URL. @default - not served (404)
   */
  readonly publicRoutes?: {
    readonly secrets: PublicSecrets;
    readonly guard?: GuardThresholds;
    /** The Stripe and Shopify webhook keys (#14); without them the two hook routes answer 500. */
    readonly hookSecrets?: HookSecrets;
  };
  /** How product events are applied (#14): POST /v1/events and the two webhooks, as the ingest function does. */
  readonly ingest?: IngestDeps;
  /**
   * Serve each route with its function's own context (its own credentials, judged by local IAM), and start
   * run-now's runs as the async invoke they are in AWS. @default every route on `ctx`
   */
  readonly functions?: {
    readonly ctxFor: (functionId: string) => AppContext;
    readonly identity: LocalIdentity;
  };
}

export interface RunningApiServer {
  /** e.g. `http://127.0.0.1:3000` */
  readonly url: string;
  /** Resolves when every run started through run-now has ended (its record written). */
  runsSettled(): Promise<void>;
  stop(): Promise<void>;
}

const LOCAL_CALLER = 'local-operator';

const missing = async (): Promise<string> => {
  throw new Error('no webhook secret configured for the local server');
};
const MISSING_HOOK_SECRETS: HookSecrets = { stripe: missing, shopify: missing };

/** API Gateway's own payload limit (10 MB): the routers' 413s (64 KiB admin, 1 MiB public) answer ordinary
 * oversize bodies as in AWS; past this the server stops reading, so a runaway client cannot fill memory. */
const MAX_READ_BYTES = 10 * 1024 * 1024;

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

function toProxyEvent(req: IncomingMessage, body: Buffer): ProxyEvent {
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
  // Run now goes on in the background of this process, as it would in the job's own function.
  const { functions } = options;
  const jobs = functions
    ? judgedJobStarter(functions.identity, functions.ctxFor)
    : inProcessJobStarter(options.ctx);
  const api = createApiHandler(options.ctx, {
    defaultCaller: LOCAL_CALLER,
    openApiDocument: buildInProcess,
    startJob: jobs.start,
    ...(options.ingest ? { ingest: options.ingest } : {}),
    ...(functions ? { ctxFor: functions.ctxFor } : {}),
  });
  let port = 0;
  let publicApi: ((event: unknown) => ReturnType<typeof api>) | undefined;
  const server = createServer((req, res) => {
    void (async () => {
      // Host and Origin first, before anything is read: see console/server/guard.ts.
      const verdict = checkHostAndOrigin(req, port);
      if (!verdict.ok) {
        send(res, verdict.status, { 'content-type': 'application/problem+json' }, guardProblem(verdict));
        return;
      }
      const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      if (options.console) {
        const target = options.sigv4 ? 'local API (SigV4 required: read only here)' : 'local (npm start)';
        const readOnly = Boolean(options.sigv4);
        if (await serveConsole(req, res, pathname, { readOnly, target })) return;
      }
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
      let event = toProxyEvent(req, body);
      // Public routes verify their own token or signature (as in AWS, where they have no IAM).
      if (publicApi && event.path.startsWith('/v1/public/')) {
        const result = await publicApi(event);
        send(res, result.statusCode, result.headers ?? {}, result.body);
        return;
      }
      if (options.sigv4) {
        const checked = await verifyLocalSignature(req, event, options.sigv4);
        if (!checked.ok) {
          send(res, 403, { 'content-type': 'application/problem+json' }, signatureProblem(checked.reason));
          return;
        }
        event = {
          ...event,
          requestContext: { ...event.requestContext, identity: { userArn: checked.caller, caller: null } },
        };
      }
      const result = await api(event);
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
  port = (server.address() as AddressInfo).port;
  if (options.publicRoutes) {
    publicApi = createPublicRouter({
      ctx: options.ctx,
      ...(functions ? { ctxFor: functions.ctxFor } : {}),
      publicBaseUrl: `http://127.0.0.1:${port}`,
      // Every public route in one router, as the receipts and ingest functions serve them in AWS.
      bindings: {
        ...createPublicBindings({
          secrets: options.publicRoutes.secrets,
          guard: options.publicRoutes.guard ?? DEFAULT_GUARD,
        }),
        ...createHookBindings({
          ...(options.ingest ?? { abandonAfterMinutes: DEFAULT_ABANDON_AFTER_MINUTES }),
          secrets: options.publicRoutes.hookSecrets ?? MISSING_HOOK_SECRETS,
        }),
      },
    });
  }
  return {
    url: `http://127.0.0.1:${port}`,
    runsSettled: () => jobs.settled(),
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      // Runs started from the API end with their record before the tables may go away.
      await jobs.settled();
    },
  };
}
