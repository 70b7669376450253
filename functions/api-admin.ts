// Lambda entry of the admin API's on-call routes (`/v1/admin/*`: jobs, runs, dead-letter queues). Its own
// function: it alone holds DLQ receive/delete rights and may start the job functions (run now, an
// asynchronous invocation: the run goes on in the job's function, not in this request). The context is
// read from env once per cold start.
import { createAdminBindings } from '../shared/api/admin-bindings.ts';
import { cursorKeyFromEnv } from '../shared/api/cursor-key.ts';
import { apiLambdaHandler } from '../shared/api/lambda.ts';
import { createRouter } from '../shared/api/router.ts';
import { routesOf } from '../shared/api/routes.ts';
import { lambdaJobStarter } from '../shared/aws/lambda-invoke.ts';
import { extensionSecretReader } from '../shared/secrets/extension.ts';
import { contextWithSettingsFromEnv } from '../shared/settings.ts';

// Cursors are signed with a generated secret, read through the Parameters and Secrets extension.
const ctx = {
  ...contextWithSettingsFromEnv(),
  cursorKey: cursorKeyFromEnv(process.env, extensionSecretReader()),
};

export const handler = apiLambdaHandler(
  createRouter({
    ctx,
    routes: routesOf('api-admin'),
    bindings: createAdminBindings(lambdaJobStarter(process.env, ctx.sqs.config.credentials)),
  }),
);
