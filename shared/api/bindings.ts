// Route id → use case. Each binding receives input the router already validated, calls one use case with
// the caller as audit, and shapes the answer (views, ETag, cursors). Kept apart from routes.ts because it
// pulls in the use cases and with them the AWS SDK, which the CDK app must not load.

import * as v from 'valibot';
import { normaliseRecipient, recipientKeyOf } from '../domain/recipient-key.ts';
import type { Session } from '../domain/session.ts';
import {
  createPolicy,
  deactivatePolicy,
  getActivePolicy,
  getPolicy,
  listPolicies,
  requirePolicy,
} from '../repositories/policies.ts';
import { requireSession } from '../repositories/sessions.ts';
import { parse } from '../schema.ts';
import { previewPolicy } from '../usecases/policy-preview.ts';
import { getRecipient, liftByOperator, suppressByOperator } from '../usecases/recipients.ts';
import { retryNow } from '../usecases/retry-now.ts';
import { listSessions, SessionListPosition } from '../usecases/session-list.ts';
import { findSessionsByRecipient, RecipientLookupPosition } from '../usecases/session-lookup.ts';
import {
  overrideNextRetry,
  ResetStuckPosition,
  recoverTimedOut,
  registerSession,
  resetStuckSessions,
  setSessionPaused,
  updateSession,
} from '../usecases/sessions.ts';
import { getRecoveryStats } from '../usecases/stats.ts';
import { getStatsSeries } from '../usecases/stats-series.ts';
import {
  listAttemptOutcomes,
  listTimeline,
  OutcomePosition,
  TimelinePosition,
} from '../usecases/timeline.ts';
import { HttpProblem, problem } from './problem.ts';
import { continuation, ok, paging } from './results.ts';
import type { ProductBindings, RouteResult } from './router.ts';
import { etagOf, sessionView } from './views.ts';

const PolicySortKey = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,128}$/));
const PolicyPosition = v.strictObject({ sk: PolicySortKey });

function sessionResult(s: Session, status = 200, extra: Record<string, string> = {}): RouteResult {
  return ok(sessionView(s), status, { etag: etagOf(s), ...extra });
}

/** Where GET /v1/openapi.json gets its document (built in process, or the file shipped with the Lambda). */
export type OpenApiSource = () => Promise<unknown>;

/** The bindings of the routes the `api` function serves (everything but `/v1/admin/*`). */
export function createBindings(openApiDocument: OpenApiSource): ProductBindings {
  return {
    async registerSession(ctx, { body, caller }) {
      if (body.policyId && !(await getPolicy(ctx, body.policyId))) {
        // An unknown id inside a body is a bad body, not a missing resource at this URL.
        throw new HttpProblem(
          problem(400, 'validation', 'the request has 1 invalid field(s)', [
            { path: 'body.policyId', message: `no retry policy ${body.policyId}` },
          ]),
        );
      }
      const { session, created } = await registerSession(ctx, body, { triggeredBy: caller });
      return sessionResult(session, created ? 201 : 200, {
        location: `/v1/sessions/${encodeURIComponent(session.sessionId)}`,
      });
    },

    async listSessions(ctx, { query }) {
      if (query.recipient !== undefined) {
        const recipient = normaliseRecipient(query.recipient);
        if (!recipient) {
          throw new HttpProblem(
            problem(400, 'validation', 'the request has 1 invalid field(s)', [
              { path: 'query.recipient', message: 'an email address or a phone number such as +14155550100' },
            ]),
          );
        }
        const p = await paging(ctx, 'sessions:recipient', query, RecipientLookupPosition);
        const { items, next, after } = await findSessionsByRecipient(ctx, {
          recipientKey: recipientKeyOf(recipient),
          status: query.status,
          kind: query.kind,
          orgId: query.orgId,
          limit: p.limit,
          position: p.position,
        });
        return p.page(items.map(sessionView), next, (i) => after[i] as RecipientLookupPosition);
      }
      const p = await paging(ctx, 'sessions', query, SessionListPosition);
      const { items, next, after } = await listSessions(ctx, {
        status: query.status,
        kind: query.kind,
        orgId: query.orgId,
        limit: p.limit,
        position: p.position,
      });
      return p.page(items.map(sessionView), next, (i) => after[i] as SessionListPosition);
    },

    async getSession(ctx, { params }) {
      return sessionResult(await requireSession(ctx, params.id));
    },

    async updateSession(ctx, { params, body, caller, ifMatch }) {
      return sessionResult(await updateSession(ctx, params.id, body, { triggeredBy: caller }, ifMatch));
    },

    async getTimeline(ctx, { params, query }) {
      const p = await paging(ctx, `timeline:${params.id}`, query, TimelinePosition);
      const { items, next, after } = await listTimeline(ctx, params.id, {
        limit: p.limit,
        position: p.position,
      });
      return p.page(items, next, (i) => after[i] as TimelinePosition);
    },

    async regenerateSession(ctx, { params, body, caller, ifMatch }) {
      const audit = { triggeredBy: caller, reason: body.reason };
      return sessionResult(await overrideNextRetry(ctx, params.id, body, audit, ifMatch));
    },

    async retryNow(ctx, { params, body, caller, ifMatch, requestId }) {
      const result = await retryNow(
        ctx,
        params.id,
        { triggeredBy: caller, reason: body.reason, owner: `api:${requestId}` },
        ifMatch,
      );
      return ok(result, 202);
    },

    async pauseSession(ctx, { params, body, caller, ifMatch }) {
      return sessionResult(
        await setSessionPaused(ctx, params.id, true, { triggeredBy: caller, reason: body.reason }, ifMatch),
      );
    },

    async resumeSession(ctx, { params, body, caller, ifMatch }) {
      return sessionResult(
        await setSessionPaused(ctx, params.id, false, { triggeredBy: caller, reason: body.reason }, ifMatch),
      );
    },

    async recoverSession(ctx, { params, body, caller, ifMatch }) {
      return sessionResult(
        await recoverTimedOut(ctx, params.id, { triggeredBy: caller, reason: body.reason }, ifMatch),
      );
    },

    async resetStuckSessions(ctx, { body, caller }) {
      const { cursor, limit, ...filters } = body;
      const c = await continuation(ctx, 'reset-stuck', filters, cursor, ResetStuckPosition);
      const { next, ...result } = await resetStuckSessions(
        ctx,
        { ...filters, limit, position: c.position },
        { triggeredBy: caller, reason: 'reset-stuck via admin API' },
      );
      return ok({ ...result, nextCursor: c.sign(next) });
    },

    async createPolicy(ctx, { body, caller }) {
      return ok(await createPolicy(ctx, body, { triggeredBy: caller, at: ctx.clock() }), 201);
    },

    async listPolicies(ctx, { query }) {
      const p = await paging(ctx, 'policies', query, PolicyPosition);
      const items: Awaited<ReturnType<typeof listPolicies>>['items'] = [];
      let key: Record<string, unknown> | undefined = p.position
        ? { pk: 'policy', sk: p.position.sk }
        : undefined;
      // The org filter applies after DynamoDB's Limit: read a few pages to fill one.
      for (let pages = 0; pages < 10 && items.length < p.limit; pages++) {
        const res = await listPolicies(ctx, {
          orgId: query.orgId,
          limit: p.limit - items.length,
          startKey: key,
        });
        items.push(...res.items);
        key = res.lastKey;
        if (!key) break;
      }
      return p.page(items, key ? { sk: parse(PolicySortKey, key.sk) } : undefined, (i) => ({
        sk: parse(PolicySortKey, items[i]?.policyId),
      }));
    },

    async getActivePolicy(ctx, { query }) {
      return ok(await getActivePolicy(ctx, query.orgId));
    },

    async getPolicy(ctx, { params }) {
      return ok(await requirePolicy(ctx, params.id));
    },

    async deactivatePolicy(ctx, { params, caller }) {
      return ok(await deactivatePolicy(ctx, params.id, { triggeredBy: caller, at: ctx.clock() }));
    },

    async previewPolicy(ctx, { params, query }) {
      return ok(await previewPolicy(ctx, params.id, query));
    },

    async getStats(ctx, { query }) {
      return ok(await getRecoveryStats(ctx, query));
    },

    async getStatsSeries(ctx, { query }) {
      return ok(await getStatsSeries(ctx, query));
    },

    async listAttemptNotifications(ctx, { params, query }) {
      const p = await paging(ctx, `outcomes:${params.attemptId}`, query, OutcomePosition);
      const { items, next, after } = await listAttemptOutcomes(ctx, params.attemptId, {
        limit: p.limit,
        position: p.position,
      });
      return p.page(items, next, (i) => after[i] as OutcomePosition);
    },

    async getRecipient(ctx, { params }) {
      return ok(await getRecipient(ctx, params.address));
    },

    async suppressRecipient(ctx, { params, body, caller }) {
      return ok(await suppressByOperator(ctx, params.address, body, { triggeredBy: caller }));
    },

    async liftSuppression(ctx, { params, body, caller }) {
      return ok(
        await liftByOperator(ctx, params.address, params.channel, {
          triggeredBy: caller,
          reason: body.reason,
        }),
      );
    },

    async openApi() {
      return ok(await openApiDocument());
    },
  };
}
