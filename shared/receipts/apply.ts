// Applies one provider receipt, every step idempotent so a replayed or late receipt changes nothing:
//   1. the receipt goes on the session's timeline, right after its outcome (a conditional put: the first
//      copy of a receipt wins, a replay finds it there and counts nothing again);
//   2. the outcome moves forward only — `sent` → `delivered` → `read`, `sent` → `bounced` | `complained` |
//      `undelivered` — under a condition on its current status and provider message id;
//   3. a hard bounce, a complaint or a STOP suppresses the recipients on that channel;
//   4. the first copy adds to the delivery counters (stats, reputation).
// A receipt for an outcome still `sending` (the provider answered the callback before the sender wrote
// `sent`) is recorded and reported as `pending`: step 1 kept it on the timeline, under its outcome, and once
// the sender records `sent` it applies what was kept there (applyKeptReceipts), so a Twilio callback, which
// is never retried, is not lost. An event source that retries (SES through EventBridge) may bring it back
// too; the conditions make the second application a no-op.
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { logger } from '../observability/logger.ts';
import { type ConsentChannel, isConsentChannel } from '../recipients/address.ts';
import { suppressRecipient } from '../recipients/store.ts';
import type { OutcomeKey } from '../repositories/outcomes.ts';
import { recordStats } from '../repositories/stats.ts';
import { outcomeKeyOf } from './outcome-ref.ts';
import { FORWARD_FROM, RECEIPT_RANK, type Receipt, type ReceiptStatus } from './receipt.ts';
import { countReceipt } from './reputation.ts';

export type OutcomeMove =
  /** The outcome moved to the receipt's status. */
  | 'advanced'
  /** The outcome is already there or further on (a late or repeated receipt); nothing changed. */
  | 'kept'
  /** The outcome is still `sending`: the receipt came before the sender recorded the send. */
  | 'pending'
  /** No outcome to move: the message had no ref, the ref names no outcome, or the receipt moves none. */
  | 'none';

export interface AppliedReceipt {
  /** False when this receipt was applied before (a replay): nothing was counted again. */
  readonly first: boolean;
  readonly outcome: OutcomeMove;
  /** The outcome's status after this receipt, when there is an outcome. */
  readonly outcomeStatus?: string;
  /** Recipients newly suppressed by this receipt. */
  readonly suppressed: readonly string[];
}

function isConditionFailed(error: unknown): error is Error & { Item?: Record<string, unknown> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Where the receipts of an outcome are kept: right after it on the timeline, in RECEIPT_RANK order. */
function keptUnder(outcome: OutcomeKey): string {
  return `${outcome.sk}#receipt#`;
}

/** The timeline item of a receipt: under its outcome when there is one, else its own partition. */
function receiptKey(receipt: Receipt): { sessionId: string; sk: string } {
  const suffix = `${RECEIPT_RANK[receipt.status]}#${receipt.status}`;
  if (receipt.ref) {
    const outcome = outcomeKeyOf(receipt.ref);
    return { sessionId: outcome.sessionId, sk: `${keptUnder(outcome)}${suffix}` };
  }
  return { sessionId: `receipts#${receipt.provider}#${receipt.providerMessageId}`, sk: `receipt#${suffix}` };
}

async function recordReceipt(ctx: AppContext, receipt: Receipt, now: Date): Promise<boolean> {
  const key = receiptKey(receipt);
  try {
    await ctx.ddb.send(
      new PutCommand({
        TableName: ctx.tables.timeline,
        Item: {
          ...key,
          type: 'receipt',
          at: receipt.at.toISOString(),
          recordedAt: now.toISOString(),
          channel: receipt.channel,
          provider: receipt.provider,
          providerMessageId: receipt.providerMessageId,
          status: receipt.status,
          providerStatus: receipt.providerStatus,
          ...(receipt.errorCode ? { errorCode: receipt.errorCode } : {}),
          ...(receipt.detail ? { detail: receipt.detail.slice(0, 500) } : {}),
          ...(receipt.ref ? { number: receipt.ref.number } : {}),
        },
        ConditionExpression: 'attribute_not_exists(sk)',
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/** What moving an outcome takes of a receipt (a kept timeline item has these too). */
type OutcomeMoveInput = Pick<Receipt, 'status' | 'at' | 'providerMessageId' | 'providerStatus' | 'errorCode'>;

async function moveOutcome(
  ctx: AppContext,
  outcome: OutcomeKey | undefined,
  receipt: OutcomeMoveInput,
  now: Date,
): Promise<{ move: OutcomeMove; status?: string }> {
  const from = FORWARD_FROM[receipt.status];
  if (!outcome || !from) return { move: 'none' };
  const values: Record<string, unknown> = {
    ':to': receipt.status,
    ':at': receipt.at.toISOString(),
    ':now': now.toISOString(),
    ':pmid': receipt.providerMessageId,
    ':ps': receipt.providerStatus,
  };
  from.forEach((status, i) => {
    values[`:f${i}`] = status;
  });
  const set = ['#status = :to', '#at = :at', 'updatedAt = :now', 'providerStatus = :ps'];
  if (receipt.errorCode) {
    values[':code'] = receipt.errorCode;
    set.push('providerErrorCode = :code');
  }
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: outcome,
        UpdateExpression: `SET ${set.join(', ')}`,
        ConditionExpression: `#type = :notification AND providerMessageId = :pmid AND #status IN (${from
          .map((_, i) => `:f${i}`)
          .join(', ')})`,
        ExpressionAttributeNames: { '#status': 'status', '#at': 'at', '#type': 'type' },
        ExpressionAttributeValues: { ...values, ':notification': 'notification' },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { move: 'advanced', status: receipt.status };
  } catch (error) {
    if (!isConditionFailed(error)) throw error;
    const current = (error as { Item?: Record<string, { S?: string }> }).Item;
    const status = current?.status?.S;
    if (current?.type?.S !== 'notification') return { move: 'none' };
    // A receipt for a message this outcome never sent (an id from elsewhere) moves nothing.
    const pmid = current.providerMessageId?.S;
    if (status === 'sending' && pmid === undefined) return { move: 'pending', status };
    if (pmid !== receipt.providerMessageId) return { move: 'none', status };
    return { move: 'kept', status };
  }
}

export async function applyReceipt(ctx: AppContext, receipt: Receipt): Promise<AppliedReceipt> {
  const now = ctx.clock();
  const first = await recordReceipt(ctx, receipt, now);
  const outcome = await moveOutcome(ctx, receipt.ref && outcomeKeyOf(receipt.ref), receipt, now);

  const suppressed: string[] = [];
  if (receipt.suppress && isConsentChannel(receipt.channel)) {
    const channel: ConsentChannel = receipt.channel;
    for (const address of receipt.recipients) {
      try {
        const changed = await suppressRecipient(ctx, {
          channel,
          address,
          reason: receipt.suppress,
          source: receipt.provider,
          at: receipt.at,
          orgId: receipt.ref?.orgId,
          detail: [receipt.providerStatus, receipt.errorCode, receipt.detail].filter(Boolean).join(' '),
        });
        if (changed) suppressed.push(address);
      } catch (error) {
        // An address the provider reports that is not one (a malformed bounce) cannot be keyed; say so.
        logger.warn('receipt names a recipient that cannot be suppressed', {
          provider: receipt.provider,
          providerMessageId: receipt.providerMessageId,
          error: String(error),
        });
      }
    }
  }

  if (first) {
    const counts: Record<string, number> = {};
    if (receipt.status !== 'sent' && receipt.status !== 'delayed')
      counts[`channel.${receipt.channel}.${receipt.status}`] = 1;
    await Promise.all([
      Object.keys(counts).length
        ? recordStats(ctx, { orgId: receipt.ref?.orgId, at: receipt.at, counts })
        : Promise.resolve(),
      countReceipt(ctx, receipt.channel, receipt.status, receipt.at),
    ]);
  }
  return { first, outcome: outcome.move, outcomeStatus: outcome.status, suppressed };
}

/**
 * Once the sender has recorded `sent`: the receipts kept under the outcome while it was still `sending` (they
 * came first), applied in their order — `sent` → `delivered` → `read`, or → `undelivered` | `bounced` … —
 * each under the same forward-only condition as on arrival. Their timeline items, suppressions and counts
 * were written when they came; only the outcome moves now. One consistent Query under the outcome's key,
 * bounded by the few statuses a message can have. Returns the outcome's status after them, when they moved it.
 */
export async function applyKeptReceipts(ctx: AppContext, outcome: OutcomeKey): Promise<string | undefined> {
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :s AND begins_with(sk, :kept)',
      ExpressionAttributeValues: { ':s': outcome.sessionId, ':kept': keptUnder(outcome) },
      ConsistentRead: true,
    }),
  );
  const now = ctx.clock();
  let moved: string | undefined;
  for (const item of res.Items ?? []) {
    const status = item.status as ReceiptStatus;
    if (item.type !== 'receipt' || !(status in RECEIPT_RANK)) continue;
    const result = await moveOutcome(
      ctx,
      outcome,
      {
        status,
        at: new Date(String(item.at)),
        providerMessageId: String(item.providerMessageId),
        providerStatus: String(item.providerStatus),
        ...(typeof item.errorCode === 'string' ? { errorCode: item.errorCode } : {}),
      },
      now,
    );
    if (result.move === 'advanced') moved = result.status;
  }
  return moved;
}
