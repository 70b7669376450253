// Listing sessions for the admin API through the `byStatus` index, never a scan: one status at a time (all
// of them in a fixed order when no status is asked for), most recently updated first within a status;
// kind and org are filters on what the index returns.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { DomainError } from '../domain/errors.ts';
import {
  SESSION_ID,
  SESSION_STATUSES,
  type Session,
  SessionSchema,
  type SessionStatus,
} from '../domain/session.ts';
import { type Infer, integer, isoDateTime, parse, safeParse } from '../schema.ts';

/** Where a listing stopped: the index of the status being read and the index key to continue from. */
const ListKey = v.strictObject({
  sessionId: SESSION_ID,
  status: v.picklist(SESSION_STATUSES),
  updatedAt: isoDateTime,
});

export const SessionListPosition = v.strictObject({
  s: integer(0, SESSION_STATUSES.length - 1),
  k: v.optional(ListKey),
});
export type SessionListPosition = Infer<typeof SessionListPosition>;

/** Pages read per request at most, so a rare `kind` filter cannot make one request read the whole index. */
const MAX_PAGES = 10;

export async function listSessions(
  ctx: AppContext,
  input: {
    status?: SessionStatus;
    kind?: string;
    orgId?: string;
    limit: number;
    position?: SessionListPosition;
  },
): Promise<{ items: Session[]; next?: SessionListPosition; after: SessionListPosition[] }> {
  const statuses: readonly SessionStatus[] = input.status ? [input.status] : SESSION_STATUSES;
  let index = input.position?.s ?? 0;
  let key: Record<string, unknown> | undefined = input.position?.k;
  if (index >= statuses.length || (input.position?.k && input.position.k.status !== statuses[index])) {
    throw new DomainError('validation', 'the cursor does not belong to this listing');
  }
  const filters: string[] = [];
  const names: Record<string, string> = { '#status': 'status' };
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
  const items: Session[] = [];
  // Where the listing continues right after each item (a page trimmed to its byte budget stops there).
  const after: SessionListPosition[] = [];
  for (let pages = 0; pages < MAX_PAGES && items.length < input.limit && index < statuses.length; pages++) {
    const res = await ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.sessions,
        IndexName: 'byStatus',
        KeyConditionExpression: '#status = :status',
        FilterExpression: filters.length ? filters.join(' AND ') : undefined,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':status': statuses[index], ...values },
        ScanIndexForward: false,
        Limit: input.limit - items.length,
        ExclusiveStartKey: key,
      }),
    );
    for (const item of res.Items ?? []) {
      // An item a newer writer shaped differently is left out of the listing rather than failing it.
      const parsed = safeParse(SessionSchema, item);
      if (!parsed.success) continue;
      items.push(parsed.data);
      after.push({
        s: index,
        k: parse(ListKey, { sessionId: item.sessionId, status: item.status, updatedAt: item.updatedAt }),
      });
    }
    key = res.LastEvaluatedKey;
    if (!key) index++;
  }
  if (index >= statuses.length) return { items, after };
  const k = key ? parse(ListKey, key) : undefined;
  return { items, after, next: { s: index, ...(k ? { k } : {}) } };
}
