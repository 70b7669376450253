// Listing sessions for the admin API through the `byStatus` index, never a scan: one status at a time (all
// of them in a fixed order when no status is asked for), the shards of a status merged, most recently
// entered first within a status; kind and org are filters on what the index returns.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { DomainError } from '../domain/errors.ts';
import { SESSION_STATUSES, type Session, SessionSchema, type SessionStatus } from '../domain/session.ts';
import { statusShardOf } from '../repositories/sessions.ts';
import { STATUS_SHARDS, shardNumbers } from '../repositories/shards.ts';
import { type Infer, integer, safeParse } from '../schema.ts';

/**
 * Where a listing stopped: the index of the status being read and the `statusKey` (`<entered>#<sessionId>`,
 * unique) of the last session returned; the next page starts below it in every shard.
 */
export const SessionListPosition = v.strictObject({
  s: integer(0, SESSION_STATUSES.length - 1),
  // Its integrity is the cursor's tag; a forged key could only start the listing elsewhere.
  k: v.optional(v.pipe(v.string(), v.maxLength(300))),
});
export type SessionListPosition = Infer<typeof SessionListPosition>;

/** Index queries per request at most, so a rare `kind` filter cannot make one request read the whole index. */
const MAX_QUERIES = 10 * STATUS_SHARDS;

interface ShardCursor {
  readonly shard: string;
  /** Read below this `statusKey` next (undefined: from the top). */
  below?: string;
  /** Items read and not yet taken, newest first. */
  buffer: Array<{ session: Session; key: string }>;
  /** The shard has nothing more below what is buffered. */
  ended: boolean;
}

/**
 * Sessions of one status at a time (all of them in a fixed order when no status is asked for); within a
 * status the shards of `byStatus` are merged, the sessions that entered it most recently first. The sort key
 * is unique, so the cursor is the last key returned and following cursors returns every session once.
 *
 * A filter applies after DynamoDB's `Limit`, so a request can spend its queries without a match. It still
 * answers a position strictly further on: the highest key any shard still has to read from (every shard
 * has read everything above it), so every page has items or moves on, and every walk ends.
 */
export async function listSessions(
  ctx: AppContext,
  input: {
    status?: SessionStatus;
    kind?: string;
    orgId?: string;
    limit: number;
    position?: SessionListPosition;
    /** Index queries at most (MAX_QUERIES, which it cannot exceed, nor go below one round of the shards). */
    maxQueries?: number;
  },
): Promise<{ items: Session[]; next?: SessionListPosition; after: SessionListPosition[] }> {
  const statuses: readonly SessionStatus[] = input.status ? [input.status] : SESSION_STATUSES;
  let index = input.position?.s ?? 0;
  if (index >= statuses.length)
    throw new DomainError('validation', 'the cursor does not belong to this listing');
  const maxQueries = Math.max(STATUS_SHARDS, Math.min(input.maxQueries ?? MAX_QUERIES, MAX_QUERIES));
  const filters: string[] = [];
  const names: Record<string, string> = { '#ss': 'statusShard' };
  const values: Record<string, unknown> = {};
  if (input.kind) {
    filters.push('#kind = :kind');
    names['#kind'] = 'kind';
    values[':kind'] = input.kind;
  }
  if (input.orgId) {
    filters.push('#orgId = :orgId');
    names['#orgId'] = 'orgId';
    values[':orgId'] = input.orgId;
  }
  const startAt = (below?: string): ShardCursor[] =>
    shardNumbers(STATUS_SHARDS).map((shard) => ({ shard, below, buffer: [], ended: false }));

  const items: Session[] = [];
  // Where the listing continues right after each item (a page trimmed to its byte budget stops there).
  const after: SessionListPosition[] = [];
  let last = input.position?.k;
  let cursors = startAt(last);
  let read = false;
  let queries = 0;
  while (items.length < input.limit && index < statuses.length) {
    const status = statuses[index]!;
    cursors = cursors.filter((c) => c.buffer.length || !c.ended);
    let newest: ShardCursor | undefined;
    for (const c of cursors) {
      if (c.buffer.length && (!newest || c.buffer[0]!.key > newest.buffer[0]!.key)) newest = c;
    }
    // A shard with nothing buffered may hold a session newer than the newest buffered one unless it has been
    // read below it: only those are read (together) before one is taken.
    const head = newest?.buffer[0]?.key;
    const blocking = cursors.filter(
      (c) => !c.buffer.length && (!read || c.below === undefined || head === undefined || c.below > head),
    );
    if (!blocking.length) {
      if (!newest) {
        index++;
        last = undefined;
        read = false;
        cursors = startAt();
        continue;
      }
      const taken = newest.buffer.shift()!;
      items.push(taken.session);
      last = taken.key;
      after.push({ s: index, k: taken.key });
      continue;
    }
    if (queries + blocking.length > maxQueries) {
      // Out of queries: continue from the highest key a shard still has to read below. Every shard has
      // read everything above it (the buffered sessions are below the newest buffered one, which is below
      // it), and it is below where this request started: the next page starts strictly further on.
      if (read) {
        last = blocking.reduce(
          (k, c) => (k === undefined || c.below! > k ? c.below : k),
          undefined as string | undefined,
        );
      }
      break;
    }
    queries += blocking.length;
    const need = input.limit - items.length;
    // A shard holds about 1/STATUS_SHARDS of what is needed: read a little more than that, and again if short.
    // A filter drops entries after they are read (and paid for, by the 4 KB): read at least 4 then.
    const perShard = Math.max(
      filters.length ? 4 : Math.min(need, 4),
      Math.min(need, Math.ceil((2 * need) / STATUS_SHARDS)),
    );
    await Promise.all(
      blocking.map(async (c) => {
        const res = await ctx.ddb.send(
          new QueryCommand({
            TableName: ctx.tables.sessions,
            IndexName: 'byStatus',
            KeyConditionExpression: c.below ? '#ss = :ss AND #sk < :below' : '#ss = :ss',
            FilterExpression: filters.length ? filters.join(' AND ') : undefined,
            ExpressionAttributeNames: c.below ? { ...names, '#sk': 'statusKey' } : names,
            ExpressionAttributeValues: {
              ':ss': statusShardOf(status, c.shard),
              ...(c.below ? { ':below': c.below } : {}),
              ...values,
            },
            ScanIndexForward: false,
            Limit: perShard,
          }),
        );
        for (const item of res.Items ?? []) {
          // An item a newer writer shaped differently is left out of the listing rather than failing it.
          const parsed = safeParse(SessionSchema, item);
          if (parsed.success && parsed.data.statusKey) {
            c.buffer.push({ session: parsed.data, key: parsed.data.statusKey });
          }
        }
        const evaluated = res.LastEvaluatedKey?.statusKey;
        c.ended = typeof evaluated !== 'string';
        if (typeof evaluated === 'string') c.below = evaluated;
      }),
    );
    read = true;
  }
  if (index >= statuses.length) return { items, after };
  return { items, after, next: { s: index, ...(last ? { k: last } : {}) } };
}
