// Which reminder brought the money back (#14): when a session is recovered, the latest attempt that had a
// notification sent or delivered before the recovery, within the attribution window, and those channels.
// One Query over the session's timeline between the window's start and the recovery (outcome keys start
// with their attempt's time), bounded by the attempts a session can have: never a scan.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AppContext } from '../context.ts';
import { type Amount, minorUnitDigits } from '../domain/amount.ts';
import type { RecoveryAttribution, Session } from '../domain/session.ts';
import { CHANNELS, type Channel } from '../infra/resources.ts';

/** How far back a reminder still counts for a recovery, by default: a week. */
export const DEFAULT_ATTRIBUTION_WINDOW_HOURS = 168;

/** Outcomes that mean the reminder reached (or left for) the customer. */
const REACHED = new Set(['sent', 'delivered', 'read']);

const MAX_PAGES = 10;

export async function attributeRecovery(
  ctx: AppContext,
  session: Session,
  input: { at: Date; amount?: Amount; windowHours?: number },
): Promise<RecoveryAttribution> {
  const windowHours = input.windowHours ?? DEFAULT_ATTRIBUTION_WINDOW_HOURS;
  const at = input.at.toISOString();
  // Stripe's and Shopify's event times are whole seconds: a reminder sent 300 ms before a payment in the
  // same second is before it. Such a time stands for the end of its second.
  const until = input.at.getUTCMilliseconds() === 0 ? new Date(input.at.getTime() + 999).toISOString() : at;
  const from = new Date(input.at.getTime() - windowHours * 3_600_000).toISOString();
  const byAttempt = new Map<number, { attemptId?: string; channels: Set<Channel> }>();
  if (session.retryCount > 0) {
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await ctx.ddb.send(
        new QueryCommand({
          TableName: ctx.tables.timeline,
          // Outcome keys are `<attempt time>#notification#<number>#<channel>`: `~` sorts after `#`.
          KeyConditionExpression: 'sessionId = :s AND sk BETWEEN :from AND :to',
          FilterExpression: '#type = :notification',
          ProjectionExpression: '#number, attemptId, channel, #status, createdAt',
          ExpressionAttributeNames: { '#type': 'type', '#number': 'number', '#status': 'status' },
          ExpressionAttributeValues: {
            ':s': session.sessionId,
            ':from': from,
            ':to': `${until}~`,
            ':notification': 'notification',
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of res.Items ?? []) {
        const number = Number(item.number);
        const channel = item.channel as Channel;
        const sentAt = typeof item.createdAt === 'string' ? item.createdAt : undefined;
        if (!Number.isInteger(number) || !CHANNELS.includes(channel) || !REACHED.has(String(item.status)))
          continue;
        // Sent after the customer came back: it did not bring them back.
        if (!sentAt || sentAt > until || sentAt < from) continue;
        const entry = byAttempt.get(number) ?? {
          ...(typeof item.attemptId === 'string' ? { attemptId: item.attemptId } : {}),
          channels: new Set<Channel>(),
        };
        entry.channels.add(channel);
        byAttempt.set(number, entry);
      }
      startKey = res.LastEvaluatedKey;
      if (!startKey) break;
    }
  }
  const latest = [...byAttempt.keys()].sort((a, b) => b - a)[0];
  const credited = latest === undefined ? undefined : byAttempt.get(latest);
  return {
    at,
    attempt: latest ?? 0,
    ...(credited?.attemptId ? { attemptId: credited.attemptId } : {}),
    channels: CHANNELS.filter((c) => credited?.channels.has(c)),
    attemptsMade: session.retryCount,
    ...(input.amount ? { amount: input.amount } : {}),
    windowHours,
  };
}

/** "recovered after attempt 2 (email)", for the timeline and logs. */
export function describeAttribution(a: RecoveryAttribution): string {
  const money = a.amount ? ` — ${formatAmount(a.amount)}` : '';
  if (a.attempt === 0) return `recovered with no reminder before it${money}`;
  return `recovered after attempt ${a.attempt} (${a.channels.join(', ')})${money}`;
}

export function formatAmount(a: Amount): string {
  const digits = minorUnitDigits(a.currency);
  const major = digits ? (a.value / 10 ** digits).toFixed(digits) : String(a.value);
  return `${major} ${a.currency}`;
}

/** The counters a recovery adds to (summed by GET /v1/retry/stats; no scan). */
export function recoveryCounters(a: RecoveryAttribution): Record<string, number> {
  const counts: Record<string, number> = {
    [`recoveredBy.attempt.${a.attempt}`]: 1,
  };
  for (const channel of a.channels) counts[`recoveredBy.channel.${channel}`] = 1;
  if (a.amount) {
    const cur = a.amount.currency;
    counts[`recoveredAmount.${cur}`] = a.amount.value;
    counts[`recoveredBy.attempt.${a.attempt}.amount.${cur}`] = a.amount.value;
    for (const channel of a.channels) counts[`recoveredBy.channel.${channel}.amount.${cur}`] = a.amount.value;
  }
  return counts;
}
