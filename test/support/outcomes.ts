// Reading outcomes back in tests: what the senders wrote for one attempt, one bounded query of the `byAttempt`
// index (production reads them through the paged use case behind GET /v1/attempts/{id}/notifications).
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../../shared/context.ts';
import { type OutcomeItem, OutcomeItemSchema } from '../../shared/repositories/outcomes.ts';
import { parse } from '../../shared/schema.ts';

/** The notification outcomes of an attempt (at most 100: a test's attempt has a handful). */
export async function outcomesOfAttempt(ctx: AppContext, attemptId: string): Promise<OutcomeItem[]> {
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.timeline,
      IndexName: 'byAttempt',
      KeyConditionExpression: 'attemptId = :a',
      FilterExpression: '#type = :notification',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: { ':a': attemptId, ':notification': 'notification' },
      Limit: 100,
    }),
  );
  return (res.Items ?? []).map((item) => parse(OutcomeItemSchema, item));
}
