// Lambda entry of the admin API: API Gateway (REST, AWS_IAM) proxy event → router → response. The context
// is read from env once per cold start; a missing variable fails the cold start loudly.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { createApiHandler } from '../shared/api/handler.ts';
import { contextFromEnv } from '../shared/context.ts';
import { logger } from '../shared/observability/logger.ts';

const api = createApiHandler(contextFromEnv());

// The router validates the event itself (it answers 400 to one it cannot read), hence `unknown` here.
export const handler = middy(async (event: unknown): Promise<APIGatewayProxyResult> => api(event)).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
