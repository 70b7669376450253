// How many shards the sparse indexes (due, deadline, outbox) have ever been written with. Every component
// writes with its own INDEX_SHARDS, and a session or attempt lands in shard `hash % N`; a reader that walked
// only its own count would never see what a component with a larger count wrote (an npm start with 4 and a
// CLI with 8, or a deployment that raised INDEX_SHARDS). So the largest count any writer used is recorded in
// the control table before its first write, and readers walk that many. Lowering INDEX_SHARDS is a
// procedure (docs/deploy.md, "Changing INDEX_SHARDS"): the recorded count comes down only once the shards
// above it are empty (`session-recovery shards --compact`).
//   pk `config`, sk `index-shards`: { maxShards }
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { isConditionalCheckFailed } from './dynamo-errors.ts';

const KEY = { pk: 'config', sk: 'index-shards' };

/** Per table and count: a process records its count once, before its first index write. */
const recorded = new Map<string, Promise<number>>();

async function raiseRecorded(ctx: AppContext, shards: number): Promise<number> {
  try {
    const res = await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.control,
        Key: KEY,
        UpdateExpression: 'SET maxShards = :n',
        ConditionExpression: 'attribute_not_exists(maxShards) OR maxShards < :n',
        ExpressionAttributeValues: { ':n': shards },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(res.Attributes?.maxShards ?? shards);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    return readRecordedShards(ctx);
  }
}

/**
 * Makes sure the recorded count covers this process's INDEX_SHARDS before it writes an index key; one
 * conditional write per process (a failed one is tried again on the next write).
 */
export function recordShardCount(ctx: AppContext): Promise<number> {
  const key = `${ctx.tables.control}#${ctx.shards}`;
  let done = recorded.get(key);
  if (!done) {
    done = raiseRecorded(ctx, ctx.shards).catch((error: unknown) => {
      recorded.delete(key);
      throw error;
    });
    recorded.set(key, done);
  }
  return done;
}

/** The recorded count (0 when nothing was ever recorded). */
export async function readRecordedShards(ctx: AppContext): Promise<number> {
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.control, Key: KEY, ConsistentRead: true }),
  );
  return Number(res.Item?.maxShards ?? 0);
}

/** How many shards a reader walks: every shard any writer has used, and at least its own. */
export async function shardsToRead(ctx: AppContext): Promise<number> {
  return Math.max(ctx.shards, await readRecordedShards(ctx));
}

/**
 * Shards of the `byStatus` index: fixed, not INDEX_SHARDS. Every session stays in `byStatus` for life (a
 * completed one never leaves it, unlike `due` and `deadline` which drain), so a count that could change would
 * leave sessions behind in shards no reader walks and could never be lowered. 16 keeps the busiest key of a
 * status (every `recovering` session at the claim rate) near 1/16 of its index writes.
 */
export const STATUS_SHARDS = 16;

/** Shard numbers 0..n-1 as index partition values. */
export function shardNumbers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

export interface CompactionReport {
  readonly from: number;
  readonly to: number;
  /** Items still in the shards that would be dropped from reading, per index. */
  readonly left: Record<string, number>;
  readonly compacted: boolean;
}

const SPARSE_INDEXES = [
  { table: 'sessions', index: 'due', shardAttr: 'dueShard' },
  { table: 'sessions', index: 'deadline', shardAttr: 'deadlineShard' },
  { table: 'timeline', index: 'outbox', shardAttr: 'outboxShard' },
] as const;

/**
 * Lowers the recorded count to this process's INDEX_SHARDS, but only when every shard above it is empty in
 * all three sparse indexes: sessions there are re-keyed by their next write, so after a lowered deployment
 * has run a while they drain. Refused (nothing changed) while any item is left.
 */
export async function compactShardCount(ctx: AppContext, dryRun: boolean): Promise<CompactionReport> {
  const from = await readRecordedShards(ctx);
  const to = ctx.shards;
  const left: Record<string, number> = {};
  for (const shard of shardNumbers(from).slice(to)) {
    for (const ix of SPARSE_INDEXES) {
      const res = await ctx.ddb.send(
        new QueryCommand({
          TableName: ctx.tables[ix.table],
          IndexName: ix.index,
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': ix.shardAttr },
          ExpressionAttributeValues: { ':s': shard },
          Select: 'COUNT',
          Limit: 100,
        }),
      );
      if (res.Count) left[ix.index] = (left[ix.index] ?? 0) + res.Count;
    }
  }
  const empty = Object.keys(left).length === 0;
  if (empty && !dryRun && from > to) {
    try {
      await ctx.ddb.send(
        new UpdateCommand({
          TableName: ctx.tables.control,
          Key: KEY,
          UpdateExpression: 'SET maxShards = :to',
          ConditionExpression: 'maxShards = :from',
          ExpressionAttributeValues: { ':to': to, ':from': from },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Another writer raised it meanwhile: nothing lowered; run it again.
      return { from, to, left, compacted: false };
    }
  }
  return { from, to: empty ? to : from, left, compacted: empty && !dryRun && from > to };
}
