// The logger's Lambda context for the senders: their bundles sit at the size budget, so they get the effect
// of the shared middleware (./wrap.ts) without middy.
import type { Context } from 'aws-lambda';
import { logger } from '../observability/logger.ts';

/**
 * What `injectLambdaContext` does for the other functions, without middy (the senders' bundles sit at their
 * size budget): every line of the invocation carries the request id, function and cold start; keys a
 * record appended are dropped when the invocation ends. Without a Lambda context (the local runtime,
 * tests) the handler runs unchanged.
 */
export function withLambdaContext<TEvent, TResult>(
  fn: (event: TEvent, context?: Context) => Promise<TResult>,
): (event: TEvent, context?: Context) => Promise<TResult> {
  return async (event, context) => {
    if (!context) return fn(event, context);
    // Sampling and event logging are off in this stack (no POWERTOOLS_LOGGER_* settings): not repeated here.
    logger.addContext(context);
    try {
      return await fn(event, context);
    } finally {
      logger.resetKeys();
    }
  };
}
