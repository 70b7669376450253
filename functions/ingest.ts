// Lambda entry of the ingest function (#14): product events in.
//   - the stage's EventBridge bus: generic session events, Stripe and Shopify partner events (rule targets)
//   - POST /v1/events (AWS_IAM) and the signed webhooks POST /v1/public/hooks/{stripe,shopify} (NONE)
//   - the checkout timer queue: Shopify checkouts that had no order in time become stalled
// One function for all three: they share the mapping, the ledger and every grant (sessions and timeline
// to write, the control table, the timer queue), none of which the other functions need. The hooks are not
// in the receipts function because they write sessions, which receipts never does.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createRouter } from '../shared/api/router.ts';
import { isPublicRoute, routesOf } from '../shared/api/routes.ts';
import { optionalEnv } from '../shared/env.ts';
import { createHookBindings, createIngestBindings } from '../shared/events/bindings.ts';
import { handleBusEvent, handleTimerBatch, isSqsEvent } from '../shared/events/handlers.ts';
import type { IngestDeps } from '../shared/events/ingest.ts';
import { hookSecretsFromEnv } from '../shared/events/secrets.ts';
import { DEFAULT_ABANDON_AFTER_MINUTES } from '../shared/events/shopify.ts';
import { queueTimers } from '../shared/events/timers.ts';
import { logger } from '../shared/observability/logger.ts';
import { createPublicRouter } from '../shared/public/router.ts';
import { integer, numberFromText, parse } from '../shared/schema.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';

const ctx = contextWithSettingsFromEnv();
const timerQueue = optionalEnv('CHECKOUT_TIMER_QUEUE_URL');
const abandonAfter = optionalEnv('SHOPIFY_ABANDON_AFTER_MINUTES');
const shopifyOrgId = optionalEnv('SHOPIFY_ORG_ID');
const deps: IngestDeps = {
  ...(timerQueue ? { timers: queueTimers(ctx, timerQueue) } : {}),
  abandonAfterMinutes: abandonAfter
    ? parse(numberFromText(integer(1, 7 * 24 * 60)), abandonAfter)
    : DEFAULT_ABANDON_AFTER_MINUTES,
  ...(shopifyOrgId ? { shopifyOrgId } : {}),
};
const routes = routesOf('ingest');
const api = createRouter({
  ctx,
  routes: routes.filter((r) => !isPublicRoute(r)),
  bindings: createIngestBindings(deps),
});
const hooks = createPublicRouter({
  ctx,
  publicBaseUrl: optionalEnv('PUBLIC_BASE_URL') ?? '',
  routes: routes.filter(isPublicRoute),
  bindings: createHookBindings({
    ...deps,
    secrets: hookSecretsFromEnv(process.env, extensionSecretReader()),
  }),
});

function apiPath(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || !('httpMethod' in event)) return undefined;
  return 'path' in event && typeof event.path === 'string' ? event.path : '';
}

export const handler = middy(async (event: unknown) => {
  const path = apiPath(event);
  if (path !== undefined) return path.startsWith('/v1/public/') ? hooks(event) : api(event);
  if (isSqsEvent(event)) return handleTimerBatch(ctx, deps, event);
  await handleBusEvent(ctx, deps, event);
  return { ok: true };
}).use(injectLambdaContext(logger, { resetKeys: true }));
