// The admin API's router: an API Gateway REST proxy event in, a response out, never a throw. It finds the
// route in the route table, checks size and media type, validates path, query, headers and body (every
// bad field listed in one problem), then calls the route's binding and maps what comes back or what is
// thrown. Everything is validated before the binding runs, so a bad request cannot write anything.
import type { APIGatewayProxyResult } from 'aws-lambda';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { THROTTLED_RETRY_AFTER_SECONDS, ThrottledError } from '../domain/errors.ts';
import { logger } from '../observability/logger.ts';
import { isThrottling } from '../repositories/dynamo-errors.ts';
import { parse, safeParse, text } from '../schema.ts';
import {
  type FieldError,
  fieldErrors,
  HttpProblem,
  isDomainError,
  type Problem,
  problem,
  problemFromDomainError,
} from './problem.ts';
import {
  ADMIN_ROUTER_ROUTES,
  type AdminRouteId,
  type ApiFunctionId,
  functionOf,
  type IngestRouteId,
  type PublicRouteId,
  type ROUTE,
  type RouteId,
  type RouteSpec,
} from './routes.ts';
import { MAX_BODY_BYTES } from './schemas.ts';

// ---------------------------------------------------------------------------------------------------------
// Binding types: what a use-case binding receives (validated input) and returns.

type Output<T> = T extends v.GenericSchema ? v.InferOutput<T> : undefined;

export interface RequestInput<R extends RouteSpec = RouteSpec> {
  readonly params: R['params'] extends v.GenericSchema ? v.InferOutput<R['params']> : Record<string, never>;
  readonly query: v.InferOutput<R['query']>;
  readonly body: Output<R['body']>;
  /** The caller: the IAM principal's ARN in AWS, `local-operator` locally. */
  readonly caller: string;
  readonly requestId: string;
  /** The version from If-Match (`*` and absent both mean "any"). */
  readonly ifMatch?: number;
}

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export type Binding<R extends RouteSpec> = (ctx: AppContext, input: RequestInput<R>) => Promise<RouteResult>;
export type Bindings = { readonly [K in RouteId]: Binding<(typeof ROUTE)[K]> };
/** The bindings of the `api-admin` function's routes, and of the `api` function's (all the others). */
export type AdminBindings = Pick<Bindings, AdminRouteId>;
/** Public routes have their own router and bindings (shared/public/router.ts). */
export type ProductBindings = Omit<Bindings, AdminRouteId | PublicRouteId | IngestRouteId>;
/** The ingest function's IAM route (POST /v1/events); its public webhooks are bound in shared/events/bindings.ts. */
export type IngestBindings = Pick<Bindings, Exclude<IngestRouteId, PublicRouteId>>;

// ---------------------------------------------------------------------------------------------------------
// The event, as far as the router reads it.

/**
 * A map of request data (query, headers). Not a record schema: it drops a `__proto__` key, and a request that
 * names one must be refused like any unknown parameter, not silently read without it. Built with
 * Object.fromEntries, which makes every key an own property.
 */
function requestMap<T extends v.GenericSchema>(value: T) {
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }): Record<string, v.InferOutput<T>> | null | undefined => {
      const raw = dataset.value;
      if (raw === null || raw === undefined) return raw;
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        addIssue({ message: 'expected an object' });
        return NEVER;
      }
      const entries: Array<[string, v.InferOutput<T>]> = [];
      for (const [k, item] of Object.entries(raw)) {
        const parsed = safeParse(value, item);
        if (!parsed.success) {
          addIssue({ message: `unexpected value at ${JSON.stringify(k)}` });
          return NEVER;
        }
        entries.push([k, parsed.data]);
      }
      return Object.fromEntries(entries);
    }),
  );
}

// Optional: a proxy event always carries these keys (null when empty), a hand-written one may not.
const StringMap = v.optional(requestMap(v.nullish(v.string())));
const MultiMap = v.optional(requestMap(v.nullish(v.array(v.string()))));

export const ProxyEventSchema = v.object({
  httpMethod: text(1, 16),
  path: text(1, 8192),
  resource: v.nullish(v.string()),
  headers: StringMap,
  multiValueHeaders: MultiMap,
  queryStringParameters: StringMap,
  multiValueQueryStringParameters: MultiMap,
  pathParameters: StringMap,
  body: v.nullish(v.string()),
  isBase64Encoded: v.nullish(v.boolean()),
  requestContext: v.nullish(
    v.object({
      requestId: v.nullish(v.string()),
      identity: v.nullish(v.object({ userArn: v.nullish(v.string()), caller: v.nullish(v.string()) })),
    }),
  ),
});
export type ProxyEvent = v.InferOutput<typeof ProxyEventSchema>;

// ---------------------------------------------------------------------------------------------------------
// Route matching. Literal segments beat parameters, so `/retry/policies/active` is never read as an id.

interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly segments: ReadonlyArray<{ literal: string } | { param: string }>;
  readonly literals: number;
}

function compile(spec: RouteSpec): CompiledRoute {
  const segments = spec.path
    .split('/')
    .slice(1)
    .map((s) => {
      const param = /^\{([^}]+)\}$/.exec(s)?.[1];
      return param ? { param } : { literal: s };
    });
  return { spec, segments, literals: segments.filter((s) => 'literal' in s).length };
}

const COMPILED: readonly CompiledRoute[] = [...ADMIN_ROUTER_ROUTES.map(compile)].sort(
  (a, b) => b.literals - a.literals,
);

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

interface Match {
  readonly spec: RouteSpec;
  readonly params: Record<string, string>;
}

function matchPath(path: string): { byMethod: Map<string, Match> } {
  const parts = path.split('/').slice(1);
  const byMethod = new Map<string, Match>();
  for (const route of COMPILED) {
    if (route.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const segment = route.segments[i];
      const part = parts[i] ?? '';
      if (!segment) ok = false;
      else if ('literal' in segment) ok = segment.literal === part;
      else {
        const value = decodeSegment(part);
        if (value === undefined || value === '') ok = false;
        else params[segment.param] = value;
      }
    }
    // Sorted by specificity: the first match of a method wins.
    if (ok && !byMethod.has(route.spec.method)) byMethod.set(route.spec.method, { spec: route.spec, params });
  }
  return { byMethod };
}

const BY_TEMPLATE = new Map(ADMIN_ROUTER_ROUTES.map((r) => [`${r.method} ${r.path}`, r]));

function findRoute(event: ProxyEvent, method: string): Match | { allowed: string[] } {
  // In API Gateway, `resource` is the matched template and pathParameters are already split out.
  const template = event.resource ? BY_TEMPLATE.get(`${method} ${event.resource}`) : undefined;
  if (template) {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.pathParameters ?? {})) if (typeof v === 'string') params[k] = v;
    return { spec: template, params };
  }
  const { byMethod } = matchPath(event.path);
  return byMethod.get(method) ?? { allowed: [...byMethod.keys()].sort() };
}

// ---------------------------------------------------------------------------------------------------------
// Request parsing.

function lowerCaseHeaders(event: ProxyEvent): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values?.length) out.set(k.toLowerCase(), [...values]);
  }
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (typeof v === 'string' && !out.has(k.toLowerCase())) out.set(k.toLowerCase(), [v]);
  }
  return out;
}

function queryOf(event: ProxyEvent, errors: FieldError[]): Record<string, string> {
  const entries: Array<[string, string]> = [];
  const multi = event.multiValueQueryStringParameters;
  if (multi) {
    for (const [k, values] of Object.entries(multi)) {
      if (!values?.length) continue;
      if (values.length > 1) errors.push({ path: `query.${k}`, message: 'given more than once' });
      entries.push([k, values[0] ?? '']);
    }
  } else {
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) {
      if (typeof v === 'string') entries.push([k, v]);
    }
  }
  // fromEntries, not assignment: a `__proto__` parameter stays a parameter (and is refused as unknown).
  return Object.fromEntries(entries);
}

const JSON_MEDIA = /^application\/(?:[\w.+-]+\+)?json$/i;

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const [media, ...params] = value.split(';').map((p) => p.trim());
  if (!media || !JSON_MEDIA.test(media)) return false;
  // JSON is UTF-8 (RFC 8259); a body declared in another charset would be read wrongly.
  return params.every((p) => !/^charset=/i.test(p) || /^charset="?utf-8"?$/i.test(p));
}

/** `"3"`, `W/"3"`, `3` → 3; `*` → undefined; anything else is an error. */
function parseIfMatch(values: string[] | undefined, errors: FieldError[]): number | undefined {
  if (!values?.length) return undefined;
  const raw = values.join(',').trim();
  if (raw === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(raw);
  if (!match) {
    errors.push({ path: 'header.If-Match', message: 'the ETag of the session, e.g. "3"' });
    return undefined;
  }
  return Number(match[1]);
}

interface ParsedBody {
  readonly value: unknown;
  readonly present: boolean;
}

function readBody(event: ProxyEvent, spec: RouteSpec, headers: Map<string, string[]>): ParsedBody {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new HttpProblem(
      problem(413, 'too_large', `the body is ${bytes.length} bytes; at most ${MAX_BODY_BYTES} are accepted`),
    );
  }
  if (bytes.length === 0 || bytes.toString('utf8').trim() === '') return { value: undefined, present: false };
  const contentType = headers.get('content-type')?.[0];
  if (!isJsonContentType(contentType)) {
    throw new HttpProblem(
      problem(415, 'media_type', 'the body must be JSON, sent with content-type: application/json', [
        { path: 'header.Content-Type', message: `got ${contentType ? JSON.stringify(contentType) : 'none'}` },
      ]),
    );
  }
  if (!spec.body) {
    throw new HttpProblem(
      problem(400, 'validation', 'this route takes no body', [{ path: 'body', message: 'must be empty' }]),
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    // JSON.parse throws SyntaxError on bad JSON and RangeError on absurd nesting: both are the caller's.
    const message = error instanceof Error ? error.message : 'not valid JSON';
    throw new HttpProblem(
      problem(400, 'validation', 'the body is not valid JSON', [{ path: 'body', message }]),
    );
  }
  // Every body is a JSON object. Checked here because an object schema would read `[]` as `{}`.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpProblem(
      problem(400, 'validation', 'the request has 1 invalid field(s)', [
        { path: 'body', message: 'must be a JSON object' },
      ]),
    );
  }
  return { value, present: true };
}

// ---------------------------------------------------------------------------------------------------------
// Responses.

const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function json(status: number, body: unknown, headers: Record<string, string>): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...BASE_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}

function problemResponse(p: Problem, headers: Record<string, string>): APIGatewayProxyResult {
  return {
    statusCode: p.status,
    headers: { 'content-type': 'application/problem+json', ...BASE_HEADERS, ...headers },
    body: JSON.stringify(p),
  };
}

// ---------------------------------------------------------------------------------------------------------

export interface RouterOptions {
  readonly ctx: AppContext;
  /** The routes this router serves (every route when omitted); each must have its binding. */
  readonly routes?: readonly RouteSpec[];
  readonly bindings: Partial<Bindings>;
  /** Who the caller is when the event names no IAM principal (the local server says `local-operator`). */
  readonly defaultCaller?: string;
  /**
   * The context of the function that serves a route, where one process serves the routes of several (the
   * local server: each function's own credentials, judged by local IAM). @default `ctx` for every route
   */
  readonly ctxFor?: (fn: ApiFunctionId) => AppContext;
}

export type ApiHandler = (event: unknown) => Promise<APIGatewayProxyResult>;

export function createRouter(options: RouterOptions): ApiHandler {
  const { ctx, bindings } = options;
  const served = new Set((options.routes ?? ADMIN_ROUTER_ROUTES).map((route) => route.id));
  for (const id of served) {
    if (!(id in bindings)) throw new Error(`route ${id} has no binding`);
  }
  return async (raw) => {
    const parsedEvent = safeParse(ProxyEventSchema, raw);
    if (!parsedEvent.success) {
      return problemResponse(
        problem(400, 'validation', 'the request could not be read', fieldErrors('event', parsedEvent.issues)),
        {},
      );
    }
    const event = parsedEvent.data;
    const requestId = event.requestContext?.requestId ?? `local-${Date.now().toString(36)}`;
    const headersOut = { 'x-request-id': requestId };
    const method = event.httpMethod.toUpperCase();
    let routeId: string | undefined;
    try {
      const found = findRoute(event, method);
      if (!('spec' in found)) {
        const detail = found.allowed.length
          ? `no route ${method} ${event.path}; this path takes ${found.allowed.join(', ')}`
          : `no route ${method} ${event.path}`;
        return problemResponse(problem(404, 'route_not_found', detail), headersOut);
      }
      const { spec } = found;
      if (!served.has(spec.id)) {
        // API Gateway sends each route to the function that serves it; this is a misrouted call.
        return problemResponse(
          problem(404, 'route_not_found', `${method} ${event.path} is served by another function`),
          headersOut,
        );
      }
      routeId = spec.id;

      if (spec.params) {
        const params = safeParse(spec.params, found.params);
        if (!params.success) {
          throw new HttpProblem(
            problem(404, 'not_found', `nothing at ${event.path}`, fieldErrors('path', params.issues)),
          );
        }
      }
      const headers = lowerCaseHeaders(event);
      const body = readBody(event, spec, headers);

      const errors: FieldError[] = [];
      const queryRaw = queryOf(event, errors);
      const query = safeParse(spec.query, queryRaw);
      if (!query.success) errors.push(...fieldErrors('query', query.issues));
      const parsedBody = spec.body ? safeParse(spec.body, body.present ? body.value : {}) : undefined;
      if (parsedBody && !parsedBody.success) errors.push(...fieldErrors('body', parsedBody.issues));
      const ifMatch = spec.ifMatch ? parseIfMatch(headers.get('if-match'), errors) : undefined;
      if (errors.length || !query.success || (parsedBody && !parsedBody.success)) {
        throw new HttpProblem(
          problem(400, 'validation', `the request has ${errors.length} invalid field(s)`, errors),
        );
      }

      const input: RequestInput = {
        params: (spec.params ? parse(spec.params, found.params) : {}) as RequestInput['params'],
        query: query.data,
        body: parsedBody?.data,
        caller: event.requestContext?.identity?.userArn ?? options.defaultCaller ?? 'unknown-caller',
        requestId,
        ...(ifMatch !== undefined ? { ifMatch } : {}),
      };
      const binding = bindings[spec.id as RouteId] as unknown as Binding<RouteSpec>;
      const result = await binding(options.ctxFor?.(functionOf(spec)) ?? ctx, input);
      return json(result.status, result.body, { ...headersOut, ...(result.headers ?? {}) });
    } catch (error) {
      if (error instanceof HttpProblem) return problemResponse(error.problem, headersOut);
      if (error instanceof ThrottledError) {
        return problemResponse(problemFromDomainError(error), {
          ...headersOut,
          'retry-after': String(error.retryAfterSeconds),
        });
      }
      if (isDomainError(error)) return problemResponse(problemFromDomainError(error), headersOut);
      // DynamoDB refused for capacity after the SDK's retries (a read, or a write outside saveSession): the
      // request changed nothing and can be tried again; that is a 503, not a failure of ours.
      if (isThrottling(error)) {
        return problemResponse(
          problem(503, 'throttled', 'DynamoDB is throttling this table; nothing was changed, retry shortly'),
          { ...headersOut, 'retry-after': String(THROTTLED_RETRY_AFTER_SECONDS) },
        );
      }
      // Input was validated before the binding ran; a SchemaError from inside is a stored item that fails
      // its schema, which is ours to fix (logged below), not the caller's.
      logger.error('unhandled error in the admin API', { route: routeId, requestId, error });
      return problemResponse(
        problem(500, 'internal', `the request failed on our side; quote request id ${requestId}`),
        headersOut,
      );
    }
  };
}
