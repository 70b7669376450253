// The ingest function's routes (#14): POST /v1/events (AWS_IAM, through the admin router) and the two provider
// webhooks under /v1/public/ (authorization NONE, through the public router), each verifying its signature
// before it reads anything. A bad signature is a 400 and changes nothing; a malformed event is a 400 naming
// its fields, counted as rejected; a well-formed event we do not map is a 200 (the provider must not retry
// it, and Stripe disables endpoints that keep failing).
import { HttpProblem, problem } from '../api/problem.ts';
import { ok } from '../api/results.ts';
import type { IngestBindings } from '../api/router.ts';
import type { AppContext } from '../context.ts';
import { logger } from '../observability/logger.ts';
import type { PublicBindings, PublicRequest, PublicResult } from '../public/router.ts';
import { genericEvent } from './generic.ts';
import { countRejected, type IngestDeps, ingestMapped } from './ingest.ts';
import { type ApplyResult, type Mapped, RejectedEventError } from './model.ts';
import type { HookSecrets } from './secrets.ts';
import { mapShopifyWebhook, SHOPIFY_HMAC_HEADER, shopifyHeadersOf, verifyShopifyHmac } from './shopify.ts';
import { mapStripeEvent, STRIPE_SIGNATURE_HEADER, verifyStripeSignature } from './stripe.ts';

export function receiptOf(id: string | undefined, result: ApplyResult) {
  return {
    received: true as const,
    id: id ?? null,
    outcome: result.outcome,
    sessionId: result.sessionId ?? null,
    status: result.status ?? null,
    reason: result.reason ?? null,
  };
}

function rejectedProblem(error: RejectedEventError): HttpProblem {
  return new HttpProblem(
    problem(
      400,
      'validation',
      error.message,
      error.issues.map((i) => ({ path: i.path, message: i.message })),
    ),
  );
}

async function ingestOrReject(ctx: AppContext, deps: IngestDeps, map: () => Mapped, via: string) {
  let mapped: Mapped;
  try {
    mapped = map();
    return {
      id: 'ignored' in mapped ? mapped.id : mapped.id,
      result: await ingestMapped(ctx, deps, mapped, via),
    };
  } catch (error) {
    if (error instanceof RejectedEventError) {
      await countRejected(ctx, deps, error, via);
      throw rejectedProblem(error);
    }
    throw error;
  }
}

export function createIngestBindings(deps: IngestDeps): IngestBindings {
  return {
    async postEvent(ctx, { body, caller }) {
      const { id, type, time, ...detail } = body;
      const { result } = await ingestOrReject(
        ctx,
        deps,
        () => genericEvent({ id, type, time, detail }),
        `POST /v1/events by ${caller}`,
      );
      return ok(receiptOf(id, result), 202);
    },
  };
}

const JSON_TYPE = /^application\/json(\s*;.*)?$/i;

function json(status: number, body: unknown): PublicResult {
  return { status, body: JSON.stringify(body), contentType: 'application/json' };
}

function jsonBody(request: PublicRequest): unknown {
  const contentType = request.headers.get('content-type');
  if (!contentType || !JSON_TYPE.test(contentType))
    throw new HttpProblem(
      problem(415, 'media_type', 'the body must be application/json', [
        { path: 'header.Content-Type', message: `got ${contentType ? JSON.stringify(contentType) : 'none'}` },
      ]),
    );
  try {
    return JSON.parse(request.rawBody) as unknown;
  } catch (error) {
    throw new HttpProblem(
      problem(400, 'validation', 'the body is not valid JSON', [
        { path: 'body', message: error instanceof Error ? error.message : 'not JSON' },
      ]),
    );
  }
}

function badSignature(what: string, reason: string, request: PublicRequest): HttpProblem {
  logger.warn(`webhook refused: ${what} does not verify`, { reason, requestId: request.requestId });
  return new HttpProblem(
    problem(400, 'signature', `the ${what} does not verify: ${reason}`, [
      { path: `header.${what}`, message: reason },
    ]),
  );
}

export function createHookBindings(deps: IngestDeps & { readonly secrets: HookSecrets }): PublicBindings {
  return {
    async stripeHook(ctx, request) {
      const secret = await deps.secrets.stripe();
      const check = verifyStripeSignature(
        secret,
        request.headers.get(STRIPE_SIGNATURE_HEADER),
        request.rawBody,
        ctx.clock(),
      );
      if (!check.ok) throw badSignature('Stripe-Signature', check.reason, request);
      const body = jsonBody(request);
      const { id, result } = await ingestOrReject(ctx, deps, () => mapStripeEvent(body), 'stripe webhook');
      return json(200, receiptOf(id, result));
    },

    async shopifyHook(ctx, request) {
      const secret = await deps.secrets.shopify();
      if (!verifyShopifyHmac(secret, request.headers.get(SHOPIFY_HMAC_HEADER), request.rawBody))
        throw badSignature('X-Shopify-Hmac-Sha256', 'no HMAC of the body with our secret matches', request);
      const body = jsonBody(request);
      const headers = shopifyHeadersOf((name) => request.headers.get(name));
      const { id, result } = await ingestOrReject(
        ctx,
        deps,
        () =>
          mapShopifyWebhook(headers, body, {
            rawBody: request.rawBody,
            abandonAfterMinutes: deps.abandonAfterMinutes,
            ...(deps.shopifyOrgId ? { orgId: deps.shopifyOrgId } : {}),
          }),
        'shopify webhook',
      );
      return json(200, receiptOf(id, result));
    },
  };
}
