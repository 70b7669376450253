// Lambda entry of the receipts function: what comes back from the providers and the recipients.
//   - SES events of the configuration set, from EventBridge (delivery, bounce, complaint, reject, delay,
//     rendering failure) → shared/receipts/ses-handler.ts
//   - the public routes (`/v1/public/`, authorization NONE): Twilio status callbacks and inbound STOP/START,
//     one-click unsubscribe → shared/public/router.ts, each route verifying its own signature or token
// One function for both: they share every grant (timeline, control table, the two keys) and most code.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { functionOf, PUBLIC_ROUTES } from '../shared/api/routes.ts';
import { publicBaseUrl } from '../shared/consent/channel-settings.ts';
import { contextFromEnv } from '../shared/context.ts';
import { logger } from '../shared/observability/logger.ts';
import { createPublicBindings } from '../shared/public/bindings.ts';
import { createPublicRouter } from '../shared/public/router.ts';
import { publicSecretsFromEnv } from '../shared/public/secrets.ts';
import { handleSesEvent } from '../shared/receipts/ses-handler.ts';
import { guardFromEnv } from '../shared/reputation/guard.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';

const ctx = contextFromEnv();
const guard = guardFromEnv();
const base = publicBaseUrl(process.env);
if (typeof base !== 'string') throw new Error(base.missing);
const router = createPublicRouter({
  ctx,
  publicBaseUrl: base,
  // The provider webhooks of #14 are public too, but the ingest function serves them.
  routes: PUBLIC_ROUTES.filter((route) => functionOf(route) === 'receipts'),
  bindings: createPublicBindings({
    secrets: publicSecretsFromEnv(process.env, extensionSecretReader()),
    guard,
  }),
});

function isApiEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'httpMethod' in event;
}

export const handler = middy(async (event: unknown) => {
  if (isApiEvent(event)) return router(event);
  await handleSesEvent(ctx, event, guard);
  return { ok: true };
}).use(injectLambdaContext(logger, { resetKeys: true }));
