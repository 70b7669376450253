// Reading a session's story: its timeline (oldest first) and the notification outcomes of one attempt,
// the latter through the `byAttempt` index.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { NotFoundError } from '../domain/errors.ts';
import { SESSION_ID } from '../domain/session.ts';
import { getSession } from '../repositories/sessions.ts';
import { type Infer, parse } from '../schema.ts';

// Timeline keys are ASCII (`<iso>#<type>#...`); the bound keeps a forged one under DynamoDB's key size limit.
const SortKey = v.pipe(v.string(), v.regex(/^[\x20-\x7e]{1,512}$/));
const AttemptId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.:-]{1,128}$/));

export const TimelinePosition = v.strictObject({ sk: SortKey });
export type TimelinePosition = Infer<typeof TimelinePosition>;

export const OutcomePosition = v.strictObject({ sessionId: SESSION_ID, sk: SortKey });
export type OutcomePosition = Infer<typeof OutcomePosition>;

export type TimelineItem = Record<string, unknown> & { type: string; at: string; sessionId: string };

/** Attributes that serve the engine (outbox keys, stored messages with addresses, claim ids), not the reader. */
const INTERNAL = new Set([
  'sk',
  'outboxShard',
  'dispatchAfter',
  'dispatchOwner',
  'dispatchLeaseUntil',
  'messages',
  'sendingOwner',
  'claimedBy',
  'releasedBy',
  'unansweredBy',
  'publishedChannels',
]);

function publicEvent(item: Record<string, unknown>): TimelineItem {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!INTERNAL.has(k)) out[k] = v;
  return {
    ...out,
    type: String(item.type ?? 'unknown'),
    at: String(item.at ?? item.createdAt ?? ''),
    sessionId: String(item.sessionId),
  };
}

export async function listTimeline(
  ctx: AppContext,
  sessionId: string,
  input: { limit: number; position?: TimelinePosition },
): Promise<{ items: TimelineItem[]; next?: TimelinePosition; after: TimelinePosition[] }> {
  if (!(await getSession(ctx, sessionId))) throw new NotFoundError('session', sessionId);
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :id',
      ExpressionAttributeValues: { ':id': sessionId },
      ScanIndexForward: true,
      Limit: input.limit,
      ExclusiveStartKey: input.position ? { sessionId, sk: input.position.sk } : undefined,
    }),
  );
  const last = res.LastEvaluatedKey;
  return {
    items: (res.Items ?? []).map(publicEvent),
    // Where the timeline continues right after each event (a page trimmed to its byte budget stops there).
    after: (res.Items ?? []).map((item) => ({ sk: parse(SortKey, item.sk) })),
    ...(last ? { next: { sk: parse(SortKey, last.sk) } } : {}),
  };
}

export interface OutcomeItem {
  attemptId: string;
  sessionId: string;
  channel: string;
  status: string;
  provider: string | null;
  providerMessageId: string | null;
  error: string | null;
  reason: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : value === undefined || value === null ? null : String(value);
}

function outcomeOf(item: Record<string, unknown>): OutcomeItem {
  return {
    attemptId: String(item.attemptId),
    sessionId: String(item.sessionId),
    channel: String(item.channel ?? ''),
    status: String(item.status ?? ''),
    provider: str(item.provider),
    providerMessageId: str(item.providerMessageId),
    error: str(item.error),
    reason: str(item.reason),
    createdAt: str(item.createdAt ?? item.at),
    updatedAt: str(item.updatedAt),
  };
}

/** Pages read per request at most (the attempt item itself is filtered out server side). */
const MAX_PAGES = 10;

export async function listAttemptOutcomes(
  ctx: AppContext,
  attemptId: string,
  input: { limit: number; position?: OutcomePosition },
): Promise<{ items: OutcomeItem[]; next?: OutcomePosition; after: OutcomePosition[] }> {
  parse(AttemptId, attemptId);
  if (!input.position) {
    // An attempt exists when anything (its attempt item, an outcome) carries its id.
    const probe = await ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.timeline,
        IndexName: 'byAttempt',
        KeyConditionExpression: 'attemptId = :id',
        ExpressionAttributeValues: { ':id': attemptId },
        Limit: 1,
      }),
    );
    if (!probe.Items?.length) throw new NotFoundError('attempt', attemptId);
  }
  const items: OutcomeItem[] = [];
  const after: OutcomePosition[] = [];
  let key: Record<string, unknown> | undefined = input.position
    ? { attemptId, ...input.position }
    : undefined;
  for (let pages = 0; pages < MAX_PAGES && items.length < input.limit; pages++) {
    const res = await ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.timeline,
        IndexName: 'byAttempt',
        KeyConditionExpression: 'attemptId = :id',
        FilterExpression: '#type = :notification',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':id': attemptId, ':notification': 'notification' },
        Limit: input.limit - items.length,
        ExclusiveStartKey: key,
      }),
    );
    for (const item of res.Items ?? []) {
      items.push(outcomeOf(item));
      after.push(parse(OutcomePosition, { sessionId: item.sessionId, sk: item.sk }));
    }
    key = res.LastEvaluatedKey;
    if (!key) break;
  }
  return {
    items,
    after,
    ...(key ? { next: parse(OutcomePosition, { sessionId: key.sessionId, sk: key.sk }) } : {}),
  };
}
