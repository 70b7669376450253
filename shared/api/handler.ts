// The admin API as one function of an API Gateway REST proxy event: the router with the use-case bindings,
// built once per context. The local HTTP server and the tests serve every route through this; the two
// Lambda entries (functions/api.ts, functions/api-admin.ts) build the same router for their own routes.
import type { AppContext } from '../context.ts';
import { createIngestBindings } from '../events/bindings.ts';
import type { IngestDeps } from '../events/ingest.ts';
import { DEFAULT_ABANDON_AFTER_MINUTES } from '../events/shopify.ts';
import type { JobStarter } from '../usecases/job-start.ts';
import { createAdminBindings } from './admin-bindings.ts';
import { createBindings, type OpenApiSource } from './bindings.ts';
import { type ApiHandler, createRouter } from './router.ts';
import type { ApiFunctionId } from './routes.ts';

export type { ApiHandler } from './router.ts';

export interface ApiHandlerOptions {
  /**
   * The OpenAPI document GET /v1/openapi.json serves. The Lambda reads the file generated at build time
   * (docs/openapi.json, shipped next to its bundle); the local server and tests build it in process
   * (`buildInProcess` of ./openapi.ts). Either way it is the route table's document: a test fails when
   * the file differs from what the code generates.
   */
  readonly openApiDocument: OpenApiSource;
  readonly defaultCaller?: string;
  /** How run-now starts a run: in the background of this process (shared/usecases/job-start-local.ts). */
  readonly startJob: JobStarter;
  /** How POST /v1/events (the ingest function's route) applies events. @default no checkout timers */
  readonly ingest?: IngestDeps;
  /** Each route's function's own context (the local server, under local IAM). @default `ctx` */
  readonly ctxFor?: (fn: ApiFunctionId) => AppContext;
}

/** Every route in one handler: the local server and tests, which stand in for both API functions. */
export function createApiHandler(ctx: AppContext, options: ApiHandlerOptions): ApiHandler {
  return createRouter({
    ctx,
    bindings: {
      ...createBindings(options.openApiDocument),
      ...createAdminBindings(options.startJob),
      ...createIngestBindings(options.ingest ?? { abandonAfterMinutes: DEFAULT_ABANDON_AFTER_MINUTES }),
    },
    defaultCaller: options.defaultCaller,
    ...(options.ctxFor ? { ctxFor: options.ctxFor } : {}),
  });
}
