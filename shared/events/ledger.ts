// The product-event ledger in the control table: one item per event received (`event#<source>#<id>`), written
// with a condition so that a second delivery of the same event finds it and does nothing, and, when the
// event changes its session, in the same transaction as the session write (both or neither). Ending events
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

/** The conditional put of an event's ledger entry: it fails when the event was recorded before. */
export function ledgerPut(
  ctx: AppContext,
  event: ProductEvent,
  entry: { outcome: Outcome; reason?: string; now: Date },
): TransactItem & { Put: NonNullable<TransactItem['Put']> } {
  return {
    Put: {
      TableName: ctx.tables.control,
      Item: {
        ...ledgerKey(event.source, event.id),
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
  };
}

export async function getLedgerEntry(ctx: AppContext, event: ProductEvent): Promise<LedgerEntry | undefined> {
  const res = await ctx.ddb.send(
    new GetCommand({
      TableName: ctx.tables.control,
      Key: ledgerKey(event.source, event.id),
      ConsistentRead: true,
    }),
  );
  return res.Item as LedgerEntry | undefined;
}

/** Records an event that changes no session. False when it was recorded before (a duplicate). */
export async function recordLedger(
  ctx: AppContext,
  event: ProductEvent,
  entry: { outcome: Outcome; reason?: string; now: Date },
): Promise<boolean> {
  try {
    await ctx.ddb.send(new PutCommand(ledgerPut(ctx, event, entry).Put));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
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
  try {
    await ctx.ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          ledgerPut(ctx, event, { outcome: 'pending', reason: 'the session has not started yet', now }),
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
    const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
    if (reasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
    if (reasons?.[1]?.Code === 'ConditionalCheckFailed') {
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
