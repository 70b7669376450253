// The admin API's route table: method, path, access level, schemas and statuses of every route. The Lambda
// router, the local HTTP server, the OpenAPI document and the CDK REST API (one method per entry, IAM
// policies by `access`) are all built from it. Deliberately free of use cases and the AWS SDK: the CDK
// app imports it. Use cases are bound to route ids in ./bindings.ts.
import type * as v from 'valibot';
import type { ResponseName } from './responses.ts';
import * as S from './schemas.ts';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type Access = 'read' | 'write';
export type ErrorStatus = 400 | 403 | 404 | 409 | 413 | 415;

export interface ResponseSpec {
  readonly status: number;
  readonly description: string;
  /** The response schema, by its name in ./responses.ts. */
  readonly schema: ResponseName;
}

/**
 * The Lambda that serves a route. Jobs, runs and dead letters (`/v1/admin/*`, on-call's tools) run in
 * their own function: it holds the sweep and monitor, the DLQ receive/delete rights and the metrics
 * emitter, none of which the product-facing routes need.
 */
export type ApiFunctionId = 'api' | 'api-admin' | 'receipts' | 'ingest';

/**
 * A route reachable without AWS credentials (everything under `/v1/public/`): authorization NONE in API
 * Gateway, so the route verifies its own token or signature, answers in its caller's format, and is
 * served by its own router (shared/public/router.ts), never the admin router. Stage throttling and the
 * optional WAF cover it like every route.
 */
export interface PublicRouteSpec {
  /** What proves the caller (documented in the OpenAPI document): `hmac-token`, `twilio-signature`, … */
  readonly verifiedBy: string;
  /** The form body (`application/x-www-form-urlencoded`) the route reads, when it reads one. */
  readonly form?: v.GenericSchema;
  /** The media type of its answers. */
  readonly responds: 'text/html' | 'text/xml' | 'application/json';
}

export interface RouteSpec {
  /** Stable id, the OpenAPI operationId, and the key of the use-case binding. */
  readonly id: string;
  readonly method: HttpMethod;
  /** Full path including `/v1`, with `{param}` placeholders. */
  readonly path: string;
  readonly access: Access;
  /**
   * The product's own route: register, update and read a session (its timeline included). The product
   * policy (CDK) grants these and nothing else; every other route needs the operator or read policy. IAM's
   * `*` in `GET …/v1/sessions/*` also matches `{id}/timeline`, so reading a session cannot be granted
   * without its timeline: both are marked, and the template test checks that no other route matches.
   */
  readonly product?: true;
  readonly tag: string;
  readonly params?: v.StrictObjectSchema<v.ObjectEntries, undefined>;
  readonly query: v.GenericSchema<unknown, Record<string, unknown>>;
  /** Present when the route takes a JSON body; absent routes refuse any body. */
  readonly body?: v.GenericSchema;
  /** Success responses (and readiness's 503, which is a report, not a problem). */
  readonly responses: readonly [ResponseSpec, ...ResponseSpec[]];
  /** Problem statuses the route can answer with besides 5xx-never. */
  readonly errors: readonly ErrorStatus[];
  /** Reads answer with an ETag (the session version). */
  readonly etag?: boolean;
  /** Writes honour If-Match (409 when stale). */
  readonly ifMatch?: boolean;
  /** @default 'api' */
  readonly function?: ApiFunctionId;
  /** Present on public routes only; every other route is AWS_IAM. */
  readonly public?: PublicRouteSpec;
}

function route<const R extends RouteSpec>(spec: R): R {
  return spec;
}

const sessionErrors = [400, 404, 409, 413, 415] as const;
const bodyErrors = [400, 413, 415] as const;

/** A provider webhook of #14 (`POST /v1/public/hooks/<provider>`): public, answers JSON, served by ingest. */
function hook<const P extends string>(provider: P, verifiedBy: string) {
  return route({
    id: `${provider}Hook` as const,
    function: 'ingest',
    method: 'POST',
    path: `/v1/public/hooks/${provider}`,
    access: 'write',
    tag: 'public',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'Received', schema: 'EventReceipt' }],
    errors: bodyErrors,
    public: { verifiedBy, responds: 'application/json' },
  });
}

/** Every route, keyed by id. */
export const ROUTE = {
  registerSession: route({
    id: 'registerSession',
    method: 'POST',
    path: '/v1/sessions',
    access: 'write',
    product: true,
    tag: 'sessions',
    query: S.NoQuery,
    body: S.RegisterSessionBody,
    responses: [
      { status: 201, description: 'Registered', schema: 'Session' },
      { status: 200, description: 'Already registered with the same content', schema: 'Session' },
    ],
    errors: [400, 409, 413, 415],
    etag: true,
  }),
  listSessions: route({
    id: 'listSessions',
    method: 'GET',
    path: '/v1/sessions',
    access: 'read',
    tag: 'sessions',
    query: S.ListSessionsQuery,
    responses: [{ status: 200, description: 'A page of sessions', schema: 'SessionPage' }],
    errors: [400],
  }),
  getSession: route({
    id: 'getSession',
    method: 'GET',
    path: '/v1/sessions/{id}',
    access: 'read',
    product: true,
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The session', schema: 'Session' }],
    errors: [400, 404],
    etag: true,
  }),
  updateSession: route({
    id: 'updateSession',
    method: 'PATCH',
    path: '/v1/sessions/{id}',
    access: 'write',
    product: true,
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.NoQuery,
    body: S.UpdateSessionBody,
    responses: [{ status: 200, description: 'The session', schema: 'Session' }],
    errors: sessionErrors,
    etag: true,
    ifMatch: true,
  }),
  getTimeline: route({
    id: 'getTimeline',
    method: 'GET',
    path: '/v1/sessions/{id}/timeline',
    access: 'read',
    product: true,
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.PageQuery,
    responses: [{ status: 200, description: 'A page of events', schema: 'TimelinePage' }],
    errors: [400, 404],
  }),
  regenerateSession: route({
    id: 'regenerateSession',
    method: 'POST',
    path: '/v1/sessions/{id}/regenerate',
    access: 'write',
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.NoQuery,
    body: S.RegenerateBody,
    responses: [{ status: 200, description: 'The session', schema: 'Session' }],
    errors: sessionErrors,
    etag: true,
    ifMatch: true,
  }),
  retryNow: route({
    id: 'retryNow',
    method: 'POST',
    path: '/v1/sessions/{id}/retry-now',
    access: 'write',
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 202, description: 'The attempt is made', schema: 'RetryNow' }],
    errors: sessionErrors,
    ifMatch: true,
  }),
  pauseSession: route({
    id: 'pauseSession',
    method: 'POST',
    path: '/v1/sessions/{id}/pause',
    access: 'write',
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 200, description: 'The session', schema: 'Session' }],
    errors: sessionErrors,
    etag: true,
    ifMatch: true,
  }),
  resumeSession: route({
    id: 'resumeSession',
    method: 'POST',
    path: '/v1/sessions/{id}/resume',
    access: 'write',
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 200, description: 'The session', schema: 'Session' }],
    errors: sessionErrors,
    etag: true,
    ifMatch: true,
  }),
  recoverSession: route({
    id: 'recoverSession',
    method: 'POST',
    path: '/v1/sessions/{id}/recover',
    access: 'write',
    tag: 'sessions',
    params: S.SessionIdParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 200, description: 'The session', schema: 'Session' }],
    errors: sessionErrors,
    etag: true,
    ifMatch: true,
  }),
  resetStuckSessions: route({
    id: 'resetStuckSessions',
    method: 'POST',
    path: '/v1/sessions/reset-stuck',
    access: 'write',
    tag: 'sessions',
    query: S.NoQuery,
    body: S.ResetStuckBody,
    responses: [{ status: 200, description: 'What matched, and what changed', schema: 'ResetStuck' }],
    errors: bodyErrors,
  }),
  createPolicy: route({
    id: 'createPolicy',
    method: 'POST',
    path: '/v1/retry/policies',
    access: 'write',
    tag: 'policies',
    query: S.NoQuery,
    body: S.CreatePolicyBody,
    responses: [{ status: 201, description: 'The policy', schema: 'RetryPolicy' }],
    // 409: an activation lost every bounded round to other activations of the org; nothing was written.
    errors: [400, 409, 413, 415],
  }),
  listPolicies: route({
    id: 'listPolicies',
    method: 'GET',
    path: '/v1/retry/policies',
    access: 'read',
    tag: 'policies',
    query: S.ListPoliciesQuery,
    responses: [{ status: 200, description: 'A page of policies', schema: 'PolicyPage' }],
    errors: [400],
  }),
  getActivePolicy: route({
    id: 'getActivePolicy',
    method: 'GET',
    path: '/v1/retry/policies/active',
    access: 'read',
    tag: 'policies',
    query: S.OrgQuery,
    responses: [{ status: 200, description: 'The policy', schema: 'RetryPolicy' }],
    errors: [400],
  }),
  getPolicy: route({
    id: 'getPolicy',
    method: 'GET',
    path: '/v1/retry/policies/{id}',
    access: 'read',
    tag: 'policies',
    params: S.PolicyIdParams,
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The policy', schema: 'RetryPolicy' }],
    errors: [400, 404],
  }),
  deactivatePolicy: route({
    id: 'deactivatePolicy',
    method: 'DELETE',
    path: '/v1/retry/policies/{id}',
    access: 'write',
    tag: 'policies',
    params: S.PolicyIdParams,
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The policy, active: false', schema: 'RetryPolicy' }],
    errors: [400, 404],
  }),
  previewPolicy: route({
    id: 'previewPolicy',
    method: 'GET',
    path: '/v1/retry/policies/{id}/preview',
    access: 'read',
    tag: 'policies',
    params: S.PolicyIdParams,
    query: S.PreviewQuery,
    responses: [{ status: 200, description: 'The schedule', schema: 'Preview' }],
    errors: [400, 404],
  }),
  getStats: route({
    id: 'getStats',
    method: 'GET',
    path: '/v1/retry/stats',
    access: 'read',
    tag: 'policies',
    query: S.StatsQuery,
    responses: [{ status: 200, description: 'The counters', schema: 'Stats' }],
    errors: [400],
  }),
  getStatsSeries: route({
    id: 'getStatsSeries',
    method: 'GET',
    path: '/v1/retry/stats/series',
    access: 'read',
    tag: 'policies',
    query: S.StatsSeriesQuery,
    responses: [{ status: 200, description: 'One bucket per hour or day', schema: 'StatsSeries' }],
    errors: [400],
  }),
  listAttemptNotifications: route({
    id: 'listAttemptNotifications',
    method: 'GET',
    path: '/v1/attempts/{attemptId}/notifications',
    access: 'read',
    tag: 'sessions',
    params: S.AttemptIdParams,
    query: S.PageQuery,
    responses: [{ status: 200, description: 'A page of outcomes', schema: 'OutcomePage' }],
    errors: [400, 404],
  }),
  getJobsStatus: route({
    id: 'getJobsStatus',
    function: 'api-admin',
    method: 'GET',
    path: '/v1/admin/jobs/status',
    access: 'read',
    tag: 'admin',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The jobs', schema: 'JobsStatus' }],
    errors: [400],
  }),
  runJob: route({
    id: 'runJob',
    function: 'api-admin',
    method: 'POST',
    path: '/v1/admin/jobs/{job}/run',
    access: 'write',
    tag: 'admin',
    params: S.JobParams,
    query: S.NoQuery,
    body: S.RunJobBody,
    responses: [
      {
        status: 202,
        description: 'Started in the job function; its record appears at /v1/admin/runs when it ends',
        schema: 'RunStarted',
      },
    ],
    errors: [400, 404, 413, 415],
  }),
  listRuns: route({
    id: 'listRuns',
    function: 'api-admin',
    method: 'GET',
    path: '/v1/admin/runs',
    access: 'read',
    tag: 'admin',
    query: S.ListRunsQuery,
    responses: [{ status: 200, description: 'A page of run records', schema: 'RunPage' }],
    errors: [400],
  }),
  pauseJob: route({
    id: 'pauseJob',
    function: 'api-admin',
    method: 'POST',
    path: '/v1/admin/jobs/{job}/pause',
    access: 'write',
    tag: 'admin',
    params: S.JobParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 200, description: 'The job state', schema: 'JobState' }],
    errors: [400, 404, 413, 415],
  }),
  resumeJob: route({
    id: 'resumeJob',
    function: 'api-admin',
    method: 'POST',
    path: '/v1/admin/jobs/{job}/resume',
    access: 'write',
    tag: 'admin',
    params: S.JobParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 200, description: 'The job state', schema: 'JobState' }],
    errors: [400, 404, 413, 415],
  }),
  listDlqs: route({
    id: 'listDlqs',
    function: 'api-admin',
    method: 'GET',
    path: '/v1/admin/dlq',
    access: 'read',
    tag: 'admin',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The queues', schema: 'Dlq' }],
    errors: [400],
  }),
  replayDlq: route({
    id: 'replayDlq',
    function: 'api-admin',
    method: 'POST',
    path: '/v1/admin/dlq/{channel}/replay',
    access: 'write',
    tag: 'admin',
    params: S.ChannelParams,
    query: S.NoQuery,
    body: S.ReplayBody,
    responses: [{ status: 200, description: 'What matched and what moved', schema: 'Replay' }],
    errors: [400, 404, 413, 415],
  }),
  readyz: route({
    id: 'readyz',
    function: 'api-admin',
    method: 'GET',
    path: '/v1/health/readyz',
    access: 'read',
    tag: 'health',
    query: S.NoQuery,
    responses: [
      { status: 200, description: 'Ready (ok or degraded)', schema: 'Ready' },
      { status: 503, description: 'A component is in error', schema: 'Ready' },
    ],
    errors: [400],
  }),
  sessionsHealth: route({
    id: 'sessionsHealth',
    function: 'api-admin',
    method: 'GET',
    path: '/v1/health/sessions',
    access: 'read',
    tag: 'health',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'Session health', schema: 'SessionsHealth' }],
    errors: [400],
  }),
  stuckSessions: route({
    id: 'stuckSessions',
    function: 'api-admin',
    method: 'GET',
    path: '/v1/health/sessions/stuck',
    access: 'read',
    tag: 'health',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'Stuck sessions', schema: 'StuckSessions' }],
    errors: [400],
  }),
  getRecipient: route({
    id: 'getRecipient',
    method: 'GET',
    path: '/v1/recipients/{address}',
    access: 'read',
    tag: 'recipients',
    params: S.RecipientParams,
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The recipient', schema: 'Recipient' }],
    errors: [400, 404],
  }),
  suppressRecipient: route({
    id: 'suppressRecipient',
    method: 'POST',
    path: '/v1/recipients/{address}/suppressions',
    access: 'write',
    tag: 'recipients',
    params: S.RecipientParams,
    query: S.NoQuery,
    body: S.SuppressBody,
    responses: [{ status: 200, description: 'Suppressed (or already)', schema: 'SuppressionChange' }],
    errors: [400, 404, 413, 415],
  }),
  liftSuppression: route({
    id: 'liftSuppression',
    method: 'DELETE',
    path: '/v1/recipients/{address}/suppressions/{channel}',
    access: 'write',
    tag: 'recipients',
    params: S.RecipientChannelParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 200, description: 'Lifted (or was not suppressed)', schema: 'SuppressionChange' }],
    errors: [400, 404, 413, 415],
  }),
  getReputation: route({
    id: 'getReputation',
    method: 'GET',
    path: '/v1/admin/reputation',
    access: 'read',
    tag: 'admin',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'Rates and pauses', schema: 'Reputation' }],
    errors: [400],
    function: 'api-admin',
  }),
  resumeChannelSending: route({
    id: 'resumeChannelSending',
    method: 'POST',
    path: '/v1/admin/channels/{channel}/resume',
    access: 'write',
    tag: 'admin',
    params: S.ConsentChannelParams,
    query: S.NoQuery,
    body: S.ReasonBody,
    responses: [{ status: 200, description: 'Sending state', schema: 'ChannelSending' }],
    errors: [400, 404, 413, 415],
    function: 'api-admin',
  }),
  unsubscribePage: route({
    id: 'unsubscribePage',
    method: 'GET',
    path: '/v1/public/unsubscribe/{token}',
    access: 'read',
    tag: 'public',
    params: S.UnsubscribeTokenParams,
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The confirm page', schema: 'Html' }],
    errors: [400, 404],
    function: 'receipts',
    public: { verifiedBy: 'hmac-token', responds: 'text/html' },
  }),
  unsubscribeOneClick: route({
    id: 'unsubscribeOneClick',
    method: 'POST',
    path: '/v1/public/unsubscribe/{token}',
    access: 'write',
    tag: 'public',
    params: S.UnsubscribeTokenParams,
    query: S.NoQuery,
    responses: [{ status: 200, description: 'Unsubscribed', schema: 'Html' }],
    errors: [400, 404, 413, 415],
    function: 'receipts',
    public: { verifiedBy: 'hmac-token', form: S.OneClickForm, responds: 'text/html' },
  }),
  twilioStatus: route({
    id: 'twilioStatus',
    method: 'POST',
    path: '/v1/public/hooks/twilio/status',
    access: 'write',
    tag: 'public',
    query: S.TwilioStatusQuery,
    responses: [{ status: 200, description: 'Applied (or ignored as late or repeated)', schema: 'Twiml' }],
    errors: [400, 403, 413, 415],
    function: 'receipts',
    public: { verifiedBy: 'twilio-signature', form: S.TwilioForm, responds: 'text/xml' },
  }),
  twilioInbound: route({
    id: 'twilioInbound',
    method: 'POST',
    path: '/v1/public/hooks/twilio/inbound',
    access: 'write',
    tag: 'public',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'Done', schema: 'Twiml' }],
    errors: [400, 403, 413, 415],
    function: 'receipts',
    public: { verifiedBy: 'twilio-signature', form: S.TwilioForm, responds: 'text/xml' },
  }),
  postEvent: route({
    id: 'postEvent',
    function: 'ingest',
    method: 'POST',
    path: '/v1/events',
    access: 'write',
    // The product's session events over HTTPS: they register and update sessions like the routes above.
    product: true,
    tag: 'events',
    query: S.NoQuery,
    body: S.ProductEventBody,
    responses: [{ status: 202, description: 'Received', schema: 'EventReceipt' }],
    errors: bodyErrors,
  }),
  stripeHook: hook('stripe', 'stripe-signature'),
  shopifyHook: hook('shopify', 'shopify-hmac'),
  openApi: route({
    id: 'openApi',
    method: 'GET',
    path: '/v1/openapi.json',
    access: 'read',
    tag: 'meta',
    query: S.NoQuery,
    responses: [{ status: 200, description: 'The OpenAPI document', schema: 'OpenApi' }],
    errors: [400],
  }),
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof ROUTE;

/** The route table as a list, in declaration order (what CDK and the OpenAPI document iterate). */
export const ROUTES: readonly RouteSpec[] = Object.values(ROUTE);

export function functionOf(route: RouteSpec): ApiFunctionId {
  return route.function ?? 'api';
}

/** The routes one function serves. */
export function routesOf(fn: ApiFunctionId): readonly RouteSpec[] {
  return ROUTES.filter((route) => functionOf(route) === fn);
}

/** Ids of the routes the api-admin function serves (the type of its bindings). */
export type AdminRouteId = {
  [K in RouteId]: (typeof ROUTE)[K] extends { function: 'api-admin' } ? K : never;
}[RouteId];

/** Ids of the routes the ingest function serves (#14: product events and the provider webhooks). */
export type IngestRouteId = {
  [K in RouteId]: (typeof ROUTE)[K] extends { function: 'ingest' } ? K : never;
}[RouteId];

/** Ids of the public routes (served by shared/public/router.ts). */
export type PublicRouteId = {
  [K in RouteId]: (typeof ROUTE)[K] extends { public: PublicRouteSpec } ? K : never;
}[RouteId];

export function isPublicRoute(route: RouteSpec): boolean {
  return route.public !== undefined;
}

/** The routes the admin router serves (every route but the public ones). */
export const ADMIN_ROUTER_ROUTES: readonly RouteSpec[] = ROUTES.filter((r) => !isPublicRoute(r));
export const PUBLIC_ROUTES: readonly RouteSpec[] = ROUTES.filter(isPublicRoute);
