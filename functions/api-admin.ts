// Lambda entry of the admin API's on-call routes (`/v1/admin/*`: jobs, runs, dead-letter queues). Its own
// function: it alone bundles the sweep and the monitor (run now), holds DLQ receive/delete rights and emits
// run metrics. The context is read from env once per cold start.
import { ADMIN_BINDINGS } from '../shared/api/admin-bindings.ts';
import { apiLambdaHandler } from '../shared/api/lambda.ts';
import { createRouter } from '../shared/api/router.ts';
import { routesOf } from '../shared/api/routes.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';

export const handler = apiLambdaHandler(
  createRouter({
    ctx: contextWithSettingsFromEnv(),
    routes: routesOf('api-admin'),
    bindings: ADMIN_BINDINGS,
  }),
);
