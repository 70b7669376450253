// The outbox. An attempt item is written in the same transaction as the claim (state `queued`, in the sparse
// `outbox` index), its messages are published to the channel queues after the commit, and only then does it
// become `dispatched` — in one transaction with the session, which learns when its attempt left (the next
// delay runs from there). An ops alert of the timeout monitor goes through the same outbox. A runner that
// dies in between, or a publish that fails, leaves a queued item that the next run finds in the outbox index
// once its dispatch lease has passed: nothing is lost between DynamoDB and SQS, and how long an item has
// waited is what readiness and the outbox-age alarm report.
//
// `dispatchAfter` (the index's sort key) is fixed when the item is written: the claim time plus the lease.
// Taking over a stale item moves a separate `dispatchLeaseUntil`, so the index stays in claim order and its
// first entry per shard is the oldest undispatched item.
//
// Attempts and ops alerts wait in separate key spaces of the index: attempts in the numbered shards, ops
// alerts in the `ops` partition. Each reader reads only its own, so stale items of one kind never fill the
// other's page (an SQS outage's attempts hid the ops alert about that very outage). Alerts written before
// this split sit in a numbered shard; the sweep moves each one it meets to `ops`.
import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import type { Channel } from '../infra/resources.ts';
import { type ChannelMessage, ChannelMessageSchema } from '../messages.ts';
import { parse } from '../schema.ts';
import { isConditionalCheckFailed } from './dynamo-errors.ts';
import { queryShard, shardOf } from './sessions.ts';
import { recordShardCount } from './shards.ts';

/** What every outbox item carries, whichever kind it is. */
interface OutboxFields {
  sessionId: string;
  sk: string;
  /** When the item was written (the claim, or the monitor's run). */
  at: string;
  state: 'queued' | 'dispatched';
  messages: ChannelMessage[];
  outboxShard?: string;
  /** Fixed at write: `at` + the dispatch lease. The outbox index's sort key. */
  dispatchAfter?: string;
  dispatchOwner?: string;
  /** Who may publish it until when; moved by a take-over. */
  dispatchLeaseUntil?: string;
  dispatchedAt?: string;
  /** Publishes that failed, and the last error: an operator reads them on the timeline. */
  dispatchFailures?: number;
  lastDispatchError?: string;
  /** Channels whose messages a failed dispatch did get onto their queue: a re-dispatch skips them. */
  publishedChannels?: Set<string>;
}

export interface AttemptItem extends OutboxFields {
  type: 'attempt';
  attemptId: string;
  number: number;
  maxRetries: number;
  final: boolean;
  channels: Channel[];
  /** The session version the claim wrote. */
  fence: number;
  triggeredBy: string;
  reason?: string;
}

/** One aggregated alert of a timeout-monitor run (partition `ops#<alertId>`, beside its outcomes). */
export interface OpsAlertItem extends OutboxFields {
  type: 'ops_alert';
  alertId: string;
}

export type OutboxItem = AttemptItem | OpsAlertItem;

/** Deterministic per session and attempt number: a second claim of the same attempt cannot hide. */
export function attemptIdFor(sessionId: string, number: number): string {
  return `att_${createHash('sha256').update(`${sessionId}#${number}`).digest('hex').slice(0, 24)}`;
}

/** The outbox partition of ops alerts, apart from the attempts' numbered shards. */
export const OPS_ALERT_OUTBOX = 'ops';

/** The outbox attributes of a new attempt: in the index, owned by its writer until `dispatchAfter`. */
export function outboxFields(id: string, dispatchAfter: string, shards: number, owner: string) {
  return { outboxShard: shardOf(id, shards), ...outboxLease(dispatchAfter, owner) };
}

/** The outbox attributes of a new ops alert: in the alerts' own partition. */
export function opsAlertOutboxFields(dispatchAfter: string, owner: string) {
  return { outboxShard: OPS_ALERT_OUTBOX, ...outboxLease(dispatchAfter, owner) };
}

function outboxLease(dispatchAfter: string, owner: string) {
  return { dispatchAfter, dispatchOwner: owner, dispatchLeaseUntil: dispatchAfter };
}

class PublishError extends Error {
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** Channels whose messages all reached their queue before the failure. */
    readonly published: readonly Channel[] = [],
  ) {
    super(message, options);
    this.name = 'PublishError';
  }
}

/** Sends each message to its channel's queue. Throws if any message was not accepted. */
export async function publishMessages(ctx: AppContext, messages: readonly ChannelMessage[]): Promise<void> {
  const byChannel = new Map<Channel, ChannelMessage[]>();
  for (const m of messages) byChannel.set(m.channel, [...(byChannel.get(m.channel) ?? []), m]);
  const results = await Promise.allSettled(
    [...byChannel].map(async ([channel, list]) => {
      const queueUrl = ctx.queues[channel]?.url;
      if (!queueUrl) throw new PublishError(`no queue configured for channel ${channel}`);
      for (let i = 0; i < list.length; i += 10) {
        const chunk = list.slice(i, i + 10);
        let res: SendMessageBatchCommandOutput;
        try {
          res = await ctx.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: chunk.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
            }),
          );
        } catch (error) {
          throw new PublishError(`the ${channel} queue refused the messages: ${describe(error)}`, {
            cause: error,
          });
        }
        if (res.Failed?.length) {
          throw new PublishError(
            `${res.Failed.length} message(s) refused by the ${channel} queue: ${res.Failed.map((f) => f.Message ?? f.Code).join('; ')}`,
          );
        }
      }
    }),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) {
    const published = [...byChannel.keys()].filter((_, i) => results[i]?.status === 'fulfilled');
    throw new PublishError(
      failed
        .map((f) => (f.reason instanceof PublishError ? f.reason.message : describe(f.reason)))
        .join('; '),
      { cause: failed[0]?.reason },
      published,
    );
  }
}

/** The messages of an outbox item still to publish: a failed dispatch may have got some channels out. */
export function unpublishedMessages(item: OutboxItem): ChannelMessage[] {
  const done = item.publishedChannels ?? new Set<string>();
  return storedMessages(item).filter((m) => !done.has(m.channel));
}

function describe(error: unknown): string {
  return error instanceof Error
    ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
    : String(error);
}

/** The update that takes a queued item out of the outbox (alone, or inside the session's transaction). */
export function dispatchedUpdate(ctx: AppContext, item: Pick<OutboxItem, 'sessionId' | 'sk'>, at: string) {
  return {
    TableName: ctx.tables.timeline,
    Key: { sessionId: item.sessionId, sk: item.sk },
    UpdateExpression:
      'SET #state = :dispatched, dispatchedAt = :at REMOVE outboxShard, dispatchAfter, dispatchLeaseUntil',
    ConditionExpression: '#state = :queued',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':dispatched': 'dispatched', ':queued': 'queued', ':at': at },
  };
}

/** Writes an ops alert into the outbox (once per alert id) before anything is published. */
export async function putOpsAlertItem(ctx: AppContext, item: OpsAlertItem): Promise<void> {
  await recordShardCount(ctx);
  try {
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.timeline,
        Item: item,
        ConditionExpression: 'attribute_not_exists(sk)',
      }),
    );
  } catch (error) {
    // Our own earlier try whose answer was lost: the item is there, which is all we wanted.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** queued → dispatched, once; false if another runner got there first. */
export async function markDispatched(ctx: AppContext, item: OutboxItem): Promise<boolean> {
  try {
    await ctx.ddb.send(new UpdateCommand(dispatchedUpdate(ctx, item, ctx.clock().toISOString())));
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Undispatched items of one outbox shard whose dispatch lease has passed, oldest claim first. */
export async function findStaleOutbox(
  ctx: AppContext,
  shard: string,
  now: Date,
  limit: number,
): Promise<OutboxItem[]> {
  return (await staleOutboxPage(ctx, shard, now, limit)).items;
}

async function staleOutboxPage(
  ctx: AppContext,
  shard: string,
  now: Date,
  limit: number,
  startKey?: Record<string, unknown>,
): Promise<{ items: OutboxItem[]; lastKey?: Record<string, unknown> }> {
  const page = await queryShard(ctx, {
    table: ctx.tables.timeline,
    index: 'outbox',
    shardAttr: 'outboxShard',
    sortAttr: 'dispatchAfter',
    shard,
    upTo: now.toISOString(),
    limit,
    startKey,
  });
  return { items: page.items as unknown as OutboxItem[], lastKey: page.lastKey };
}

/** Pages of a shard a sweep reads past ops alerts written before the split (each one it meets is moved). */
const LEGACY_ALERT_PAGES = 5;

/**
 * Stale attempts of one outbox shard, oldest claim first, at most `limit`. An ops alert met there was written
 * before alerts got their own partition: it is moved to it, and the read goes on past it (bounded).
 */
export async function findStaleAttempts(
  ctx: AppContext,
  shard: string,
  now: Date,
  limit: number,
): Promise<AttemptItem[]> {
  const attempts: AttemptItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < LEGACY_ALERT_PAGES && attempts.length < limit; page++) {
    const res = await staleOutboxPage(ctx, shard, now, limit - attempts.length, startKey);
    let legacy = 0;
    for (const item of res.items) {
      if (item.type === 'attempt') attempts.push(item);
      else {
        legacy++;
        await moveToOpsAlertOutbox(ctx, item, shard);
      }
    }
    startKey = res.lastKey;
    if (!startKey || legacy === 0) break;
  }
  return attempts;
}

/** Stale ops alerts (their own partition), oldest first, at most `limit`. */
export async function findStaleOpsAlerts(ctx: AppContext, now: Date, limit: number): Promise<OpsAlertItem[]> {
  return (await findStaleOutbox(ctx, OPS_ALERT_OUTBOX, now, limit)).filter(
    (i): i is OpsAlertItem => i.type === 'ops_alert',
  );
}

/** An ops alert from before the split, out of an attempts' shard into the alerts' partition (once). */
async function moveToOpsAlertOutbox(ctx: AppContext, item: OutboxItem, from: string): Promise<void> {
  // False when it was dispatched or moved meanwhile: nothing left to move.
  await updateQueuedItem(ctx, item, {
    UpdateExpression: 'SET outboxShard = :ops',
    ConditionExpression: '#state = :queued AND outboxShard = :from',
    ExpressionAttributeValues: { ':ops': OPS_ALERT_OUTBOX, ':from': from },
  });
}

/** A conditional update of a queued outbox item (`#state`, `:queued` given); false when its condition failed. */
async function updateQueuedItem(
  ctx: AppContext,
  item: Pick<OutboxItem, 'sessionId' | 'sk'>,
  update: {
    UpdateExpression: string;
    ConditionExpression: string;
    ExpressionAttributeValues: Record<string, unknown>;
  },
): Promise<boolean> {
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: { sessionId: item.sessionId, sk: item.sk },
        ...update,
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':queued': 'queued' },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** The oldest item still in the outbox over the given shards (its `at`), or undefined when it is empty. */
export async function oldestInOutbox(
  ctx: AppContext,
  shards: readonly string[],
): Promise<OutboxItem | undefined> {
  return (await outboxHeads(ctx, shards))[0];
}

/** The first item of each outbox shard (one read per shard), oldest first. */
export async function outboxHeads(ctx: AppContext, shards: readonly string[]): Promise<OutboxItem[]> {
  const heads = await Promise.all(
    shards.map(async (shard) => {
      const res = await ctx.ddb.send(
        new QueryCommand({
          TableName: ctx.tables.timeline,
          IndexName: 'outbox',
          KeyConditionExpression: 'outboxShard = :shard',
          ExpressionAttributeValues: { ':shard': shard },
          Limit: 1,
        }),
      );
      return res.Items?.[0] as OutboxItem | undefined;
    }),
  );
  return heads.filter((h): h is OutboxItem => h !== undefined).sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * Takes over a stale queued item for re-dispatch: its lease moves forward only if nobody holds it (or we
 * already do: a retried call whose first answer was lost), so two runners never publish it at once.
 */
export async function takeOverOutboxItem<T extends OutboxItem>(
  ctx: AppContext,
  item: T,
  owner: string,
  leaseSeconds: number,
): Promise<T | undefined> {
  const now = ctx.clock();
  const until = new Date(now.getTime() + leaseSeconds * 1000).toISOString();
  const taken = await updateQueuedItem(ctx, item, {
    UpdateExpression: 'SET dispatchLeaseUntil = :until, dispatchOwner = :owner',
    ConditionExpression:
      '#state = :queued AND (attribute_not_exists(dispatchLeaseUntil) OR dispatchLeaseUntil < :now OR dispatchOwner = :owner)',
    ExpressionAttributeValues: { ':until': until, ':owner': owner, ':now': now.toISOString() },
  });
  return taken ? { ...item, dispatchLeaseUntil: until, dispatchOwner: owner } : undefined;
}

/**
 * Notes a failed publish on the item, with the channels that did reach their queue so a re-dispatch sends
 * only the rest (best effort: the item stays queued either way, and senders drop a second copy).
 */
export async function noteDispatchFailure(ctx: AppContext, item: OutboxItem, error: unknown): Promise<void> {
  const published = error instanceof PublishError ? error.published : [];
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: { sessionId: item.sessionId, sk: item.sk },
        UpdateExpression: `SET lastDispatchError = :error ADD dispatchFailures :one${published.length ? ', publishedChannels :published' : ''}`,
        ConditionExpression: '#state = :queued',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':error': describe(error).slice(0, 1000),
          ':one': 1,
          ':queued': 'queued',
          ...(published.length ? { ':published': new Set(published) } : {}),
        },
      }),
    );
  } catch {
    // The run record and the outbox-age alarm already say it; this note is for the timeline.
  }
}

/** Messages stored on an outbox item are re-validated before they are published again. */
function storedMessages(item: OutboxItem): ChannelMessage[] {
  return item.messages.map((m) => parse(ChannelMessageSchema, m));
}
