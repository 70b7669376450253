// The product-event ledger in the control table: one item per event received (`event#<source>#<id>`), and one
// per signed body when the event came in one (`evbody#<source>#<sha256>`: the id is in a header the signature
// does not cover, so a captured body replayed under a fresh id must still be found), written with conditions
// so that a second delivery of the same event finds either and does nothing, and, when the event changes its
// session, in the same transaction as the session write (all or none). Ending events
// for sessions not seen yet leave a marker (`evend#<sessionId>`) that the start, arriving later, applies.
// Both expire through the table's TTL after the providers' retry windows (Stripe: 3 days) and a margin.
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import type { SaveSessionInput } from '../repositories/sessions.ts';
import type { EventAction, EventSource, Outcome, ProductEvent } from './model.ts';

/** Ledger entries and markers live this long: past every provider's retries, and Stripe's 30-day recovery links. */
export const LEDGER_DAYS = 35;

type TransactItem = NonNullable<SaveSessionInput['extraItems']>[number];

export function ledgerKey(source: EventSource, id: string) {
  return { pk: `event#${source}#${id}`, sk: 'event' };
}

/** The keys an event is recorded under: its id, and the digest of its signed body when it has one. */
function ledgerKeysOf(event: ProductEvent) {
  return [
    ledgerKey(event.source, event.id),
    ...(event.bodyDigest ? [{ pk: `evbody#${event.source}#${event.bodyDigest}`, sk: 'event' }] : []),
  ];
}

export interface LedgerEntry {
  readonly outcome: Outcome;
  readonly sessionId: string;
  readonly type: string;
  readonly time: string;
  readonly reason?: string;
  readonly receivedAt: string;
}

function expiresAt(now: Date): number {
  return Math.floor(now.getTime() / 1000) + LEDGER_DAYS * 86_400;
}

/** The conditional puts of an event's ledger entries: they fail when the event was recorded before. */
export function ledgerPuts(
  ctx: AppContext,
  event: ProductEvent,
  entry: { outcome: Outcome; reason?: string; now: Date },
): TransactItem[] {
  return ledgerKeysOf(event).map((key) => ({
    Put: {
      TableName: ctx.tables.control,
      Item: {
        ...key,
        eventId: event.id,
        outcome: entry.outcome,
        sessionId: event.sessionId,
        type: event.type,
        time: event.time.toISOString(),
        ...(entry.reason ? { reason: entry.reason } : {}),
        receivedAt: entry.now.toISOString(),
        expiresAt: expiresAt(entry.now),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  }));
}

/** The event's ledger entry, found by its id or by its signed body. */
export async function getLedgerEntry(ctx: AppContext, event: ProductEvent): Promise<LedgerEntry | undefined> {
  const found = await Promise.all(
    ledgerKeysOf(event).map((Key) =>
      ctx.ddb.send(new GetCommand({ TableName: ctx.tables.control, Key, ConsistentRead: true })),
    ),
  );
  return found.find((res) => res.Item)?.Item as LedgerEntry | undefined;
}

function refusedAt(error: unknown): number[] {
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  return reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
}

/** Records an event that changes no session. False when it was recorded before (a duplicate). */
export async function recordLedger(
  ctx: AppContext,
  event: ProductEvent,
  entry: { outcome: Outcome; reason?: string; now: Date },
): Promise<boolean> {
  const puts = ledgerPuts(ctx, event, entry);
  try {
    const [only] = puts;
    if (puts.length === 1 && only?.Put) await ctx.ddb.send(new PutCommand(only.Put));
    else await ctx.ddb.send(new TransactWriteCommand({ TransactItems: puts }));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    if (refusedAt(error).length > 0) return false;
    throw error;
  }
}

export interface EndMarker {
  readonly sessionId: string;
  readonly action: EventAction;
  readonly at: string;
  readonly eventId: string;
  readonly source: EventSource;
  readonly type: string;
  readonly amount?: { value: number; currency: string };
}

function markerKey(sessionId: string) {
  return { pk: `evend#${sessionId}`, sk: 'end' };
}

/**
 * Keeps an ending event for a session not seen yet, with its ledger entry, in one transaction. The latest
 * ending wins. False when the event was recorded before (a duplicate).
 */
export async function keepEndMarker(ctx: AppContext, event: ProductEvent, now: Date): Promise<boolean> {
  const marker: EndMarker = {
    sessionId: event.sessionId,
    action: event.action,
    at: event.time.toISOString(),
    eventId: event.id,
    source: event.source,
    type: event.type,
    ...(event.fields.amount ? { amount: event.fields.amount } : {}),
  };
  const ledger = ledgerPuts(ctx, event, {
    outcome: 'pending',
    reason: 'the session has not started yet',
    now,
  });
  try {
    await ctx.ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          ...ledger,
          {
            Put: {
              TableName: ctx.tables.control,
              Item: { ...markerKey(event.sessionId), ...marker, expiresAt: expiresAt(now) },
              ConditionExpression: 'attribute_not_exists(pk) OR #at <= :at',
              ExpressionAttributeNames: { '#at': 'at' },
              ExpressionAttributeValues: { ':at': marker.at },
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    const refused = refusedAt(error);
    if (refused.some((i) => i < ledger.length)) return false;
    if (refused.includes(ledger.length)) {
      // A later ending is kept already; this one is recorded as superseded by it.
      return recordLedger(ctx, event, { outcome: 'stale', reason: 'a later ending is kept', now });
    }
    throw error;
  }
}

export async function getEndMarker(ctx: AppContext, sessionId: string): Promise<EndMarker | undefined> {
  const res = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.control, Key: markerKey(sessionId), ConsistentRead: true }),
  );
  return res.Item as EndMarker | undefined;
}
