// The two session accesses a sender makes: a consistent read before sending (fence, status, freshest
// contact and link) and the `lastNotifiedAt` stamp after a send.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { SESSION_STATUSES } from '../domain/session-status.ts';
import { type Infer, lenient, parse } from '../schema.ts';

/** Only what the sender needs; the rest of the item is not its business (and may be newer than this code). */
const SessionViewSchema = v.looseObject({
  sessionId: v.string(),
  status: v.picklist(SESSION_STATUSES),
  kind: lenient(v.string()),
  orgId: lenient(v.string()),
  attemptFence: v.optional(v.number()),
  recoveryUrl: lenient(v.string()),
  contact: lenient(v.looseObject({ name: v.optional(v.string()) })),
  /** An operator's pause: checked at send time too (a message claimed before the pause must not go out). */
  automation: lenient(v.looseObject({ paused: v.optional(v.boolean()) })),
});
export type SessionView = Infer<typeof SessionViewSchema>;

export async function readSessionForDelivery(
  ctx: AppContext,
  sessionId: string,
): Promise<SessionView | undefined> {
  const out = await ctx.ddb.send(
    new GetCommand({
      TableName: ctx.tables.sessions,
      Key: { sessionId },
      // A claim that just moved the fence must be seen: an eventually consistent read could miss it.
      ConsistentRead: true,
      ProjectionExpression: 'sessionId, #status, kind, orgId, attemptFence, recoveryUrl, contact, automation',
      ExpressionAttributeNames: { '#status': 'status' },
    }),
  );
  return out.Item ? parse(SessionViewSchema, out.Item) : undefined;
}

/**
 * Stamps the session after a send. Bumps `version` like every session write; never moves `lastNotifiedAt`
 * back, and does nothing to a session that was deleted meanwhile. Returns whether it wrote.
 */
export async function markSessionNotified(ctx: AppContext, sessionId: string, at: Date): Promise<boolean> {
  const t = at.toISOString();
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.sessions,
        Key: { sessionId },
        UpdateExpression: 'SET lastNotifiedAt = :t, updatedAt = :t, #version = #version + :one',
        ConditionExpression:
          'attribute_exists(sessionId) AND (attribute_not_exists(lastNotifiedAt) OR lastNotifiedAt < :t)',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':t': t, ':one': 1 },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
