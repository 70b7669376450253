// Finding sessions by their customer (GET /v1/sessions?recipient=): one Query of the `byRecipient` index
// on the hash of the normalised address, most recently registered first (the sort key is
// `<createdAt>#<sessionId>`, which no write moves, so a walk sees a session written meanwhile once), with the
// listing's other filters applied to what the index returns. Never a scan.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { SESSION_ID, type Session, SessionSchema, type SessionStatus } from '../domain/session.ts';
import { type Infer, parse, safeParse } from '../schema.ts';

const LookupKey = v.strictObject({
  sessionId: SESSION_ID,
  recipientKey: v.pipe(v.string(), v.regex(/^[0-9a-f]{40}$/)),
  recipientSortKey: v.pipe(v.string(), v.maxLength(300)),
});

export const RecipientLookupPosition = v.strictObject({ k: LookupKey });
export type RecipientLookupPosition = Infer<typeof RecipientLookupPosition>;

/** Index pages read per request at most, so a rare filter cannot make one request read without end. */
const MAX_PAGES = 10;

export async function findSessionsByRecipient(
  ctx: AppContext,
  input: {
    recipientKey: string;
    status?: SessionStatus;
    kind?: string;
    orgId?: string;
    limit: number;
    position?: RecipientLookupPosition;
  },
): Promise<{ items: Session[]; next?: RecipientLookupPosition; after: RecipientLookupPosition[] }> {
  const filters: string[] = [];
  const names: Record<string, string> = { '#key': 'recipientKey' };
  const values: Record<string, unknown> = { ':key': input.recipientKey };
  for (const [attr, value] of [
    ['status', input.status],
    ['kind', input.kind],
    ['orgId', input.orgId],
  ] as const) {
    if (value === undefined) continue;
    filters.push(`#${attr} = :${attr}`);
    names[`#${attr}`] = attr;
    values[`:${attr}`] = value;
  }
  const items: Session[] = [];
  // Where the listing continues right after each item (a page trimmed to its byte budget stops there).
  const after: RecipientLookupPosition[] = [];
  let key: Record<string, unknown> | undefined = input.position?.k;
  for (let pages = 0; pages < MAX_PAGES && items.length < input.limit; pages++) {
    const res = await ctx.ddb.send(
      new QueryCommand({
        TableName: ctx.tables.sessions,
        IndexName: 'byRecipient',
        KeyConditionExpression: '#key = :key',
        FilterExpression: filters.length ? filters.join(' AND ') : undefined,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: input.limit - items.length,
        ExclusiveStartKey: key,
      }),
    );
    for (const item of res.Items ?? []) {
      const parsed = safeParse(SessionSchema, item);
      if (!parsed.success) continue;
      items.push(parsed.data);
      after.push({
        k: parse(LookupKey, {
          sessionId: item.sessionId,
          recipientKey: item.recipientKey,
          recipientSortKey: item.recipientSortKey,
        }),
      });
    }
    key = res.LastEvaluatedKey;
    if (!key) break;
  }
  return { items, after, ...(key ? { next: { k: parse(LookupKey, key) } } : {}) };
}
