// Lambda entry of the admin API's on-call routes (`/v1/admin/*`: jobs, runs, dead-letter queues). Its own
// function: it alone bundles the sweep and the monitor (run now), holds DLQ receive/delete rights and emits
// run metrics. The context is read from env once per cold start.
import { ADMIN_BINDINGS } from '../shared/api/admin-bindings.ts';
import { cursorKeyFromEnv } from '../shared/api/cursor-key.ts';
import { apiLambdaHandler } from '../shared/api/lambda.ts';
import { createRouter } from '../shared/api/router.ts';
import { routesOf } from '../shared/api/routes.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';

export const handler = apiLambdaHandler(
  createRouter({
    // Cursors are signed with a generated secret, read through the Parameters and Secrets extension.
    ctx: {
      ...contextWithSettingsFromEnv(),
      cursorKey: cursorKeyFromEnv(process.env, extensionSecretReader()),
    },
    routes: routesOf('api-admin'),
    bindings: ADMIN_BINDINGS,
  }),
);
