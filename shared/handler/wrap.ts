// The one place that decides the middleware of every Lambda: the logger context first, so everything
// after it logs with the request id. Metrics are published by each emitter when its unit of work ends
// (a run, a delivered message), so no flush-on-exit middleware is needed.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../observability/logger.ts';

export function wrapHandler<TEvent, TResult>(fn: (event: TEvent, context: Context) => Promise<TResult>) {
  return middy(fn).use(injectLambdaContext(logger));
}
