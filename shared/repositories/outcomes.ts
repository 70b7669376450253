// Notification outcome items: one per attempt × channel (or ops alert × channel × recipient) in the
// timeline table, written with conditions so that a notification is sent at most once per lease.
//
// States: (none) → sending (lease) → sent | failed | skipped;  (none) → skipped;  sending (lease expired
// or released) → sending (new lease) or skipped. sent, failed and skipped are final: every later write is
// refused by its condition, which is how duplicates, re-dispatches and DLQ replays are recognised.
// A `sending` item without `sendingUntil` is between tries: a transient error released it, so the next
// delivery of the message takes it at once.

import { randomBytes } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { CHANNELS, type Channel } from '../infra/resources.ts';
import { type ChannelMessage, outcomeSortKey } from '../messages.ts';
import { type Infer, isoDateTime as iso, parse, safeParse } from '../schema.ts';

export const OUTCOME_STATUSES = [
  'sending',
  'sent',
  'failed',
  'skipped',
  // Set by provider receipts after `sent`, forward only (shared/receipts/outcome-receipts.ts).
  'delivered',
  'read',
  'bounced',
  'complained',
  'undelivered',
] as const;
export type OutcomeStatus = (typeof OUTCOME_STATUSES)[number];

export const OutcomeItemSchema = v.looseObject({
  sessionId: v.string(),
  sk: v.string(),
  type: v.literal('notification'),
  status: v.picklist(OUTCOME_STATUSES),
  channel: v.picklist(CHANNELS),
  /** When the item reached its current status. */
  at: iso,
  createdAt: iso,
  updatedAt: iso,
  attemptId: v.optional(v.string()),
  alertId: v.optional(v.string()),
  number: v.optional(v.number()),
  fence: v.optional(v.number()),
  recipient: v.optional(v.string()),
  templateId: v.optional(v.string()),
  provider: v.optional(v.string()),
  providerMessageId: v.optional(v.string()),
  /** Why a send failed for good (the provider's words). */
  error: v.optional(v.string()),
  /** Why nothing was sent (`channel_disabled`, `stale_fence`, `no_recipient`, `recovered`, …). */
  reason: v.optional(v.string()),
  /** The last transient error, kept while the message is retried. */
  lastError: v.optional(v.string()),
  /** Lease of the sender working on it; absent when nobody is. */
  sendingUntil: v.optional(iso),
  /** Deliveries that took the lease (1 on the first try); a count to read, an SDK retry may add one. */
  tries: v.optional(v.number()),
  /**
   * The claim ids of every delivery that took the lease — each called the provider, or may have — and of
   * those the provider answered with a definite "not sent" (their lease was released). Sets, so that a
   * claim or release applied twice (its first answer lost, the SDK retried) counts once.
   */
  claimedBy: v.optional(v.set(v.string())),
  releasedBy: v.optional(v.set(v.string())),
  /** The claim id of the delivery holding the lease. */
  sendingOwner: v.optional(v.string()),
  /** An operator allowed more provider calls after the window was exceeded: who and when. */
  forcedBy: v.optional(v.string()),
  forcedAt: v.optional(v.string()),
  /** Provider calls that got no answer at all (timeout, connection lost): each may have been delivered. */
  unanswered: v.optional(v.number()),
  /** The claim ids `unanswered` counted: a count applied twice (its answer lost, the SDK retried) counts once. */
  unansweredBy: v.optional(v.set(v.string())),
});
export type OutcomeItem = Infer<typeof OutcomeItemSchema>;

export interface OutcomeKey {
  readonly sessionId: string;
  readonly sk: string;
}

/** Recovery outcomes sit right after their attempt on the session's timeline; ops alerts under `ops#<alertId>`. */
export function outcomeKey(message: ChannelMessage): OutcomeKey {
  if (message.type === 'recovery') {
    return {
      sessionId: message.sessionId,
      sk: outcomeSortKey(message.attemptAt, message.number, message.channel),
    };
  }
  return {
    sessionId: `ops#${message.alertId}`,
    sk: `notification#${message.channel}#${message.recipient ?? 'none'}`,
  };
}

/** The attributes that describe the notification; written by whichever write creates the item. */
function identity(message: ChannelMessage): Record<string, unknown> {
  const common = {
    type: 'notification',
    channel: message.channel,
    templateId: message.templateId,
    recipient: message.recipient,
  };
  return message.type === 'recovery'
    ? { ...common, attemptId: message.attemptId, number: message.number, fence: message.fence }
    : { ...common, alertId: message.alertId, severity: message.severity, source: message.source };
}

/** The item is free to take: it does not exist, or its `sending` holder is gone (lease expired or released). */
const FREE =
  'attribute_not_exists(sk) OR (#status = :sending AND (attribute_not_exists(sendingUntil) OR sendingUntil < :now))';
/** Or it is ours already: our own claim applied and its answer was lost, so the SDK sent it again. */
const FREE_OR_OURS = `${FREE} OR (#status = :sending AND sendingOwner = :owner)`;

export type ClaimResult =
  /** `item`: the outcome as the claim left it; `claimId`: this delivery's id in it (a skip has neither). */
  | { readonly claimed: true; readonly item?: OutcomeItem; readonly claimId?: string }
  | { readonly claimed: false; readonly current: OutcomeItem };

/**
 * Provider calls that may have delivered, the one the claim is about to make included: every delivery that
 * took the lease, but those the provider answered with a definite "not sent" (the lease was released then).
 */
export function possibleSends(item: Pick<OutcomeItem, 'claimedBy' | 'releasedBy'>): number {
  const released = item.releasedBy ?? new Set<string>();
  return [...(item.claimedBy ?? [])].filter((id) => !released.has(id)).length;
}

/** The error of an outcome refused a third possible send; only an operator's forced replay lifts it. */
export const WINDOW_EXCEEDED = 'provider_window_exceeded';

class OutcomeConflictError extends Error {
  constructor(
    message: string,
    readonly current: Record<string, unknown> | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutcomeConflictError';
  }
}

function isConditionalCheckFailed(
  error: unknown,
): error is Error & { Item?: Record<string, AttributeValue> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function existingFrom(error: Error & { Item?: Record<string, AttributeValue> }): OutcomeItem {
  const raw = error.Item ? unmarshall(error.Item) : undefined;
  const parsed = safeParse(OutcomeItemSchema, raw);
  if (!parsed.success) {
    throw new OutcomeConflictError('the outcome item refused the write but is not a readable outcome', raw, {
      cause: error,
    });
  }
  return parsed.data;
}

/** Builds `SET a = :a, …` for the identity attributes (names escaped: `number` and `type` are reserved). */
function setIdentity(
  message: ChannelMessage,
  names: Record<string, string>,
  values: Record<string, unknown>,
): string[] {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(identity(message))) {
    if (value === undefined) continue;
    names[`#i_${key}`] = key;
    values[`:i_${key}`] = value;
    parts.push(`#i_${key} = :i_${key}`);
  }
  return parts;
}

async function writeFree(
  ctx: AppContext,
  message: ChannelMessage,
  now: Date,
  status: 'sending' | 'skipped',
  extra: {
    set: string[];
    remove: string[];
    add?: string;
    values: Record<string, unknown>;
    /** A claim: the condition also accepts our own earlier, applied try. */
    owner?: string;
  },
): Promise<ClaimResult> {
  const t = now.toISOString();
  const names: Record<string, string> = { '#status': 'status', '#at': 'at' };
  const values: Record<string, unknown> = {
    ':sending': 'sending',
    ':now': t,
    ':status': status,
    ...extra.values,
  };
  const set = [
    ...setIdentity(message, names, values),
    '#status = :status',
    '#at = :now',
    'updatedAt = :now',
    'createdAt = if_not_exists(createdAt, :now)',
    ...extra.set,
  ];
  const expression = [
    `SET ${set.join(', ')}`,
    extra.remove.length ? `REMOVE ${extra.remove.join(', ')}` : '',
    extra.add ? `ADD ${extra.add}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  try {
    const res = await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: outcomeKey(message),
        UpdateExpression: expression,
        ConditionExpression: extra.owner ? FREE_OR_OURS : FREE,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = safeParse(OutcomeItemSchema, res.Attributes);
    return {
      claimed: true,
      ...(item.success ? { item: item.data } : {}),
      ...(extra.owner ? { claimId: extra.owner } : {}),
    };
  } catch (error) {
    if (isConditionalCheckFailed(error)) return { claimed: false, current: existingFrom(error) };
    throw error;
  }
}

/** A delivery's claim id, made before the claim so the delivery can release it when the claim's answer is lost. */
export function newClaimId(): string {
  return randomBytes(8).toString('hex');
}

/** Takes the lease to send: `sending` until `now + leaseSeconds`. */
export function claimOutcome(
  ctx: AppContext,
  message: ChannelMessage,
  input: { readonly now: Date; readonly leaseSeconds: number; readonly claimId?: string },
): Promise<ClaimResult> {
  const until = new Date(input.now.getTime() + input.leaseSeconds * 1000).toISOString();
  const claimId = input.claimId ?? newClaimId();
  return writeFree(ctx, message, input.now, 'sending', {
    set: ['sendingUntil = :until', 'sendingOwner = :owner'],
    remove: [],
    add: 'tries :one, claimedBy :claims',
    values: { ':until': until, ':one': 1, ':owner': claimId, ':claims': new Set([claimId]) },
    owner: claimId,
  });
}

/** Records that nothing will be sent, and why; final. Same condition as a claim, so it never overwrites a send. */
export function skipOutcome(
  ctx: AppContext,
  message: ChannelMessage,
  input: { readonly now: Date; readonly reason: string },
): Promise<ClaimResult> {
  return writeFree(ctx, message, input.now, 'skipped', {
    set: ['reason = :reason'],
    remove: ['sendingUntil'],
    values: { ':reason': input.reason },
  });
}

export type Completion =
  | { readonly status: 'sent'; readonly provider: string; readonly providerMessageId: string }
  | { readonly status: 'failed'; readonly provider: string; readonly error: string }
  /** The claim holder found, after claiming, that nothing must be sent (stale fence, finished session). */
  | { readonly status: 'skipped'; readonly reason: string };

/**
 * `sending` → `sent` | `failed` | `skipped`. False when the item is no longer `sending`: another sender, which took
 * over after this one's lease expired, finished first; its outcome stands.
 */
export async function completeOutcome(
  ctx: AppContext,
  message: ChannelMessage,
  input: Completion & { readonly now: Date },
): Promise<boolean> {
  const values: Record<string, unknown> = {
    ':sending': 'sending',
    ':status': input.status,
    ':now': input.now.toISOString(),
  };
  const set = ['#status = :status', '#at = :now', 'updatedAt = :now'];
  if (input.status === 'sent') {
    values[':provider'] = input.provider;
    values[':pmid'] = input.providerMessageId;
    set.push('provider = :provider', 'providerMessageId = :pmid');
  } else if (input.status === 'failed') {
    values[':provider'] = input.provider;
    values[':error'] = input.error;
    set.push('provider = :provider', '#error = :error');
  } else {
    values[':reason'] = input.reason;
    set.push('reason = :reason');
  }
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: outcomeKey(message),
        UpdateExpression: `SET ${set.join(', ')} REMOVE sendingUntil`,
        ConditionExpression: '#status = :sending',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#at': 'at',
          ...(input.status === 'failed' ? { '#error': 'error' } : {}),
        },
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * Records a send the provider has accepted. Unlike other writes this one is not given up on after the
 * SDK's own retries: a record that failed here would be redelivered and the customer messaged twice.
 * It keeps trying until `deadline` (epoch ms: the sender's budget for it, inside the Lambda's remaining
 * time), and when its answer was lost on an earlier try it recognises the stored `sent` with its own
 * provider message id as its own. False only when another delivery recorded the outcome first.
 */
export async function recordSentOutcome(
  ctx: AppContext,
  message: ChannelMessage,
  input: { readonly now: Date; readonly provider: string; readonly providerMessageId: string },
  deadline: number = Date.now() + 4000,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (await completeOutcome(ctx, message, { ...input, status: 'sent' })) return true;
      const stored = await getOutcome(ctx, outcomeKey(message));
      return stored?.status === 'sent' && stored.providerMessageId === input.providerMessageId;
    } catch (error) {
      const backoffMs = Math.min(2000, 50 * 2 ** attempt);
      const wait = backoffMs / 2 + Math.random() * (backoffMs / 2);
      if (Date.now() + wait >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * After a transient error the provider answered (nothing was sent): stays `sending` with the error noted,
 * the lease dropped and the try counted as released, so the next delivery of the message (SQS retry, DLQ
 * replay) takes it at once and it does not count towards the two possible sends. False when it is no
 * longer `sending`. `ownClaimOnly`: only while the lease is still this claim's — a delivery that died
 * before calling the provider (its claim's answer may have been lost: then the claim may not even exist).
 */
export async function releaseOutcome(
  ctx: AppContext,
  message: ChannelMessage,
  input: {
    readonly now: Date;
    readonly error: string;
    readonly claimId?: string;
    readonly ownClaimOnly?: boolean;
  },
): Promise<boolean> {
  const own = input.ownClaimOnly && input.claimId !== undefined;
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: outcomeKey(message),
        UpdateExpression: `SET lastError = :error, updatedAt = :now REMOVE sendingUntil${input.claimId ? ' ADD releasedBy :claims' : ''}`,
        ConditionExpression: own ? '#status = :sending AND sendingOwner = :owner' : '#status = :sending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':sending': 'sending',
          ':now': input.now.toISOString(),
          ':error': input.error,
          ...(input.claimId ? { ':claims': new Set([input.claimId]) } : {}),
          ...(own ? { ':owner': input.claimId } : {}),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * After a provider call that got no answer at all: the message may have been delivered, so unlike
 * releaseOutcome the lease is kept (no redelivery sends before it runs out) and the try is counted — once
 * per claim: the claim id goes into `unansweredBy` with the count, and a count whose answer was lost and
 * that the SDK sent again finds its claim there and adds nothing. Returns the count, or undefined when the
 * item is no longer `sending`.
 */
export async function noteUnanswered(
  ctx: AppContext,
  message: ChannelMessage,
  input: { readonly now: Date; readonly error: string; readonly claimId: string },
): Promise<number | undefined> {
  try {
    const res = await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: outcomeKey(message),
        UpdateExpression:
          'SET lastError = :error, updatedAt = :now ADD unanswered :one, unansweredBy :claims',
        ConditionExpression: '#status = :sending AND NOT contains(unansweredBy, :claim)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':sending': 'sending',
          ':now': input.now.toISOString(),
          ':error': input.error,
          ':one': 1,
          ':claims': new Set([input.claimId]),
          ':claim': input.claimId,
        },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return Number(res.Attributes?.unanswered ?? 1);
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const current = existingFrom(error);
    // Our own count, applied by an earlier try of this request: it stands as it is.
    if (current.status === 'sending' && current.unansweredBy?.has(input.claimId))
      return current.unanswered ?? 1;
    return undefined;
  }
}

export async function getOutcome(ctx: AppContext, key: OutcomeKey): Promise<OutcomeItem | undefined> {
  const out = await ctx.ddb.send(
    new GetCommand({ TableName: ctx.tables.timeline, Key: key, ConsistentRead: true }),
  );
  return out.Item ? parse(OutcomeItemSchema, out.Item) : undefined;
}

/** Every outcome of one ops alert (one per channel × recipient). */
export async function listOpsAlertOutcomes(ctx: AppContext, alertId: string): Promise<OutcomeItem[]> {
  const out = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :p AND begins_with(sk, :n)',
      ExpressionAttributeValues: { ':p': `ops#${alertId}`, ':n': 'notification#' },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map((item) => parse(OutcomeItemSchema, item));
}

/** What identifies a session's latest attempt on its timeline. */
export interface LatestAttempt {
  readonly sessionId: string;
  /** The attempt's number (the session's `retryCount` after its claim). */
  readonly number: number;
  /** When it was claimed (the session's `lastAttemptAt`): with the number, it fixes its outcomes' keys. */
  readonly at: string;
  readonly channels: readonly Channel[];
}

/** The outcome items of an attempt, as far as a claim or a resume needs them. */
export interface AttemptOutcome {
  readonly channel: string;
  readonly status: string;
  readonly reason?: string;
}

/**
 * One consistent Query over an attempt's outcome items, which sit together on the session's timeline. Only
 * the notifications: the receipts kept under them (`<outcome sk>#receipt#…`) share the prefix and carry a
 * channel and a status too, and one that came before `sent` must not settle a channel still `sending`.
 */
async function attemptOutcomes(ctx: AppContext, attempt: LatestAttempt): Promise<AttemptOutcome[]> {
  const prefix = outcomeSortKey(attempt.at, attempt.number, 'email').replace(/email$/, '');
  const res = await ctx.ddb.send(
    new QueryCommand({
      TableName: ctx.tables.timeline,
      KeyConditionExpression: 'sessionId = :s AND begins_with(sk, :prefix)',
      FilterExpression: '#type = :notification',
      ExpressionAttributeValues: {
        ':s': attempt.sessionId,
        ':prefix': prefix,
        ':notification': 'notification',
      },
      ProjectionExpression: 'channel, #status, reason',
      ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
      ConsistentRead: true,
    }),
  );
  return (res.Items ?? []).map((i) => ({
    channel: String(i.channel),
    status: String(i.status),
    ...(typeof i.reason === 'string' ? { reason: i.reason } : {}),
  }));
}

/** The channels of an attempt whose notification has no final outcome yet (none written, or still `sending`). */
export async function unsettledChannels(ctx: AppContext, attempt: LatestAttempt): Promise<Channel[]> {
  const settled = new Set(
    (await attemptOutcomes(ctx, attempt)).filter((o) => o.status !== 'sending').map((o) => o.channel),
  );
  return attempt.channels.filter((c) => !settled.has(c));
}

/** The skip reason of a reminder its sender held back because the session was paused at send time. */
export const PAUSED_AT_SEND = 'paused';

/**
 * Whether an attempt reached nobody because its session was paused when its messages were about to go: at
 * least one channel `skipped: paused`, none sent (or further), none still on its way. Such an attempt does not
 * count: a resume gives it back.
 */
export async function attemptHeldByPause(ctx: AppContext, attempt: LatestAttempt): Promise<boolean> {
  const outcomes = await attemptOutcomes(ctx, attempt);
  const final = new Set(outcomes.filter((o) => o.status !== 'sending').map((o) => o.channel));
  if (attempt.channels.some((c) => !final.has(c))) return false;
  const held = outcomes.some((o) => o.status === 'skipped' && o.reason === PAUSED_AT_SEND);
  const reached = outcomes.some((o) => o.status !== 'skipped' && o.status !== 'failed');
  return held && !reached;
}

/**
 * An operator's forced replay of a notification refused a third possible send: back to `sending` without
 * a lease and with its tries counted from zero, audited. False when it is not in that state (nothing done).
 */
export async function forceOutcomeWindow(
  ctx: AppContext,
  key: OutcomeKey,
  audit: { readonly by: string; readonly at: Date },
): Promise<boolean> {
  try {
    await ctx.ddb.send(
      new UpdateCommand({
        TableName: ctx.tables.timeline,
        Key: key,
        UpdateExpression:
          'SET #status = :sending, #at = :now, updatedAt = :now, forcedBy = :by, forcedAt = :now, tries = :zero, unanswered = :zero, lastError = #error REMOVE #error, sendingUntil, sendingOwner, claimedBy, releasedBy, unansweredBy',
        ConditionExpression: '#status = :failed AND begins_with(#error, :window)',
        ExpressionAttributeNames: { '#status': 'status', '#at': 'at', '#error': 'error' },
        ExpressionAttributeValues: {
          ':sending': 'sending',
          ':failed': 'failed',
          ':window': WINDOW_EXCEEDED,
          ':now': audit.at.toISOString(),
          ':by': audit.by,
          ':zero': 0,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}
