// The router of the public routes (`/v1/public/`, authorization NONE in API Gateway): an API Gateway REST
// proxy event in, a response out, never a throw. It finds the route in the route table's public entries,
// checks size and media type, reads the form body (application/x-www-form-urlencoded) and validates path,
// query and form with the route's schemas, then hands the binding everything a verifier needs: the raw
// body, the form as sent, the headers and the full URL the caller used (Twilio signs that URL). Each
// binding verifies its own token or signature before it changes anything. #14's webhooks reuse this.
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { FieldError } from '../api/problem.ts';
import { fieldErrors, HttpProblem, isDomainError, problem, problemFromDomainError } from '../api/problem.ts';
import { ProxyEventSchema } from '../api/router.ts';
import { type ApiFunctionId, functionOf, PUBLIC_ROUTES, type RouteSpec } from '../api/routes.ts';
import { MAX_PUBLIC_BODY_BYTES } from '../api/schemas.ts';
import type { AppContext } from '../context.ts';
import { logger } from '../observability/logger.ts';
import { safeParse } from '../schema.ts';

export interface PublicRequest {
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  /** The form fields as sent (each name once: a repeated name is refused), empty without a form body. */
  readonly form: Record<string, string>;
  readonly rawBody: string;
  /** Lower-case header names. */
  readonly headers: ReadonlyMap<string, string>;
  /** The URL the caller used: the public base URL, the path and the query string. */
  readonly url: string;
  readonly requestId: string;
}

export interface PublicResult {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
  readonly headers?: Record<string, string>;
}

export type PublicBinding = (ctx: AppContext, request: PublicRequest) => Promise<PublicResult>;
export type PublicBindings = Readonly<Record<string, PublicBinding>>;

export interface PublicRouterOptions {
  readonly ctx: AppContext;
  /** The context of the function that serves a route (see the admin router's `ctxFor`). @default `ctx` */
  readonly ctxFor?: (fn: ApiFunctionId) => AppContext;
  readonly bindings: PublicBindings;
  /** The base URL callers reach the API at (PUBLIC_BASE_URL), without a trailing slash. */
  readonly publicBaseUrl: string;
  readonly routes?: readonly RouteSpec[];
}

const FORM = /^application\/x-www-form-urlencoded(?:\s*;.*)?$/i;
const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

interface Compiled {
  readonly spec: RouteSpec;
  readonly parts: ReadonlyArray<{ literal: string } | { param: string }>;
}

function compile(spec: RouteSpec): Compiled {
  return {
    spec,
    parts: spec.path
      .split('/')
      .slice(1)
      .map((s) => {
        const param = /^\{([^}]+)\}$/.exec(s)?.[1];
        return param ? { param } : { literal: s };
      }),
  };
}

type Matched = { spec: RouteSpec; params: Record<string, string> } | { allowed: string[] };

function match(routes: readonly Compiled[], method: string, path: string): Matched {
  const segments = path.split('/').slice(1);
  const allowed: string[] = [];
  for (const route of routes) {
    if (route.parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    route.parts.forEach((part, i) => {
      const segment = segments[i] ?? '';
      if ('literal' in part) ok &&= part.literal === segment;
      else {
        try {
          params[part.param] = decodeURIComponent(segment);
          ok &&= segment !== '';
        } catch {
          ok = false;
        }
      }
    });
    if (!ok) continue;
    if (route.spec.method === method) return { spec: route.spec, params };
    allowed.push(route.spec.method);
  }
  return { allowed };
}

function problemResult(
  status: number,
  kind: Parameters<typeof problem>[1],
  detail: string,
  errors: FieldError[] = [],
) {
  return new HttpProblem(problem(status, kind, detail, errors));
}

function respond(result: PublicResult, requestId: string): APIGatewayProxyResult {
  return {
    statusCode: result.status,
    headers: {
      'content-type': result.contentType,
      ...BASE_HEADERS,
      'x-request-id': requestId,
      ...result.headers,
    },
    body: result.body,
  };
}

export function createPublicRouter(options: PublicRouterOptions) {
  const routes = (options.routes ?? PUBLIC_ROUTES).map(compile);
  for (const route of routes) {
    if (!route.spec.public) throw new Error(`route ${route.spec.id} is not public`);
    if (!options.bindings[route.spec.id]) throw new Error(`public route ${route.spec.id} has no binding`);
  }
  const base = options.publicBaseUrl.replace(/\/+$/, '');

  return async (raw: unknown): Promise<APIGatewayProxyResult> => {
    const parsed = safeParse(ProxyEventSchema, raw);
    const requestId =
      (parsed.success && parsed.data.requestContext?.requestId) || `local-${Date.now().toString(36)}`;
    const fail = (p: ReturnType<typeof problem>) => ({
      statusCode: p.status,
      headers: { 'content-type': 'application/problem+json', ...BASE_HEADERS, 'x-request-id': requestId },
      body: JSON.stringify(p),
    });
    if (!parsed.success) return fail(problem(400, 'validation', 'the request could not be read'));
    const event = parsed.data;
    let routeId: string | undefined;
    try {
      const found = match(routes, event.httpMethod.toUpperCase(), event.path);
      if (!('spec' in found)) {
        throw problemResult(404, 'route_not_found', `no route ${event.httpMethod} ${event.path}`);
      }
      const { spec } = found;
      routeId = spec.id;
      const headers = new Map<string, string>();
      for (const [k, values] of Object.entries(event.multiValueHeaders ?? {}))
        if (values?.length) headers.set(k.toLowerCase(), values.join(','));
      for (const [k, value] of Object.entries(event.headers ?? {}))
        if (typeof value === 'string' && !headers.has(k.toLowerCase())) headers.set(k.toLowerCase(), value);

      const params = spec.params ? safeParse(spec.params, found.params) : undefined;
      if (params && !params.success)
        throw problemResult(404, 'not_found', `nothing at ${event.path}`, fieldErrors('path', params.issues));

      const bytes = event.isBase64Encoded
        ? Buffer.from(event.body ?? '', 'base64')
        : Buffer.from(event.body ?? '', 'utf8');
      if (bytes.length > MAX_PUBLIC_BODY_BYTES)
        throw problemResult(
          413,
          'too_large',
          `the body is ${bytes.length} bytes; at most ${MAX_PUBLIC_BODY_BYTES}`,
        );
      const rawBody = bytes.toString('utf8');
      const contentType = headers.get('content-type');
      const isForm = contentType !== undefined && FORM.test(contentType);
      // Twilio always posts a form; a route that reads a form refuses a body of any other type (a JSON
      // one-click body was read as no form and unsubscribed). An empty one-click POST stays accepted.
      const needsForm =
        spec.public?.verifiedBy === 'twilio-signature' || (spec.public?.form !== undefined && rawBody !== '');
      if (needsForm && !isForm)
        throw problemResult(415, 'media_type', 'the body must be application/x-www-form-urlencoded', [
          {
            path: 'header.Content-Type',
            message: `got ${contentType ? JSON.stringify(contentType) : 'none'}`,
          },
        ]);

      const errors: FieldError[] = [];
      const form: Record<string, string> = {};
      if (isForm && rawBody) {
        for (const [k, value] of new URLSearchParams(rawBody)) {
          if (Object.hasOwn(form, k)) errors.push({ path: `form.${k}`, message: 'given more than once' });
          // defineProperty: a `__proto__` field stays a field.
          Object.defineProperty(form, k, { value, enumerable: true, writable: true, configurable: true });
        }
        if (spec.public?.form) {
          const checked = safeParse(spec.public.form, form);
          if (!checked.success) errors.push(...fieldErrors('form', checked.issues));
        }
      }
      const queryEntries: Array<[string, string]> = [];
      for (const [k, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
        if (!values?.length) continue;
        if (values.length > 1) errors.push({ path: `query.${k}`, message: 'given more than once' });
        queryEntries.push([k, values[0] ?? '']);
      }
      if (!event.multiValueQueryStringParameters)
        for (const [k, value] of Object.entries(event.queryStringParameters ?? {}))
          if (typeof value === 'string') queryEntries.push([k, value]);
      const query = safeParse(spec.query, Object.fromEntries(queryEntries));
      if (!query.success) errors.push(...fieldErrors('query', query.issues));
      if (errors.length || !query.success)
        throw problemResult(400, 'validation', `the request has ${errors.length} invalid field(s)`, errors);

      const search = new URLSearchParams(queryEntries).toString();
      const request: PublicRequest = {
        params: found.params,
        query: query.data,
        form,
        rawBody,
        headers,
        url: `${base}${event.path}${search ? `?${search}` : ''}`,
        requestId,
      };
      const binding = options.bindings[spec.id];
      if (!binding) throw new Error(`no binding for ${spec.id}`);
      return respond(await binding(options.ctxFor?.(functionOf(spec)) ?? options.ctx, request), requestId);
    } catch (error) {
      if (error instanceof HttpProblem) return fail(error.problem);
      if (isDomainError(error)) return fail(problemFromDomainError(error));
      logger.error('unhandled error on a public route', { route: routeId, requestId, error });
      return fail(problem(500, 'internal', `the request failed on our side; quote request id ${requestId}`));
    }
  };
}
