// The Lambda side of an API function: API Gateway (REST, AWS_IAM) proxy event → router → response, with
// the logger's request context. The router validates the event itself (it answers 400 to one it cannot
// read), hence `unknown` here.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { logger } from '../observability/logger.ts';
import type { ApiHandler } from './router.ts';

export function apiLambdaHandler(router: ApiHandler) {
  return middy(async (event: unknown): Promise<APIGatewayProxyResult> => router(event)).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
}
