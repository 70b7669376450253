// Whether each channel's sender could send, as its last deliveries found it: the place an operator (readyz,
// the DLQ listing, the console) learns that a channel is misconfigured — a missing or unreadable secret, a
// bad credential, no sender identity — while its messages wait in the DLQ. Written by the senders on a
// change (and refreshed while it lasts), cleared by the first send that works again.
//   pk `channel`, sk <channel>: { status: ok | misconfigured, reason, misconfiguredSince, lastSeenAt }
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { CHANNELS, type Channel } from '../infra/resources.ts';
import { type Infer, lenient, safeParse } from '../schema.ts';

const PK = 'channel';

const ChannelHealthSchema = v.object({
  channel: v.picklist(CHANNELS),
  status: v.picklist(['ok', 'misconfigured']),
  reason: lenient(v.string()),
  misconfiguredSince: lenient(v.string()),
  lastSeenAt: lenient(v.string()),
});
export type ChannelHealth = Infer<typeof ChannelHealthSchema>;

/** Records what a sender found: misconfigured (with why), or able to send again. */
export async function reportChannelHealth(
  ctx: AppContext,
  channel: Channel,
  report: { readonly misconfigured: boolean; readonly reason?: string; readonly at: Date },
): Promise<void> {
  const at = report.at.toISOString();
  await ctx.ddb.send(
    new UpdateCommand({
      TableName: ctx.tables.control,
      Key: { pk: PK, sk: channel },
      UpdateExpression: report.misconfigured
        ? 'SET #status = :s, channel = :c, reason = :r, lastSeenAt = :at, misconfiguredSince = if_not_exists(misconfiguredSince, :at)'
        : 'SET #status = :s, channel = :c, lastSeenAt = :at REMOVE reason, misconfiguredSince',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':s': report.misconfigured ? 'misconfigured' : 'ok',
        ':c': channel,
        ':at': at,
        ...(report.misconfigured ? { ':r': (report.reason ?? 'misconfigured').slice(0, 500) } : {}),
      },
    }),
  );
}

/** Every channel's last known health (a channel no sender has reported on is absent). */
export async function readChannelHealth(ctx: AppContext): Promise<Partial<Record<Channel, ChannelHealth>>> {
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.control,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': PK },
      ConsistentRead: true,
    }),
  );
  const out: Partial<Record<Channel, ChannelHealth>> = {};
  for (const item of res.Items ?? []) {
    const parsed = safeParse(ChannelHealthSchema, item);
    if (parsed.success) out[parsed.data.channel] = parsed.data;
  }
  return out;
}
