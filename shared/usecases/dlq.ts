// Filtered replay of a channel's dead letters. SQS's native redrive (StartMessageMoveTask) moves
// everything and is missing from the emulator, so this moves messages itself: receive from the DLQ, keep
// every received message invisible until the scan ends (so each is looked at once), send the matching ones
// to the channel queue and delete them from the DLQ, then make the rest visible again where they were.
// Dry run by default; one call is bounded in messages, in messages looked at, in time and in rate, and says
// why it stopped and whether messages may be left unseen (`more`); a real replay continues with further
// calls (what it moved is gone from the DLQ). A message counts as replayed once it is deleted from the DLQ; one
// sent but not deleted is reported (`notDeleted`) and stays in the DLQ, where a later replay sends it again:
// senders are idempotent per (attemptId, channel), so it is still delivered once.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import type { AppContext } from '../context.ts';
import { DomainError } from '../domain/errors.ts';
import type { Channel } from '../infra/resources.ts';
import { ChannelMessageSchema } from '../messages.ts';
import { logger } from '../observability/logger.ts';
import {
  forceOutcomeWindow,
  getOutcome,
  type OutcomeKey,
  outcomeKey,
  WINDOW_EXCEEDED,
} from '../repositories/outcomes.ts';
import { type Infer, integer, safeParse } from '../schema.ts';

export interface ReplayOptions {
  readonly dryRun: boolean;
  /** Matching messages to move (or, dry, to report) at most. */
  readonly limit: number;
  readonly sessionId?: string;
  readonly attemptId?: string;
  /** Case-insensitive text in the recorded error of the delivery (its outcome item: error, lastError, reason). */
  readonly errorContains?: string;
  /** Messages sent back per second at most, so a replay cannot flood a provider. @default 50 */
  readonly ratePerSecond?: number;
  /** Wall-clock budget; the scan stops when it is spent. @default 15 000 ms (the API function has 25 s) */
  readonly budgetMs?: number;
  readonly triggeredBy?: string;
  /**
   * Also replay notifications refused a third possible send (`provider_window_exceeded`): each may already
   * have reached the person twice. Their outcome is reopened, audited with `triggeredBy`.
   */
  readonly force?: boolean;
  /** Totals of the earlier calls of the same replay (its continuation). */
  readonly before?: ReplayTotals;
}

/** Counts of a replay so far: what a continuation carries. */
export const ReplayTotals = v.strictObject({
  matched: integer(0, 1e9),
  replayed: integer(0, 1e9),
  scanned: integer(0, 1e9),
  // Optional: a cursor handed out before it was counted still continues.
  notDeleted: v.optional(integer(0, 1e9)),
});
export type ReplayTotals = Infer<typeof ReplayTotals>;

/**
 * Why a call stopped: `drained` (no visible message left to look at: every message was seen), `limit`
 * (enough matches), `scan-cap` (looked at its most messages) or `time-budget`.
 */
export type ReplayStop = 'drained' | 'limit' | 'scan-cap' | 'time-budget';

/** A message sent to the channel queue whose delete from the DLQ failed: it is in both. */
export interface NotDeletedMessage {
  messageId: string;
  sessionId: string | null;
  attemptId: string | null;
  /** What SQS answered for it (`Code: Message`), or why the delete call failed. */
  error: string;
}

export interface ReplayResult {
  dryRun: boolean;
  matched: number;
  /** Messages sent to the channel queue and deleted from the DLQ. */
  replayed: number;
  /**
   * Messages sent to the channel queue whose delete from the DLQ failed: still dead-lettered (hidden for a
   * couple of minutes, then visible again), so a later replay sends them again; the senders are idempotent per
   * attempt and channel, so the person gets each once. Not counted in `replayed`.
   */
  notDeleted: number;
  /** Those messages (at most 100 listed). */
  notDeletedMessages: NotDeletedMessage[];
  scanned: number;
  stoppedBy: ReplayStop;
  /** Messages may be left that this call did not look at (it stopped before the DLQ ran out). */
  more: boolean;
  /** `matched` counts only what this call looked at: true when `more`. */
  matchedIsLowerBound: boolean;
  /** Messages in the DLQ after the call (visible and in flight, SQS's approximate counts); null unread. */
  remaining: number | null;
  /**
   * Whether another call continues this replay: a real replay that moved messages (they are gone from the
   * DLQ, so the next call looks further). A dry run moves nothing, and a call that moved nothing would look
   * at the same messages again: neither continues.
   */
  continues: boolean;
  /** This call and the calls it continues. */
  total: ReplayTotals;
  /** Matching messages left in the DLQ because they need `force` (their provider window is used up). */
  needsForce: number;
  messages: Array<{ messageId: string; sessionId: string | null; attemptId: string | null }>;
}

/** Every DLQ message received in one replay stays hidden this long, longer than any budget. */
const HOLD_SECONDS = 120;

interface Received {
  readonly message: Message & { MessageId: string; ReceiptHandle: string; Body: string };
  readonly sessionId: string | null;
  readonly attemptId: string | null;
}

function fieldOf(body: unknown, key: string): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : null;
}

function parseBody(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** The recorded errors of an attempt's outcomes on a channel, read through the byAttempt index (cached). */
function outcomeErrors(ctx: AppContext, channel: Channel) {
  const cache = new Map<string, Promise<string>>();
  return (attemptId: string): Promise<string> => {
    let hit = cache.get(attemptId);
    if (!hit) {
      hit = ctx.ddb
        .send(
          new QueryCommand({
            TableName: ctx.tables.timeline,
            IndexName: 'byAttempt',
            KeyConditionExpression: 'attemptId = :id',
            ExpressionAttributeValues: { ':id': attemptId },
          }),
        )
        .then((res) =>
          (res.Items ?? [])
            .filter((i) => i.type === 'notification' && i.channel === channel)
            .map((i) => [i.error, i.lastError, i.reason].filter((t) => typeof t === 'string').join(' '))
            .join('\n')
            .toLowerCase(),
        );
      cache.set(attemptId, hit);
    }
    return hit;
  };
}

/** The outcome key of a recovery notification on the DLQ (other messages have no provider window). */
function windowExceededKey(body: string): OutcomeKey | undefined {
  const parsed = safeParse(ChannelMessageSchema, parseBody(body));
  return parsed.success && parsed.data.type === 'recovery' ? outcomeKey(parsed.data) : undefined;
}

async function windowExceeded(ctx: AppContext, key: OutcomeKey): Promise<boolean> {
  const outcome = await getOutcome(ctx, key).catch(() => undefined);
  return outcome?.status === 'failed' && (outcome.error ?? '').startsWith(WINDOW_EXCEEDED);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** String and binary attributes survive the move; SQS refuses other data types on send. */
function attributesOf(m: Message): Record<string, MessageAttributeValue> | undefined {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined)
      out[name] = { DataType: value.DataType, StringValue: value.StringValue };
    else if (value.BinaryValue !== undefined)
      out[name] = { DataType: value.DataType, BinaryValue: value.BinaryValue };
  }
  return Object.keys(out).length ? out : undefined;
}

export async function replayDlq(
  ctx: AppContext,
  channel: Channel,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const urls = ctx.queues[channel];
  if (!urls?.url || !urls.dlqUrl)
    throw new DomainError('conflict', `channel ${channel} has no queue and DLQ configured`);
  const started = Date.now();
  const budgetMs = options.budgetMs ?? 15_000;
  const rate = Math.max(1, options.ratePerSecond ?? 50);
  const maxScanned = Math.min(10_000, Math.max(options.limit * 10, 1000));
  const errorsOf = outcomeErrors(ctx, channel);
  const needle = options.errorContains?.toLowerCase();

  const held: Received[] = [];
  const seen = new Set<string>();
  const matched: Received[] = [];
  let replayed = 0;
  const notDeleted: Array<{ r: Received; error: string }> = [];
  let sentInWindow = 0;

  let needsForce = 0;
  const matches = async (r: Received): Promise<boolean> => {
    if (options.sessionId && r.sessionId !== options.sessionId) return false;
    if (options.attemptId && r.attemptId !== options.attemptId) return false;
    if (needle) {
      if (!r.attemptId) return false;
      if (!(await errorsOf(r.attemptId)).includes(needle)) return false;
    }
    // A notification refused a third possible send moves only when forced, and then reopens first.
    const key = windowExceededKey(r.message.Body);
    if (key && (await windowExceeded(ctx, key))) {
      if (!options.force) {
        needsForce++;
        return false;
      }
      if (!options.dryRun) {
        await forceOutcomeWindow(ctx, key, { by: options.triggeredBy ?? 'operator', at: ctx.clock() });
      }
    }
    return true;
  };

  const move = async (batch: Received[]): Promise<void> => {
    // Pace sends: at most `rate` messages per elapsed second since the start.
    const due = ((sentInWindow + batch.length) / rate) * 1000 - (Date.now() - started);
    if (due > 0) await sleep(due);
    const sent = await ctx.sqs
      .send(
        new SendMessageBatchCommand({
          QueueUrl: urls.url,
          Entries: batch.map((r, i) => ({
            Id: String(i),
            MessageBody: r.message.Body,
            MessageAttributes: attributesOf(r.message),
          })),
        }),
      )
      .catch((error: unknown) => {
        held.push(...batch);
        throw error;
      });
    sentInWindow += batch.length;
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const moved = batch.filter((_, i) => ok.has(String(i)));
    if (moved.length) {
      // Replayed means deleted: a message whose delete failed is on the channel queue and still in the DLQ.
      // It stays hidden (not released below), so this replay's later calls do not send it a second time.
      const failed = new Map<string, string>();
      try {
        const res = await ctx.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: urls.dlqUrl,
            Entries: moved.map((r, i) => ({ Id: String(i), ReceiptHandle: r.message.ReceiptHandle })),
          }),
        );
        const deleted = new Set((res.Successful ?? []).map((d) => d.Id));
        for (const f of res.Failed ?? []) failed.set(String(f.Id), `${f.Code}: ${f.Message ?? ''}`.trim());
        moved.forEach((_, i) => {
          if (!deleted.has(String(i)) && !failed.has(String(i))) failed.set(String(i), 'no answer for it');
        });
      } catch (error) {
        const reason = `the delete call failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
        for (let i = 0; i < moved.length; i++) failed.set(String(i), reason);
      }
      moved.forEach((r, i) => {
        const error = failed.get(String(i));
        if (error === undefined) replayed++;
        else notDeleted.push({ r, error });
      });
      if (failed.size) {
        logger.warn('dlq replay: sent to the channel queue but not deleted from the DLQ', {
          channel,
          count: failed.size,
          messageIds: notDeleted.slice(-failed.size).map((n) => n.r.message.MessageId),
        });
      }
    }
    // What could not be sent stays in the DLQ: released with the rest at the end.
    for (const r of batch) if (!ok.has(String(batch.indexOf(r)))) held.push(r);
  };

  let stoppedBy: ReplayStop = 'limit';
  try {
    for (;;) {
      if (matched.length >= options.limit) break;
      if (seen.size >= maxScanned) {
        stoppedBy = 'scan-cap';
        break;
      }
      if (Date.now() - started >= budgetMs) {
        stoppedBy = 'time-budget';
        break;
      }
      const res = await ctx.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: urls.dlqUrl,
          MaxNumberOfMessages: 10,
          // Long polling asks every SQS server, so an empty answer means the DLQ has nothing left visible.
          WaitTimeSeconds: 1,
          VisibilityTimeout: HOLD_SECONDS,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = (res.Messages ?? []).filter(
        (m): m is Received['message'] => !!m.MessageId && !!m.ReceiptHandle && m.Body !== undefined,
      );
      if (messages.length === 0) {
        stoppedBy = 'drained';
        break;
      }
      const toMove: Received[] = [];
      for (const message of messages) {
        const body = parseBody(message.Body);
        const r: Received = {
          message,
          sessionId: fieldOf(body, 'sessionId'),
          attemptId: fieldOf(body, 'attemptId'),
        };
        if (seen.has(message.MessageId)) {
          held.push(r);
          continue;
        }
        seen.add(message.MessageId);
        if (matched.length < options.limit && (await matches(r))) {
          matched.push(r);
          if (options.dryRun) held.push(r);
          else toMove.push(r);
        } else held.push(r);
      }
      if (toMove.length) await move(toMove);
    }
  } finally {
    // Everything not moved goes back to being visible at once, in the DLQ, as before the replay.
    for (let i = 0; i < held.length; i += 10) {
      const chunk = held.slice(i, i + 10);
      await ctx.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: urls.dlqUrl,
            Entries: chunk.map((r, j) => ({
              Id: String(j),
              ReceiptHandle: r.message.ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch((error: unknown) => {
          // They become visible again on their own after HOLD_SECONDS.
          logger.warn('could not release DLQ messages after a replay', { channel, error: String(error) });
        });
    }
  }
  const more = stoppedBy !== 'drained';
  const remaining = await ctx.sqs
    .send(
      new GetQueueAttributesCommand({
        QueueUrl: urls.dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    )
    .then(
      (res) =>
        Number(res.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    )
    .catch(() => null);
  const before = options.before ?? { matched: 0, replayed: 0, scanned: 0 };
  logger.info('dlq replay', {
    channel,
    dryRun: options.dryRun,
    matched: matched.length,
    replayed,
    notDeleted: notDeleted.length,
    scanned: seen.size,
    stoppedBy,
    remaining,
    triggeredBy: options.triggeredBy,
  });
  return {
    dryRun: options.dryRun,
    matched: matched.length,
    replayed,
    notDeleted: notDeleted.length,
    notDeletedMessages: notDeleted.slice(0, 100).map(({ r, error }) => ({
      messageId: r.message.MessageId,
      sessionId: r.sessionId,
      attemptId: r.attemptId,
      error,
    })),
    scanned: seen.size,
    stoppedBy,
    more,
    matchedIsLowerBound: more,
    remaining,
    continues: more && !options.dryRun && replayed > 0,
    total: {
      matched: before.matched + matched.length,
      replayed: before.replayed + replayed,
      scanned: before.scanned + seen.size,
      notDeleted: (before.notDeleted ?? 0) + notDeleted.length,
    },
    needsForce,
    messages: matched.slice(0, 100).map((r) => ({
      messageId: r.message.MessageId,
      sessionId: r.sessionId,
      attemptId: r.attemptId,
    })),
  };
}
