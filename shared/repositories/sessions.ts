// Sessions in DynamoDB. Every write goes through `saveSession`: the next state is put only if the
// stored version is still the one read (every write bumps `version`, so an equal version means an
// identical item), together with its timeline events in one transaction. The sparse index keys are
// derived here, in one place, from the state: a session is in `due` exactly when it may be retried
// and in `deadline` exactly when it is processing.
import { randomBytes } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AppContext } from '../context.ts';
import {
  ConflictError,
  DomainError,
  ItemTooLargeError,
  NotFoundError,
  THROTTLED_RETRY_AFTER_SECONDS,
  ThrottledError,
} from '../domain/errors.ts';
import { recipientKeyOfContact } from '../domain/recipient-key.ts';
import { RETRYABLE_STATUSES, type Session, SessionSchema } from '../domain/session.ts';
import { parse, safeParse } from '../schema.ts';
import {
  isConditionalCheckFailed,
  isItemTooLarge,
  isThrottling,
  transactionCancellation,
} from './dynamo-errors.ts';
import { recordShardCount, STATUS_SHARDS } from './shards.ts';
import { moveStatusGauge, type StatsBuffer } from './stats.ts';

/** FNV-1a: a stable, cheap spread of ids over the index shards. */
export function shardOf(id: string, shards: number): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return String((hash >>> 0) % shards);
}

/**
 * Whether the sweep may find the session due: retryable, not paused, retries left, and no attempt of it still
 * in the outbox (an attempt counts when it has left the outbox; undispatched ones never stack up).
 */
function isRetryEligible(s: Session): boolean {
  return (
    RETRYABLE_STATUSES.includes(s.status) &&
    !s.automation?.paused &&
    s.nextRetryAt !== undefined &&
    s.retryCount < (s.maxRetries ?? 0) &&
    s.pendingAttempt === undefined
  );
}

/** The `byStatus` partition key of a status's shard. */
export function statusShardOf(status: string, shard: string): string {
  return `${status}#${shard}`;
}

/** The `byStatus` sort key: when the session entered its status, then its id (unique, totally ordered). */
export function statusKeyOf(enteredAt: string, sessionId: string): string {
  return `${enteredAt}#${sessionId}`;
}

/** The `byRecipient` sort key: when the session was registered, then its id (unique; no write moves it). */
export function recipientSortKeyOf(createdAt: string, sessionId: string): string {
  return `${createdAt}#${sessionId}`;
}

/**
 * The `byStatus` sort key of the next state: kept while the status stays, so a write that only stamps the
 * session (a lease, `dispatchedAt`, `lastNotifiedAt`) never moves its index entry.
 */
function statusKeyFor(previous: Session | undefined, next: Session, now: string): string {
  if (previous && previous.status === next.status) {
    // A session stored before `byStatus` was keyed this way has no key yet: its best entry time.
    return (
      previous.statusKey ?? statusKeyOf(enteredStatusAt(previous, previous.updatedAt), previous.sessionId)
    );
  }
  return statusKeyOf(enteredStatusAt(next, now), next.sessionId);
}

/**
 * When a session entered its status, for its `byStatus` key. A session reported processing since an earlier
 * time entered `processing` then: reset-stuck reads the index up to its cutoff on this key.
 */
function enteredStatusAt(s: Session, otherwise: string): string {
  return s.status === 'processing' && s.processingStartedAt ? s.processingStartedAt : otherwise;
}

/** The session with its sparse-index keys set or removed to match its state. */
export function withIndexKeys(s: Session, shards: number): Session {
  const next: Session = { ...s };
  if (isRetryEligible(next)) next.dueShard = shardOf(next.sessionId, shards);
  else delete next.dueShard;
  // A session that can never be retried again has no next retry; a paused one keeps it for resume.
  if (!RETRYABLE_STATUSES.includes(next.status)) {
    delete next.nextRetryAt;
    delete next.deferredRetryAt;
  }
  if (next.status === 'processing' && next.deadlineAt) next.deadlineShard = shardOf(next.sessionId, shards);
  else delete next.deadlineShard;
  next.statusShard = statusShardOf(next.status, shardOf(next.sessionId, STATUS_SHARDS));
  next.statusKey ??= statusKeyOf(next.updatedAt, next.sessionId);
  const recipientKey = recipientKeyOfContact(next.contact);
  if (recipientKey) {
    next.recipientKey = recipientKey;
    next.recipientSortKey = recipientSortKeyOf(next.createdAt, next.sessionId);
  } else {
    delete next.recipientKey;
    delete next.recipientSortKey;
  }
  return next;
}

/** The attributes the index keys are derived into (withIndexKeys, statusKeyFor). */
const INDEX_KEY_ATTRIBUTES = [
  'dueShard',
  'deadlineShard',
  'statusShard',
  'statusKey',
  'recipientKey',
  'recipientSortKey',
] as const;

/**
 * The index-key attributes a stored session holds that differ from what its next write would derive (a
 * session stored before an index was re-keyed, or with another INDEX_SHARDS): empty when it is up to date.
 */
export function staleIndexKeys(stored: Session, shards: number): string[] {
  const derived: Record<string, unknown> = withIndexKeys(
    { ...stored, statusKey: statusKeyFor(stored, stored, stored.updatedAt) },
    shards,
  );
  const held: Record<string, unknown> = stored;
  return INDEX_KEY_ATTRIBUTES.filter((attr) => derived[attr] !== held[attr]);
}

/**
 * Writes a session again unchanged, through saveSession, so its index keys are derived afresh (version and
 * `updatedAt` move, as with every write). ConflictError when it was written since it was read.
 */
export function rewriteIndexKeys(ctx: AppContext, stored: Session): Promise<Session> {
  return saveSession(ctx, { previous: stored, next: stored });
}

/**
 * One page of the whole sessions table, for a one-off migration run by an operator (the backfill): the
 * service itself never scans, and no function is granted `dynamodb:Scan`.
 */
export async function scanSessionsPage(
  ctx: AppContext,
  input: { limit: number; startKey?: Record<string, unknown> },
): Promise<IndexPage<Record<string, unknown>>> {
  const res = await ctx.ddb.send(
    new ScanCommand({
      TableName: ctx.tables.sessions,
      Limit: input.limit,
      ExclusiveStartKey: input.startKey,
      ConsistentRead: true,
    }),
  );
  return { items: res.Items ?? [], lastKey: res.LastEvaluatedKey };
}

export interface TimelineEvent {
  readonly type: string;
  readonly at: string;
  readonly [field: string]: unknown;
}

/** A timeline item: time-ordered sort key, random suffix so two events in one millisecond both stay. */
function timelineItem(sessionId: string, event: TimelineEvent): Record<string, unknown> {
  return { sessionId, sk: `${event.at}#${event.type}#${randomBytes(4).toString('hex')}`, ...event };
}

export async function getSession(ctx: AppContext, sessionId: string): Promise<Session | undefined> {
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.sessions, Key: { sessionId }, ConsistentRead: true }),
  );
  return res.Item ? parse(SessionSchema, res.Item) : undefined;
}

export async function requireSession(ctx: AppContext, sessionId: string): Promise<Session> {
  const s = await getSession(ctx, sessionId);
  if (!s) throw new NotFoundError('session', sessionId);
  return s;
}

type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

export interface SaveSessionInput {
  /** The state read before; absent for a new session. */
  readonly previous?: Session;
  /** The state to store; `version` and `updatedAt` are set here. */
  readonly next: Session;
  readonly events?: readonly TimelineEvent[];
  /** Extra transaction items (an attempt outbox item) that must commit with the session or not at all. */
  readonly extraItems?: readonly TransactItem[];
  /** Extra condition on the stored session (ANDed with the version check). */
  readonly condition?: {
    expression: string;
    values: Record<string, unknown>;
    names?: Record<string, string>;
  };
  /** Buffer the status-gauge move (a sweep flushes once per run) instead of writing it now. */
  readonly stats?: StatsBuffer;
}

/**
 * Conditionally writes the next state of a session with its timeline events, atomically (one `Put` when
 * there is nothing to write with it). The next state is checked against the stored-session schema first: a
 * write that would store an item no reader accepts is refused (DomainError `validation`), never stored.
 * Throws ConflictError (carrying the stored item) when the version moved or a condition failed,
 * ItemTooLargeError past DynamoDB's item size, ThrottledError when DynamoDB throttled after the SDK's retries.
 */
export async function saveSession(ctx: AppContext, input: SaveSessionInput): Promise<Session> {
  const now = ctx.clock().toISOString();
  const next = withIndexKeys(
    {
      ...input.next,
      version: (input.previous?.version ?? -1) + 1,
      updatedAt: now,
      statusKey: statusKeyFor(input.previous, input.next, now),
    },
    ctx.shards,
  );
  const readable = safeParse(SessionSchema, next);
  if (!readable.success) {
    const fields = readable.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    throw new DomainError(
      'validation',
      `session ${next.sessionId} would be stored unreadable: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
      { fields },
    );
  }
  const base: { expression: string; values: Record<string, unknown>; names: Record<string, string> } =
    input.previous
      ? {
          expression: '#version = :seen',
          values: { ':seen': input.previous.version },
          names: { '#version': 'version' },
        }
      : { expression: 'attribute_not_exists(sessionId)', values: {}, names: {} };
  const extra = input.condition;
  const names = { ...base.names, ...(extra?.names ?? {}) };
  const values = { ...base.values, ...(extra?.values ?? {}) };
  const put = {
    TableName: ctx.tables.sessions,
    Item: next,
    ConditionExpression: extra ? `(${base.expression}) AND (${extra.expression})` : base.expression,
    ExpressionAttributeNames: Object.keys(names).length ? names : undefined,
    ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
  const items: TransactItem[] = [
    { Put: put },
    ...(input.events ?? []).map(
      (event): TransactItem => ({
        Put: { TableName: ctx.tables.timeline, Item: timelineItem(next.sessionId, event) },
      }),
    ),
    ...(input.extraItems ?? []),
  ];
  const what = `session ${next.sessionId}`;
  // Index keys are about to be written with this process's shard count: readers must know to walk it.
  await recordShardCount(ctx);
  try {
    if (items.length === 1) await ctx.ddb.send(new PutCommand(put));
    else await ctx.ddb.send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    if (isItemTooLarge(error)) throw new ItemTooLargeError(what, { cause: error });
    if (isThrottling(error)) throw new ThrottledError(what, THROTTLED_RETRY_AFTER_SECONDS, { cause: error });
    const cancelled = transactionCancellation(error);
    if (cancelled) {
      const code = cancelled.codes.find((c) => c !== 'None') ?? 'unknown';
      throw new ConflictError(`${what} changed since it was read (${code})`, cancelled.items[0], {
        cause: error,
        reasons: cancelled.codes,
      });
    }
    if (isConditionalCheckFailed(error)) {
      const item = (error as { Item?: Record<string, AttributeValue> }).Item;
      throw new ConflictError(
        `${what} changed since it was read (ConditionalCheckFailed)`,
        item ? unmarshall(item) : undefined,
        { cause: error },
      );
    }
    throw error;
  }
  if (input.stats) input.stats.move(input.previous?.status, next.status);
  else await moveStatusGauge(ctx, input.previous?.status, next.status);
  return next;
}

export interface IndexPage<T> {
  readonly items: T[];
  readonly lastKey?: Record<string, unknown>;
}

/** Reads one shard of a sparse index for items whose sort key is ≤ `upTo`, oldest first. */
export async function queryShard(
  ctx: AppContext,
  input: {
    table: string;
    index: string;
    shardAttr: string;
    sortAttr: string;
    shard: string;
    upTo: string;
    limit: number;
    startKey?: Record<string, unknown>;
  },
): Promise<IndexPage<Record<string, unknown>>> {
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: input.table,
      IndexName: input.index,
      KeyConditionExpression: '#shard = :shard AND #sort <= :upTo',
      ExpressionAttributeNames: { '#shard': input.shardAttr, '#sort': input.sortAttr },
      ExpressionAttributeValues: { ':shard': input.shard, ':upTo': input.upTo },
      Limit: input.limit,
      ExclusiveStartKey: input.startKey,
    }),
  );
  return { items: res.Items ?? [], lastKey: res.LastEvaluatedKey };
}

/**
 * Shard numbers in a random order per caller: parallel sweepers spread out, and two that meet on a shard
 * do not keep meeting on the next one (as they would with a shared rotation).
 */
export function shardOrder(shards: number, random: () => number = Math.random): string[] {
  const order = Array.from({ length: shards }, (_, i) => String(i));
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
