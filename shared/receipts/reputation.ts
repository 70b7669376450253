// The reputation guard's figures: per channel and hour, how many messages the provider took (`sent`), and
// how many were delivered, bounced, complained about or undelivered — from the receipts, so it is the
// providers' own view. Rolling 24 h rates are read back with one query of 24 items, never a scan.
//   pk `reputation#<channel>`, sk `<yyyy-mm-ddThh>` (UTC hour), counters added with ADD, TTL 3 days.
// SES reviews an account at a 5 % bounce or 0.1 % complaint rate and may pause it at 10 % / 0.5 %; the
// alarms fire at half the review thresholds, and email pauses itself above configured ones (../reputation).
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import type { Channel } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import type { ReceiptStatus } from './receipt.ts';

const HOUR_MS = 3_600_000;
const KEEP_SECONDS = 3 * 86_400;

function hourOf(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/** Counts one receipt in its hour. Never throws: a lost count must not fail the receipt. */
export async function countReceipt(
  ctx: AppContext,
  channel: Channel,
  status: ReceiptStatus,
  at: Date,
): Promise<void> {
  if (status === 'delayed' || status === 'read') return;
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.control,
        Key: { pk: `reputation#${channel}`, sk: hourOf(at) },
        UpdateExpression: 'ADD #n :one SET expiresAt = if_not_exists(expiresAt, :exp)',
        ExpressionAttributeNames: { '#n': status },
        ExpressionAttributeValues: { ':one': 1, ':exp': Math.floor(at.getTime() / 1000) + KEEP_SECONDS },
      }),
    );
  } catch (error) {
    logger.warn('reputation counter update failed', { channel, status, error: String(error) });
  }
}

export interface ReputationWindow {
  readonly channel: Channel;
  readonly from: string;
  readonly to: string;
  readonly sent: number;
  readonly delivered: number;
  readonly bounced: number;
  readonly complained: number;
  readonly undelivered: number;
  /** Percent of sends that bounced (email) or were not delivered (SMS, WhatsApp); null without sends. */
  readonly bounceRate: number | null;
  /** Percent of sends complained about; null without sends. */
  readonly complaintRate: number | null;
}

/** The last 24 hours up to `now` (24 hourly items, one query). */
export async function readReputation(
  ctx: AppContext,
  channel: Channel,
  now: Date,
): Promise<ReputationWindow> {
  const to = hourOf(now);
  const from = hourOf(new Date(now.getTime() - 23 * HOUR_MS));
  const out = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.control,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': `reputation#${channel}`, ':from': from, ':to': to },
      ConsistentRead: true,
    }),
  );
  const sum = { sent: 0, delivered: 0, bounced: 0, complained: 0, undelivered: 0 };
  for (const item of out.Items ?? []) {
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) {
      const n = Number(item[key] ?? 0);
      if (Number.isFinite(n)) sum[key] += n;
    }
  }
  // A receipt can arrive without its `sent` (a provider that publishes no send event): never below the rest.
  const sends = Math.max(sum.sent, sum.delivered + sum.bounced + sum.undelivered);
  const pct = (n: number) => (sends > 0 ? Math.round((1_000_000 * n) / sends) / 10_000 : null);
  return {
    channel,
    from: `${from}:00:00Z`,
    to: `${to}:59:59Z`,
    ...sum,
    bounceRate: pct(sum.bounced + sum.undelivered),
    complaintRate: pct(sum.complained),
  };
}
