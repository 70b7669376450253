// The admin API as one function of an API Gateway REST proxy event: the router with the use-case bindings,
// built once per context. The Lambda entry (functions/api.ts), the local HTTP server and the tests all
// call this, so they serve the very same API.
import type { AppContext } from '../context.ts';
import { BINDINGS } from './bindings.ts';
import { type ApiHandler, createRouter } from './router.ts';

export type { ApiHandler } from './router.ts';

export function createApiHandler(ctx: AppContext, options: { defaultCaller?: string } = {}): ApiHandler {
  return createRouter({ ctx, bindings: BINDINGS, defaultCaller: options.defaultCaller });
}
