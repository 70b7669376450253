// The attempt outbox. An attempt item is written in the same transaction as the claim (state `queued`,
// in the sparse `outbox` index until `dispatchAfter`), its messages are published to the channel queues
// after the commit, and only then does it become `dispatched`. A sweep that dies in between leaves a
// queued attempt that the next sweep finds in the outbox index once the lease has passed: nothing is lost
// between DynamoDB and SQS.
import { createHash } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import type { Channel } from '../infra/resources.ts';
import { type ChannelMessage, type RecoveryMessage, RecoveryMessageSchema } from '../messages.ts';
import { parse } from '../schema.ts';
import { isConditionalCheckFailed } from './dynamo-errors.ts';
import { queryShard, shardOf } from './sessions.ts';

export interface AttemptItem {
  sessionId: string;
  sk: string;
  type: 'attempt';
  at: string;
  attemptId: string;
  number: number;
  maxRetries: number;
  final: boolean;
  channels: Channel[];
  state: 'queued' | 'dispatched';
  /** The session version the claim wrote. */
  fence: number;
  messages: RecoveryMessage[];
  triggeredBy: string;
  reason?: string;
  outboxShard?: string;
  dispatchAfter?: string;
  dispatchOwner?: string;
  dispatchedAt?: string;
}

/** Deterministic per session and attempt number: a second claim of the same attempt cannot hide. */
export function attemptIdFor(sessionId: string, number: number): string {
  return `att_${createHash('sha256').update(`${sessionId}#${number}`).digest('hex').slice(0, 24)}`;
}

export function outboxFields(attempt: Pick<AttemptItem, 'attemptId'>, dispatchAfter: string, shards: number) {
  return { outboxShard: shardOf(attempt.attemptId, shards), dispatchAfter };
}

export class PublishError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PublishError';
  }
}

/** Sends each message to its channel's queue. Throws if any message was not accepted. */
export async function publishMessages(ctx: AppContext, messages: readonly ChannelMessage[]): Promise<void> {
  const byChannel = new Map<Channel, ChannelMessage[]>();
  for (const m of messages) byChannel.set(m.channel, [...(byChannel.get(m.channel) ?? []), m]);
  await Promise.all(
    [...byChannel].map(async ([channel, list]) => {
      const queueUrl = ctx.queues[channel]?.url;
      if (!queueUrl) throw new PublishError(`no queue configured for channel ${channel}`);
      for (let i = 0; i < list.length; i += 10) {
        const chunk = list.slice(i, i + 10);
        const res = await ctx.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
          }),
        );
        if (res.Failed?.length) {
          throw new PublishError(
            `${res.Failed.length} message(s) refused by the ${channel} queue: ${res.Failed.map((f) => f.Message ?? f.Code).join('; ')}`,
          );
        }
      }
    }),
  );
}

/** queued → dispatched, once; false if another sweep got there first. */
export async function markDispatched(ctx: AppContext, attempt: AttemptItem): Promise<boolean> {
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: { sessionId: attempt.sessionId, sk: attempt.sk },
        UpdateExpression: 'SET #state = :dispatched, dispatchedAt = :at REMOVE outboxShard, dispatchAfter',
        ConditionExpression: '#state = :queued',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':dispatched': 'dispatched',
          ':queued': 'queued',
          ':at': ctx.clock().toISOString(),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Undispatched attempts of one outbox shard whose dispatch lease has passed. */
export async function findStaleOutbox(
  ctx: AppContext,
  shard: string,
  now: Date,
  limit: number,
): Promise<AttemptItem[]> {
  const page = await queryShard(ctx, {
    table: ctx.tables.timeline,
    index: 'outbox',
    shardAttr: 'outboxShard',
    sortAttr: 'dispatchAfter',
    shard,
    upTo: now.toISOString(),
    limit,
  });
  return page.items as unknown as AttemptItem[];
}

/**
 * Takes over a stale queued attempt for re-dispatch: moves its dispatch lease forward only if nobody
 * else did since it was read, so two sweeps never re-publish the same attempt.
 */
export async function takeOverOutboxItem(
  ctx: AppContext,
  attempt: AttemptItem,
  owner: string,
  leaseSeconds: number,
): Promise<AttemptItem | undefined> {
  const dispatchAfter = new Date(ctx.clock().getTime() + leaseSeconds * 1000).toISOString();
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: { sessionId: attempt.sessionId, sk: attempt.sk },
        UpdateExpression: 'SET dispatchAfter = :next, dispatchOwner = :owner',
        ConditionExpression: '#state = :queued AND dispatchAfter = :seen',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':next': dispatchAfter,
          ':owner': owner,
          ':queued': 'queued',
          ':seen': attempt.dispatchAfter,
        },
      }),
    );
    return { ...attempt, dispatchAfter, dispatchOwner: owner };
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/** Messages stored on an attempt item are re-validated before they are published again. */
export function storedMessages(attempt: AttemptItem): RecoveryMessage[] {
  return attempt.messages.map((m) => parse(RecoveryMessageSchema, m));
}
