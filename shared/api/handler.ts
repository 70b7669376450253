// The admin API as one function of an API Gateway REST proxy event: the router with the use-case bindings,
// built once per context. The Lambda entry (functions/api.ts), the local HTTP server and the tests all
// call this, so they serve the very same API.
import type { AppContext } from '../context.ts';
import { createBindings, type OpenApiSource } from './bindings.ts';
import { type ApiHandler, createRouter } from './router.ts';

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
}

export function createApiHandler(ctx: AppContext, options: ApiHandlerOptions): ApiHandler {
  return createRouter({
    ctx,
    bindings: createBindings(options.openApiDocument),
    defaultCaller: options.defaultCaller,
  });
}
